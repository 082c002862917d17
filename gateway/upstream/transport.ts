/**
 * The upstream transport: how the gateway speaks gRPC to a backend, with messages as
 * encoded bytes. Everything above this interface (transcoding, resilience, tracing) is
 * independent of the implementation, so the hot-path client is chosen by measurement:
 * `h2` (a lean client with its own HTTP/2 session) or `grpc-js` (@grpc/grpc-js, the fallback).
 */

/** gRPC metadata: lower-case names; names ending in `-bin` carry bytes, others ASCII strings. */
export type Metadata = Array<[name: string, value: string | Uint8Array]>;

/** The final status of a call, as the server (or the transport) reported it. */
export interface CallStatus {
  /** gRPC status code (0 = OK). */
  code: number;
  /** grpc-message, percent-decoded. */
  message: string;
  /** Raw `grpc-status-details-bin`: a serialized google.rpc.Status, when the server sent one. */
  details?: Uint8Array;
  /** Trailing metadata, without the reserved grpc-* trailers. */
  trailers: Metadata;
  /**
   * True when the client made this status itself (connection refused or dropped, deadline,
   * a non-gRPC HTTP answer), not the server: its message may name internal addresses.
   */
  local?: boolean;
}

/**
 * What a call listens to for cancellation. An AbortSignal fits; so does Cancellation, which
 * the gateway uses per request because an AbortController (an EventTarget) costs ~4% of a
 * request's CPU on the hot path.
 */
/** A listener for cancellation: a function, or an object with handleEvent (as for an EventTarget). */
export type AbortListener = { handleEvent(): void } | (() => void);

export interface CancelSignal {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: AbortListener, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: AbortListener): void;
}

/** A cancellation source with room for one listener: one upstream call per HTTP request. */
export class Cancellation implements CancelSignal {
  aborted = false;
  private listener: AbortListener | undefined = undefined;

  addEventListener(_type: 'abort', listener: AbortListener): void {
    this.listener = listener;
  }

  removeEventListener(_type: 'abort', listener: AbortListener): void {
    if (this.listener === listener) this.listener = undefined;
  }

  /** Cancels: the listener (if any) runs once. */
  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    const listener = this.listener;
    this.listener = undefined;
    if (typeof listener === 'function') listener();
    else listener?.handleEvent();
  }
}

/** Per-call options. */
export interface CallOptions {
  /** Absolute deadline as a Date.now() value; the call fails with DEADLINE_EXCEEDED after it. */
  deadline?: number;
  /** Request metadata, already filtered by the caller. */
  metadata: Metadata;
  /** Aborting cancels the call (RST_STREAM CANCEL); the call then fails with CANCELLED. */
  signal?: CancelSignal;
}

/** A successful unary (or client-streaming) result. */
export interface UnaryResult {
  message: Uint8Array;
  /** Response headers, without the reserved ones (content-type, grpc-*, :status...). */
  headers: Metadata;
  trailers: Metadata;
}

/** Thrown (rejected) when a call ends with a non-OK status. */
export class CallError extends Error {
  constructor(
    readonly status: CallStatus,
    readonly headers: Metadata = [],
  ) {
    super(status.message);
    this.name = 'CallError';
  }
}

/**
 * Receives a response stream's events, in order: headers, messages, then exactly one end.
 * onHeaders is called only when the server sent response headers: a trailers-only
 * response (the usual immediate failure) goes straight to onEnd.
 */
export interface StreamSink {
  onHeaders(headers: Metadata): void;
  /**
   * One response message. Returning `false` says the consumer is full: the transport pauses
   * (as `ResponseFlow.pause()`) until `resume()`. Anything else (true, undefined) goes on.
   */
  onMessage(message: Uint8Array): boolean | void;
  /** Always called once; status.code 0 is a clean end. */
  onEnd(status: CallStatus): void;
}

/**
 * Flow control of a call's responses (server and bidi streams). While paused the transport
 * delivers no message and returns no HTTP/2 window to the server, so a server that has used
 * its window stops sending: what the gateway holds per stream is bounded by its receive
 * window (messages already received are kept and delivered on resume). Both are idempotent.
 */
export interface ResponseFlow {
  pause(): void;
  resume(): void;
}

/**
 * The writable half of a client- or bidi-streaming call. write() always takes the message;
 * `false` means the upstream's flow-control window and the transport's buffer are full, and
 * the writer should wait for the onDrain listener before writing more.
 */
export interface RequestStream {
  write(message: Uint8Array): boolean;
  /** Half-closes the request stream. */
  end(): void;
  /** Sets the listener called each time the buffer empties after a write() returned false. */
  onDrain(listener: () => void): void;
}

/** A client-streaming call. */
export interface ClientStreamCall extends RequestStream {
  /** Settles when the server answers; rejects with CallError on a non-OK status. */
  readonly result: Promise<UnaryResult>;
}

/** A bidi-streaming call: requests through write()/end(), responses (and the end) to the sink. */
export interface DuplexCall extends RequestStream, ResponseFlow {}

/** One connection pool to one upstream target. `path` is `/package.Service/Method`. */
export interface Transport {
  unary(path: string, request: Uint8Array, options: CallOptions): Promise<UnaryResult>;
  /** Starts a server stream; its events go to `sink` (never synchronously from this call). */
  serverStream(path: string, request: Uint8Array, options: CallOptions, sink: StreamSink): ResponseFlow;
  clientStream(path: string, options: CallOptions): ClientStreamCall;
  /** Starts a bidi stream; its events go to `sink` (never synchronously from this call). */
  duplex(path: string, options: CallOptions, sink: StreamSink): DuplexCall;
  /**
   * Ends any reconnect backoff: the next call tries to connect at once. Called when a
   * circuit breaker half-opens, so its trial call reaches a service that came back.
   */
  reconnect(): void;
  /** Closes connections; calls in flight are cancelled. */
  close(): Promise<void>;
}

/** Builds a transport for `target` (`host:port`, `dns:host:port` or `ipv4:a:p,b:p`). */
export type TransportFactory = (target: string) => Transport;
