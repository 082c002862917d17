/**
 * The innermost handler of a route's pipeline: the call to the upstream through its
 * transport, chosen per route at start-up by the RPC's kind.
 */
import { encodeMessages, encodeRequest, type Call, type Handler, type ResponseSink, type Result, type StreamEnd } from '../pipeline';
import type { Route } from '../transcode';
import type { CallStatus, Metadata, RequestStream, StreamSink, UnaryResult } from './transport';
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
            const sink = call.sink!;
            sink.onFlow(transport.serverStream(path, encodeRequest(call), call, new EndingSink(sink, resolve, noReject)));
          });
      case 'client_streaming':
        return (call) =>
          new Promise<UnaryResult>((resolve, reject) => {
            const stream = transport.clientStream(path, call);
            const pump = new Pump(encodeMessages(call), stream, call);
            stream.result.then(
              (result) => {
                pump.stop();
                resolve(result);
              },
              (err: unknown) => {
                pump.stop();
                reject(pump.failure?.err ?? err);
              },
            );
            pump.run().catch(() => {
              // A bad message (400) or a body cut short: the call fails with that, upstream cancelled.
              call.signal.abort();
            });
          });
      default:
        return (call) =>
          new Promise<Result>((resolve, reject) => {
            let pump: Pump | undefined = undefined;
            const sink = new EndingSink(call.sink!, resolve, reject, () => pump!);
            const duplex = transport.duplex(path, call, sink);
            call.sink!.onFlow(duplex);
            pump = new Pump(encodeMessages(call), duplex, call);
            pump.run().catch(() => call.signal.abort());
          });
    }
  };
}

/**
 * Writes the request messages as they come, as fast as the upstream's flow-control window
 * takes them (waiting for drain when write() says full), then half-closes. stop() (the call
 * has ended) ends it early and stops the input. run() rejects when the messages fail (a bad
 * line, a body cut short); `failure` keeps why, for the call's answer.
 */
class Pump {
  failure: { err: unknown } | null = null;
  private stopped = false;
  private wake: (() => void) | null = null;

  constructor(
    private readonly messages: AsyncIterable<Uint8Array>,
    private readonly stream: RequestStream,
    private readonly call: Call,
  ) {
    stream.onDrain(() => this.resume());
  }

  async run(): Promise<void> {
    try {
      for await (const message of this.messages) {
        if (this.stopped) return;
        if (!this.stream.write(message)) {
          await new Promise<void>((resolve) => {
            this.wake = resolve;
          });
          if (this.stopped) return;
        }
      }
    } catch (err) {
      this.failure = { err };
      throw err;
    }
    if (!this.stopped) this.stream.end();
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.resume();
    this.call.input?.cancel();
  }

  private resume(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}

const noReject = (): void => {};

/** Passes a stream's events on, and settles the call's promise at its end. */
class EndingSink implements StreamSink {
  private headersReceived = false;

  constructor(
    private readonly sink: ResponseSink,
    private readonly resolve: (end: StreamEnd) => void,
    private readonly reject: (err: unknown) => void,
    /** The bidi call's request pump, stopped at the end; the client stream's is stopped by its promise. */
    private readonly pump?: () => Pump,
  ) {}

  onHeaders(headers: Metadata): void {
    this.headersReceived = true;
    this.sink.onHeaders(headers);
  }

  onMessage(message: Uint8Array): boolean | void {
    // The request side failed and the call is being cancelled: nothing more goes out.
    if (this.pump?.().failure) return;
    return this.sink.onMessage(message);
  }

  onEnd(status: CallStatus): void {
    const pump = this.pump?.();
    if (pump !== undefined) {
      pump.stop();
      // The request side failed (a bad line): the call answers that, not the CANCELLED it caused.
      if (pump.failure !== null) return this.reject(pump.failure.err);
    }
    this.sink.onEnd(status);
    this.resolve({ status, headersReceived: this.headersReceived });
  }
}
