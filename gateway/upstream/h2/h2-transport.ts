/**
 * The lean Transport: gRPC over our own HTTP/2 client session (h2-session.ts), a fraction
 * of the CPU per call of @grpc/grpc-js, with the same observable behaviour (see
 * transport-conformance.test.ts).
 * Wire protocol: https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md
 */
import { CLIENT_STREAM, DUPLEX, H2Call, SERVER_STREAM, UNARY, type CallContext, type Kind } from './h2-call';
import { encodeFrame } from './h2-framing';
import { addMetadata } from './h2-metadata';
import { DEFAULT_OPTIONS, type H2TransportOptions } from './h2-options';
import { Pool } from './h2-pool';
import { IndexedField } from './hpack-encoder';
import type { RequestHeaders } from './h2-stream';
import { Code, localStatus } from './h2-status';
import { parseTarget } from './h2-target';
import type { CallOptions, ClientStreamCall, DuplexCall, RequestStream, ResponseFlow, StreamSink, Transport, UnaryResult } from '../transport';

export type { H2TransportOptions } from './h2-options';

/** Fixed request headers kept per method path (bounded: paths come from the routes). */
const MAX_CACHED_PATHS = 1024;

/** A Transport over HTTP/2 sessions to one target. */
export class H2Transport implements Transport, CallContext {
  readonly pool: Pool;
  readonly active = new Set<H2Call>();
  readonly maxReceiveMessageLength: number;
  private readonly options: H2TransportOptions;
  private readonly authority: string;
  private readonly fixedHeaders = new Map<string, RequestHeaders>();

  /** Throws on a malformed target. */
  constructor(target: string, options: Partial<H2TransportOptions> = {}) {
    this.options = { ...DEFAULT_OPTIONS, ...options };
    const parsed = parseTarget(target);
    this.authority = parsed.authority;
    this.maxReceiveMessageLength = this.options.maxReceiveMessageLength;
    this.pool = new Pool(parsed, this.options);
  }

  unary(path: string, request: Uint8Array, options: CallOptions): Promise<UnaryResult> {
    return new Promise((resolve, reject) => {
      const call = this.newCall(UNARY, path, options, encodeFrame(request));
      call.resolve = resolve;
      call.reject = reject;
      call.begin();
    });
  }

  serverStream(path: string, request: Uint8Array, options: CallOptions, sink: StreamSink): ResponseFlow {
    const call = this.newCall(SERVER_STREAM, path, options, encodeFrame(request));
    call.sink = sink;
    call.begin();
    return call;
  }

  clientStream(path: string, options: CallOptions): ClientStreamCall {
    let call!: H2Call;
    const result = new Promise<UnaryResult>((resolve, reject) => {
      call = this.newCall(CLIENT_STREAM, path, options, null);
      call.resolve = resolve;
      call.reject = reject;
    });
    call.begin();
    return { ...requestStream(call), result };
  }

  duplex(path: string, options: CallOptions, sink: StreamSink): DuplexCall {
    const call = this.newCall(DUPLEX, path, options, null);
    call.sink = sink;
    call.begin();
    return { ...requestStream(call), pause: () => call.pause(), resume: () => call.resume() };
  }

  reconnect(): void {
    this.pool.resetBackoff();
  }

  /**
   * Cancels calls in flight (CANCELLED), paused ones whose server has ended included (their
   * held messages are dropped), then closes every connection.
   */
  async close(): Promise<void> {
    const status = localStatus(Code.CANCELLED, 'Transport closed');
    for (const call of [...this.active]) call.abandon(status);
    await this.pool.close();
  }

  private newCall(kind: Kind, path: string, options: CallOptions, body: Buffer | null): H2Call {
    return new H2Call(this, kind, this.headerBlock(path, options), options.deadline, options.signal, body);
  }

  /**
   * The request's headers: the method's fixed fields and the call's metadata, which each
   * connection encodes with its HPACK table (grpc-timeout is added when the stream starts).
   * A string is why the metadata is invalid.
   */
  private headerBlock(path: string, options: CallOptions): RequestHeaders | string {
    let fixed = this.fixedHeaders.get(path);
    if (fixed === undefined) {
      fixed = {
        fields: [
          new IndexedField(':method', 'POST'),
          new IndexedField(':scheme', 'http'),
          new IndexedField(':path', path),
          new IndexedField(':authority', this.authority),
          new IndexedField('content-type', 'application/grpc'),
          new IndexedField('te', 'trailers'),
          new IndexedField('user-agent', this.options.userAgent),
        ],
        metadata: null,
      };
      if (this.fixedHeaders.size < MAX_CACHED_PATHS) this.fixedHeaders.set(path, fixed);
    }
    if (options.metadata.length === 0) return fixed;
    const metadata: string[] = [];
    return addMetadata({ add: (name, value) => metadata.push(name, value) }, options.metadata) ?? { fields: fixed.fields, metadata };
  }
}

/** The writable half of a client or bidi stream's call. */
function requestStream(call: H2Call): RequestStream {
  return {
    write: (message) => call.write(encodeFrame(message)),
    end: () => call.end(),
    onDrain: (listener) => {
      call.drainListener = listener;
    },
  };
}

/** Builds the lean HTTP/2 transport for `target` (see h2-target.ts for the forms accepted). */
export function createH2Transport(target: string, options?: Partial<H2TransportOptions>): H2Transport {
  return new H2Transport(target, options);
}
