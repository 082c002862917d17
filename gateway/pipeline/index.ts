/** The call pipeline between the HTTP adapter and the transport: call type and composition. */
export type { Call, CallKind, Handler, Interceptor, InterceptorFactory, ResponseSink, Result, StreamEnd } from './call';
export { MessageSource } from './message-source';
export { compose, compileRouteHandlers } from './compose';
export { encodeRequest, encodeMessages, mapMessages } from './encode-request';
export { freeNow } from './free-now';
