/** The call pipeline between the HTTP adapter and the transport: call type and composition. */
export type { Call, CallKind, Handler, Interceptor, InterceptorFactory, Result, StreamEnd } from './call';
export { compose, compileRouteHandlers } from './compose';
export { encodeRequest, encodeMessages } from './encode-request';
