/**
 * One gRPC call on one HTTP/2 stream: sends the request, deframes the response and
 * settles on exactly one final status, the way grpc-js's Http2SubchannelCall does
 * (status from trailers first, then HTTP status, then the RST_STREAM code).
 */
import * as zlib from 'node:zlib';
import { FrameDecoder, type FrameReceiver } from './h2-framing';
import { encodeTimeout, fromRawHeaders } from './h2-metadata';
import type { Connection, Pool, Waiter } from './h2-pool';
import type { H2Stream, RequestHeaders, StreamHandler } from './h2-stream';
import { ErrorCode } from './h2-wire';
import { Code, callError, httpStatus, localStatus, resetStatus, trailerStatus } from './h2-status';
import type { CallStatus, CancelSignal, Metadata, ResponseFlow, StreamSink, UnaryResult } from '../transport';

/** What the calls of one transport share. */
export interface CallContext {
  readonly pool: Pool;
  readonly maxReceiveMessageLength: number;
  /** Calls started and not yet ended, so close() can cancel them. */
  readonly active: Set<H2Call>;
}

export const UNARY = 0;
export const SERVER_STREAM = 1;
export const CLIENT_STREAM = 2;
export const DUPLEX = 3;
export type Kind = typeof UNARY | typeof SERVER_STREAM | typeof CLIENT_STREAM | typeof DUPLEX;

/** Request bytes a streaming call queues before its stream opens, before write() says wait. */
const QUEUE_BEFORE_OPEN = 65_535;

/**
 * A call from begin() to its one final status. Abort signals reach it via handleEvent;
 * its stream's events arrive as direct calls from the session (StreamHandler).
 */
export class H2Call implements Waiter, FrameReceiver, StreamHandler, ResponseFlow {
  ended = false;
  resolve: ((result: UnaryResult) => void) | null = null;
  reject: ((error: Error) => void) | null = null;
  sink: StreamSink | null = null;
  private stream: H2Stream | null = null;
  private connection: Connection | null = null;
  private starting = false;
  private httpStatus = 0;
  private headers: Metadata | null = null;
  private encoding = '';
  private decoder: FrameDecoder | null = null;
  private message: Buffer | null = null;
  /** Status from trailers (or a trailers-only response), delivered when the stream closes. */
  private final: CallStatus | null = null;
  private timer: NodeJS.Timeout | undefined;
  /** Client-streaming writes made before a connection was ready. */
  private queued: Buffer[] | null = null;
  private queuedBytes = 0;
  private halfClosed = false;
  /** A write() returned false: the drain listener runs when the stream can take more. */
  private needDrain = false;
  drainListener: (() => void) | null = null;
  /** Response flow: paused by the sink (onMessage returned false) or by pause(). */
  private paused = false;
  /** Messages received while paused (at most one receive window), delivered on resume. */
  private held: Buffer[] | null = null;
  /** The final status, kept back until the held messages have been delivered. */
  private deferredEnd: CallStatus | null = null;

  constructor(
    private readonly context: CallContext,
    private readonly kind: Kind,
    /** The request headers, or a string when the metadata could not be encoded: why. */
    private readonly requestHeaders: RequestHeaders | string,
    private readonly deadline: number | undefined,
    private readonly signal: CancelSignal | undefined,
    /** The framed request, for unary and server-streaming calls. */
    private body: Buffer | null,
  ) {}

  /** Arms the deadline and the abort signal, then waits for a connection. */
  begin(): void {
    this.starting = true;
    const { deadline, signal } = this;
    if (typeof this.requestHeaders === 'string') {
      this.finish(localStatus(Code.INTERNAL, this.requestHeaders));
    } else if (signal?.aborted) {
      this.finish(localStatus(Code.CANCELLED, 'Cancelled on client'));
    } else if (deadline !== undefined && deadline - Date.now() <= 0) {
      this.finish(localStatus(Code.DEADLINE_EXCEEDED, 'Deadline exceeded'));
    } else {
      if (deadline !== undefined) this.timer = setTimeout(onDeadline, deadline - Date.now(), this);
      signal?.addEventListener('abort', this);
      this.context.active.add(this);
      this.context.pool.acquire(this);
    }
    this.starting = false;
  }

  /** Waiter: a connection has room for this call's stream. */
  start(connection: Connection): void {
    if (this.ended) return;
    const timeout = this.deadline === undefined ? null : encodeTimeout(this.deadline - Date.now());
    const streaming = this.kind === CLIENT_STREAM || this.kind === DUPLEX;
    this.connection = connection;
    try {
      this.stream = connection.request(this.requestHeaders as RequestHeaders, timeout, this, streaming ? null : this.body, !streaming);
    } catch (err) {
      this.connection = null;
      return this.finish(localStatus(Code.UNAVAILABLE, (err as Error).message));
    }
    this.body = null;
    if (!streaming) return;
    const { session } = connection;
    if (this.paused) session.setPaused(this.stream, true);
    if (this.queued !== null) for (const frame of this.queued) session.send(this.stream, frame, false);
    this.queued = null;
    this.queuedBytes = 0;
    if (this.halfClosed) session.send(this.stream, null, true);
    if (this.stream.pending === null) this.onWritable();
  }

  /** Waiter: no connection can be had. */
  fail(status: CallStatus): void {
    this.finish(status);
  }

  /**
   * Client and bidi streaming: sends one framed message. False when it had to wait for
   * flow-control window (or the stream is not open and enough is queued): the drain listener
   * then runs once all of it has gone out.
   */
  write(frame: Buffer): boolean {
    if (this.ended || this.halfClosed) return true;
    let room: boolean;
    if (this.stream !== null) {
      this.connection!.session.send(this.stream, frame, false);
      room = this.stream === null || this.stream.pending === null;
    } else {
      (this.queued ??= []).push(frame);
      this.queuedBytes += frame.length;
      room = this.queuedBytes < QUEUE_BEFORE_OPEN;
    }
    if (!room) this.needDrain = true;
    return room;
  }

  /** StreamHandler: the request DATA waiting for window has gone out. */
  onWritable(): void {
    if (!this.needDrain || this.ended) return;
    this.needDrain = false;
    this.drainListener?.();
  }

  /** ResponseFlow: stop delivering messages and giving window back. */
  pause(): void {
    if (this.paused) return;
    this.paused = true;
    if (this.stream !== null) this.connection!.session.setPaused(this.stream, true);
  }

  /** ResponseFlow: deliver what was held back, then take more (unless the sink is full again). */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    const held = this.held;
    while (held !== null && held.length > 0) {
      if (this.sink!.onMessage(held.shift()!) === false) {
        this.paused = true;
        return;
      }
    }
    this.held = null;
    if (this.deferredEnd !== null) {
      const status = this.deferredEnd;
      this.deferredEnd = null;
      this.context.active.delete(this);
      this.sink!.onEnd(status);
      return;
    }
    if (this.stream !== null) this.connection!.session.setPaused(this.stream, false);
  }

  /** Client streaming: half-closes. */
  end(): void {
    if (this.ended || this.halfClosed) return;
    this.halfClosed = true;
    if (this.stream !== null) this.connection!.session.send(this.stream, null, true);
  }

  /** AbortSignal listener. */
  handleEvent(): void {
    this.cancel(localStatus(Code.CANCELLED, 'Cancelled on client'));
  }

  /** Ends the call with a local status and resets the stream (RST_STREAM CANCEL). */
  cancel(status: CallStatus): void {
    if (this.deferredEnd !== null) {
      // Ended upstream, its last messages held for a consumer that went away: end it now.
      this.endHeld(this.deferredEnd);
      return;
    }
    this.held = null;
    this.finish(status);
    const { stream, connection } = this;
    if (stream !== null && connection !== null) connection.session.reset(stream, ErrorCode.CANCEL);
  }

  /**
   * The transport is closing: ends the call now with `status`. A call the server has ended
   * while its consumer was paused ends with `status` too, not the server's: the messages it
   * held are dropped, so its end must not read as a complete stream.
   */
  abandon(status: CallStatus): void {
    if (this.deferredEnd !== null) this.endHeld(status);
    else this.cancel(status);
  }

  /** Delivers `status` to a call ended upstream whose held messages are dropped. */
  private endHeld(status: CallStatus): void {
    this.deferredEnd = null;
    this.held = null;
    this.context.active.delete(this);
    this.signal?.removeEventListener('abort', this);
    this.sink!.onEnd(status);
  }

  onResponse(status: number, endStream: boolean, raw: string[]): void {
    this.httpStatus = status;
    if (endStream) {
      // Trailers-only: the status is in the HEADERS frame; there are no response headers.
      this.final = trailerStatus(raw, this.httpStatus);
      return;
    }
    if (this.ended) return;
    this.headers = fromRawHeaders(raw);
    for (let i = 0; i < raw.length; i += 2) if (raw[i] === 'grpc-encoding') this.encoding = raw[i + 1];
    if (this.sink !== null) this.sink.onHeaders(this.headers);
  }

  onData(chunk: Buffer): void {
    if (this.ended) return;
    const decoder = (this.decoder ??= new FrameDecoder(this.context.maxReceiveMessageLength));
    if (decoder.write(chunk, this)) return;
    // A non-gRPC error page reads as a huge frame: its HTTP status says more.
    this.cancel(
      this.httpStatus !== 200 && this.httpStatus !== 0
        ? httpStatus(this.httpStatus)
        : localStatus(Code.RESOURCE_EXHAUSTED, `Received message larger than max (${decoder.oversize} vs. ${this.context.maxReceiveMessageLength})`),
    );
  }

  /** FrameReceiver: one response message. */
  onFrame(frame: Buffer, compressed: boolean): void {
    if (this.ended) return;
    let message: Buffer | null = frame;
    if (compressed && (message = this.decompress(frame)) === null) return;
    if (this.sink !== null) {
      if (this.paused) (this.held ??= []).push(message);
      else if (this.sink.onMessage(message) === false) this.pause();
    } else if (this.message === null) this.message = message;
    else this.cancel(localStatus(Code.UNIMPLEMENTED, 'Too many responses received'));
  }

  onTrailers(raw: string[]): void {
    this.final = trailerStatus(raw, this.httpStatus);
  }

  onStreamClose(code: number, dropped: boolean): void {
    const connection = this.connection!;
    this.connection = null;
    this.stream = null;
    if (!this.ended) {
      let status = this.final;
      if (status === null) {
        status = resetStatus(code, this.httpStatus, dropped);
      } else if (status.code === Code.OK) {
        if (this.decoder?.partial) status = localStatus(Code.INTERNAL, 'Stream ended in the middle of a message');
        else if (this.sink === null && this.message === null) {
          status = localStatus(Code.UNIMPLEMENTED, 'No message received');
        }
      }
      this.finish(status);
    }
    connection.release();
  }

  private decompress(frame: Buffer): Buffer | null {
    const maxOutputLength = this.context.maxReceiveMessageLength;
    try {
      if (this.encoding === 'gzip') return zlib.gunzipSync(frame, { maxOutputLength });
      if (this.encoding === 'deflate') return zlib.inflateSync(frame, { maxOutputLength });
    } catch (err) {
      this.cancel(localStatus(Code.INTERNAL, `Failed to decompress message: ${(err as Error).message}`));
      return null;
    }
    this.cancel(
      localStatus(
        Code.INTERNAL,
        this.encoding === '' || this.encoding === 'identity'
          ? 'Received compressed message but "grpc-encoding" header was identity'
          : `Received message compressed with unsupported encoding "${this.encoding}"`,
      ),
    );
    return null;
  }

  private finish(status: CallStatus): void {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.timer);
    if (this.held !== null && this.held.length > 0) {
      // The server ended while the consumer was full: its end follows the held messages,
      // and a cancel (the consumer gone) or the transport's close still reaches this call until then.
      this.deferredEnd = status;
      return;
    }
    this.context.active.delete(this);
    this.signal?.removeEventListener('abort', this);
    // Never report to a stream sink from inside serverStream() itself.
    if (this.starting && this.sink !== null) process.nextTick(deliver, this, status);
    else this.deliver(status);
  }

  /** Hands the final status to whoever waits: the promise, or the sink. */
  deliver(status: CallStatus): void {
    const headers = this.headers ?? [];
    if (this.sink !== null) {
      this.sink.onEnd(status);
    } else if (status.code === Code.OK) {
      this.resolve!({ message: this.message!, headers, trailers: status.trailers });
    } else {
      this.reject!(callError(status, headers));
    }
  }
}

function deliver(call: H2Call, status: CallStatus): void {
  call.deliver(status);
}

function onDeadline(call: H2Call): void {
  call.cancel(localStatus(Code.DEADLINE_EXCEEDED, 'Deadline exceeded'));
}
