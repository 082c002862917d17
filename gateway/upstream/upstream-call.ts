/**
 * The innermost handler of a route's pipeline: the call to the upstream through its
 * transport, chosen per route at start-up by the RPC's kind.
 */
import { encodeMessages, encodeRequest, type Handler, type Result, type StreamEnd } from '../pipeline';
import type { Route } from '../transcode';
import type { CallStatus, ClientStreamCall, Metadata, StreamSink, UnaryResult } from './transport';
import type { UpstreamPool } from './upstream-pool';

/** Makes the upstream-calling handler of each route. */
export function upstreamHandlers(upstreams: UpstreamPool): (route: Route) => Handler {
  return (route) => {
    const transport = upstreams.get(route.rpc.service);
    const path = route.rpc.grpcPath;
    switch (route.rpc.kind) {
      case 'unary':
        return (call) => transport.unary(path, encodeRequest(call), call);
      case 'server_streaming':
        return (call) =>
          new Promise<Result>((resolve) => {
            transport.serverStream(path, encodeRequest(call), call, new EndingSink(call.sink!, resolve));
          });
      default:
        // Client streaming (bidi routes are refused 501 by the adapter before the pipeline).
        return (call) => {
          // Encoded first: a bad line must fail the call before a stream is opened.
          const messages = encodeMessages(call);
          return clientStream(transport.clientStream(path, call), messages);
        };
    }
  };
}

function clientStream(stream: ClientStreamCall, messages: readonly Uint8Array[]): Promise<UnaryResult> {
  for (const m of messages) stream.write(m);
  stream.end();
  return stream.result;
}

/** Passes a server stream's events on, and settles the call's promise at its end. */
class EndingSink implements StreamSink {
  private headersReceived = false;

  constructor(
    private readonly sink: StreamSink,
    private readonly resolve: (end: StreamEnd) => void,
  ) {}

  onHeaders(headers: Metadata): void {
    this.headersReceived = true;
    this.sink.onHeaders(headers);
  }

  onMessage(message: Uint8Array): void {
    this.sink.onMessage(message);
  }

  onEnd(status: CallStatus): void {
    this.sink.onEnd(status);
    this.resolve({ status, headersReceived: this.headersReceived });
  }
}
