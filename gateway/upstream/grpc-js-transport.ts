/**
 * Transport over @grpc/grpc-js: the fallback implementation. Messages stay as bytes
 * (identity serializers), so it plugs under the same codecs as the lean client.
 */
import * as grpc from '@grpc/grpc-js';
import {
  CallError,
  type CallOptions,
  type CancelSignal,
  type CallStatus,
  type ClientStreamCall,
  type DuplexCall,
  type Metadata,
  type ResponseFlow,
  type StreamSink,
  type Transport,
  type UnaryResult,
} from './transport';

const identity = (b: Buffer | Uint8Array): Buffer => (Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength));

// `date` is HTTP/2 transport noise from Node servers, not application metadata.
const RESERVED = new Set([
  'date',
  'grpc-status',
  'grpc-message',
  'grpc-status-details-bin',
  'content-type',
  'grpc-encoding',
  'grpc-accept-encoding',
  'user-agent',
  'te',
]);

function toGrpcMetadata(entries: Metadata): grpc.Metadata {
  const md = new grpc.Metadata();
  for (const [name, value] of entries) {
    md.add(name, typeof value === 'string' ? value : identity(value));
  }
  return md;
}

function fromGrpcMetadata(md: grpc.Metadata | undefined): Metadata {
  const out: Metadata = [];
  if (!md) return out;
  for (const [name, values] of Object.entries(md.toJSON()) as [string, (string | Buffer)[]][]) {
    if (RESERVED.has(name)) continue;
    for (const v of values) out.push([name, v]);
  }
  return out;
}

/**
 * grpc-js does not say which statuses its client made; these are its words for them
 * (channel, subchannel and deadline failures), which name addresses.
 */
const LOCAL_MESSAGE =
  /^(No connection established|Connection dropped|Deadline exceeded|Received RST_STREAM|Call cancelled|Failed to connect)|ECONN|EHOSTUNREACH|ETIMEDOUT|EPIPE/;

function toStatus(status: { code: number; details: string; metadata?: grpc.Metadata }): CallStatus {
  const raw = status.metadata?.get('grpc-status-details-bin')[0];
  const message = status.details ?? '';
  return {
    code: status.code,
    message,
    details: raw ? new Uint8Array(raw as Buffer) : undefined,
    trailers: fromGrpcMetadata(status.metadata),
    local: LOCAL_MESSAGE.test(message),
  };
}

function grpcOptions(options: CallOptions): grpc.CallOptions {
  return options.deadline === undefined ? {} : { deadline: options.deadline };
}

function bindSignal(call: grpc.Call, signal: CancelSignal | undefined): void {
  if (!signal) return;
  if (signal.aborted) call.cancel();
  else signal.addEventListener('abort', () => call.cancel(), { once: true });
}

/**
 * grpc-js calls the unary callback before it emits 'status' (which carries the trailers), so
 * the callback only records the outcome and the 'status' event settles the promise.
 */
function unaryOutcome(resolve: (r: UnaryResult) => void, reject: (e: CallError) => void) {
  let headers: Metadata = [];
  let response: Buffer | undefined;
  let error: grpc.ServiceError | undefined;
  const callback: grpc.requestCallback<Buffer> = (err, res) => {
    if (err) error = err;
    else response = res;
  };
  const watch = (call: grpc.ClientUnaryCall | grpc.ClientWritableStream<Uint8Array>): void => {
    call.on('metadata', (md) => {
      headers = fromGrpcMetadata(md);
    });
    call.on('status', (s: grpc.StatusObject) => {
      if (error || s.code !== 0 || !response) reject(new CallError(toStatus(error ?? s), headers));
      else resolve({ message: response, headers, trailers: fromGrpcMetadata(s.metadata) });
    });
  };
  return { callback, watch };
}

/**
 * Hands a streaming call's responses to `sink`, with flow control: a sink that answers
 * false pauses the call (grpc-js then stops reading its HTTP/2 stream, so node:http2 returns
 * no window) until resume(). grpc-js reports the status as soon as it arrives, possibly
 * before messages it still holds for a paused reader: the end waits for them ('end'),
 * unless the call is cancelled (the consumer has gone away).
 */
function deliverResponses(
  call: grpc.ClientReadableStream<Buffer> | grpc.ClientDuplexStream<Uint8Array, Buffer>,
  sink: StreamSink,
  signal: CancelSignal | undefined,
  open: Set<(status: CallStatus) => void>,
): ResponseFlow {
  let status: CallStatus | undefined;
  let readEnded = false;
  let delivered = false;
  const deliver = (): void => {
    if (delivered || status === undefined) return;
    delivered = true;
    open.delete(abandon);
    signal?.removeEventListener('abort', onAbort);
    sink.onEnd(status);
  };
  // The transport closes: the call ends now with `closed`, messages held for a paused reader
  // dropped (so even a server's OK must not reach the sink: the stream is not complete).
  const abandon = (closed: CallStatus): void => {
    call.cancel();
    status = closed;
    deliver();
  };
  open.add(abandon);
  const onAbort = (): void => {
    call.cancel();
    // Ended already but messages held for a reader that is gone: end now.
    if (status !== undefined) deliver();
  };
  call.on('metadata', (md) => sink.onHeaders(fromGrpcMetadata(md)));
  call.on('data', (msg: Buffer) => {
    if (sink.onMessage(msg) === false) call.pause();
  });
  call.on('end', () => {
    readEnded = true;
    deliver();
  });
  call.on('error', () => {
    /* reported through 'status' */
  });
  call.on('status', (s) => {
    status = toStatus(s);
    if (readEnded || call.readableLength === 0) deliver();
  });
  if (signal?.aborted) call.cancel();
  else signal?.addEventListener('abort', onAbort, { once: true });
  return {
    pause: () => {
      call.pause();
    },
    resume: () => {
      call.resume();
    },
  };
}

/** A Transport backed by one @grpc/grpc-js channel. */
export class GrpcJsTransport implements Transport {
  private readonly client: grpc.Client;
  /** Server and bidi streams not yet ended, so close() can end them. */
  private readonly open = new Set<(status: CallStatus) => void>();

  constructor(target: string, channelOptions: grpc.ChannelOptions = {}) {
    this.client = new grpc.Client(target, grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
      'grpc.keepalive_time_ms': 30_000,
      // As the h2 transport: a returning service is reconnected within about a second.
      'grpc.initial_reconnect_backoff_ms': 250,
      'grpc.max_reconnect_backoff_ms': 1_000,
      // Every address of a multi-address target (ipv4:a,b or DNS) takes calls, as with h2.
      'grpc.service_config': JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }),
      ...channelOptions,
    });
  }

  unary(path: string, request: Uint8Array, options: CallOptions): Promise<UnaryResult> {
    return new Promise((resolve, reject) => {
      const outcome = unaryOutcome(resolve, reject);
      const call = this.client.makeUnaryRequest<Uint8Array, Buffer>(
        path,
        identity,
        identity,
        request,
        toGrpcMetadata(options.metadata),
        grpcOptions(options),
        outcome.callback,
      );
      outcome.watch(call);
      bindSignal(call, options.signal);
    });
  }

  serverStream(path: string, request: Uint8Array, options: CallOptions, sink: StreamSink): ResponseFlow {
    const call = this.client.makeServerStreamRequest<Uint8Array, Buffer>(
      path,
      identity,
      identity,
      request,
      toGrpcMetadata(options.metadata),
      grpcOptions(options),
    );
    return deliverResponses(call, sink, options.signal, this.open);
  }

  duplex(path: string, options: CallOptions, sink: StreamSink): DuplexCall {
    const call = this.client.makeBidiStreamRequest<Uint8Array, Buffer>(path, identity, identity, toGrpcMetadata(options.metadata), grpcOptions(options));
    const flow = deliverResponses(call, sink, options.signal, this.open);
    return {
      write: (message) => call.write(message),
      end: () => call.end(),
      onDrain: (listener) => {
        call.removeAllListeners('drain').on('drain', listener);
      },
      pause: flow.pause,
      resume: flow.resume,
    };
  }

  clientStream(path: string, options: CallOptions): ClientStreamCall {
    let call!: grpc.ClientWritableStream<Uint8Array>;
    const result = new Promise<UnaryResult>((resolve, reject) => {
      const outcome = unaryOutcome(resolve, reject);
      call = this.client.makeClientStreamRequest<Uint8Array, Buffer>(
        path,
        identity,
        identity,
        toGrpcMetadata(options.metadata),
        grpcOptions(options),
        outcome.callback,
      );
      outcome.watch(call);
    });
    bindSignal(call, options.signal);
    return {
      write: (message) => call.write(message),
      end: () => {
        call.end();
      },
      onDrain: (listener) => {
        call.removeAllListeners('drain').on('drain', listener);
      },
      result,
    };
  }

  reconnect(): void {
    // Leaves IDLE at once; a channel in TRANSIENT_FAILURE retries within its 1 s backoff cap.
    this.client.getChannel().getConnectivityState(true);
  }

  /** Ends open server and bidi streams (CANCELLED), then closes the channel. */
  async close(): Promise<void> {
    const closed: CallStatus = { code: grpc.status.CANCELLED, message: 'Transport closed', trailers: [], local: true };
    for (const abandon of [...this.open]) abandon(closed);
    this.client.close();
  }
}
