/**
 * The client side of one HTTP/2 connection (RFC 9113), just what gRPC needs: streams
 * opened by us, HEADERS/CONTINUATION, DATA with flow control both ways, SETTINGS, PING,
 * RST_STREAM, GOAWAY. It replaces node:http2's ClientHttp2Session on the hot path: that
 * one costs ~20 us per call in an AsyncResource, a deprecate() wrapper, header validation
 * and a Duplex per stream; here a call is a plain object and its events are direct calls.
 * This file is the reading side, flow control and the streams' life; h2-frame-writer.ts
 * writes (and batches) the frames, h2-stream.ts holds a stream's state.
 */
import type * as net from 'node:net';
import { HpackDecoder, HpackError, MAX_HEADER_LIST_SIZE } from './hpack';
import { FrameWriter } from './h2-frame-writer';
import { H2Stream, type RequestHeaders, type StreamHandler } from './h2-stream';
import {
  ACK,
  CONTINUATION,
  DATA,
  DEFAULT_WINDOW,
  END_HEADERS,
  END_STREAM,
  ErrorCode,
  FRAME_HEADER,
  GOAWAY,
  HEADERS,
  MAX_WINDOW,
  PADDED,
  PING,
  PRIORITY,
  PUSH_PROMISE,
  RST_STREAM,
  SETTINGS,
  SETTINGS_ENABLE_PUSH,
  SETTINGS_HEADER_TABLE_SIZE,
  SETTINGS_INITIAL_WINDOW_SIZE,
  SETTINGS_MAX_CONCURRENT_STREAMS,
  SETTINGS_MAX_FRAME_SIZE,
  unpad,
  WINDOW_UPDATE,
} from './h2-wire';

/** The largest frame we accept: the protocol default, which we never raise. */
const MAX_FRAME_IN = 16_384;
/** A header block (HEADERS + CONTINUATION) larger than this ends the connection. */
const MAX_HEADER_BLOCK = 1 << 20;

/** What the connection reports to its owner. */
export interface SessionListener {
  /** The server's SETTINGS (the first one makes the session usable). */
  onSettings(maxConcurrentStreams: number | undefined): void;
  /** GOAWAY received: no new streams; those the server accepted run to their end. */
  onGoaway(): void;
  onSessionError(error: Error): void;
  /** The connection is gone; every stream has been closed before this. */
  onSessionClose(): void;
}

export interface SessionOptions {
  /** Our per-stream receive window (SETTINGS_INITIAL_WINDOW_SIZE). */
  readonly streamWindowSize: number;
  /** Our connection-level receive window. */
  readonly connectionWindowSize: number;
}

type PingCallback = (error: Error | null) => void;

export class H2Session {
  destroyed = false;
  /** No new streams: GOAWAY sent or received. */
  closing = false;
  private readonly streams = new Map<number, H2Stream>();
  private nextId = 1;
  private readonly decoder = new HpackDecoder();
  private readonly out: FrameWriter;
  private buffered: Buffer | null = null;
  /** Header block being assembled from HEADERS + CONTINUATION. */
  private block: Buffer[] | null = null;
  private blockStream = 0;
  private blockSize = 0;
  private blockEndStream = false;
  private sendWindow = DEFAULT_WINDOW;
  private peerInitialWindow = DEFAULT_WINDOW;
  private connectionUnacked = 0;
  private readonly pings: PingCallback[] = [];
  private blocked: Set<H2Stream> | null = null;

  constructor(
    private readonly socket: net.Socket,
    private readonly options: SessionOptions,
    private readonly listener: SessionListener,
  ) {
    socket.on('data', (chunk: Buffer) => this.read(chunk));
    socket.on('error', (err: Error) => this.listener.onSessionError(err));
    socket.on('close', () => this.onSocketClose());
    const settings = Buffer.alloc(18);
    settings.writeUInt16BE(SETTINGS_ENABLE_PUSH, 0);
    settings.writeUInt32BE(0, 2);
    settings.writeUInt16BE(SETTINGS_INITIAL_WINDOW_SIZE, 6);
    settings.writeUInt32BE(options.streamWindowSize, 8);
    // SETTINGS_MAX_HEADER_LIST_SIZE (0x6): what the decoder enforces.
    settings.writeUInt16BE(0x6, 12);
    settings.writeUInt32BE(MAX_HEADER_LIST_SIZE, 14);
    this.out = new FrameWriter(socket);
    this.out.preface(settings);
    if (options.connectionWindowSize > DEFAULT_WINDOW) this.out.windowUpdate(0, options.connectionWindowSize - DEFAULT_WINDOW);
  }

  get activeStreams(): number {
    return this.streams.size;
  }

  /**
   * Opens a stream with `headers` (and grpc-timeout when `timeout` is not null); `body`, when
   * given, follows as DATA; `end` half-closes. Throws when the session takes no new streams.
   */
  request(headers: RequestHeaders, timeout: string | null, handler: StreamHandler, body: Buffer | null, end: boolean): H2Stream {
    if (this.destroyed || this.closing) throw new Error('The session is closed');
    const id = this.nextId;
    this.nextId += 2;
    // Stream ids run out after 2^30 streams: this session then only finishes what it has.
    if (this.nextId > MAX_WINDOW) this.closing = true;
    const stream = new H2Stream(id, handler, this.peerInitialWindow);
    this.streams.set(id, stream);
    this.out.headers(id, headers, timeout, end && body === null);
    if (end && body === null) stream.localEnded = true;
    else if (body !== null || end) this.send(stream, body, end);
    return stream;
  }

  /** Sends DATA on a stream (as far as flow control allows; the rest waits), then END_STREAM if `end`. */
  send(stream: H2Stream, data: Buffer | null, end: boolean): void {
    if (stream.localEnded || this.destroyed || !this.streams.has(stream.id)) return;
    if (stream.pending !== null) {
      if (data !== null && data.length > 0) stream.pending.push(data);
      stream.pendingEnd ||= end;
      return;
    }
    if (data !== null && data.length > 0) {
      const sent = this.sendData(stream, data, end);
      if (sent < data.length) {
        stream.pending = [data.subarray(sent)];
        stream.pendingEnd = end;
        (this.blocked ??= new Set()).add(stream);
        return;
      }
      if (end) stream.localEnded = true;
      return;
    }
    if (end) {
      this.out.data(stream.id, null, true);
      stream.localEnded = true;
    }
  }

  /**
   * Flow control of what a stream receives: paused, received bytes are not given back, so
   * the server stops once it has used its window; resumed, what was held back goes back now.
   */
  setPaused(stream: H2Stream, paused: boolean): void {
    stream.paused = paused;
    if (paused || stream.unacked === 0 || stream.remoteEnded || this.destroyed || !this.streams.has(stream.id)) return;
    this.out.windowUpdate(stream.id, stream.unacked);
    stream.unacked = 0;
  }

  /** Resets a stream (RST_STREAM `code`) and closes it locally. */
  reset(stream: H2Stream, code: number): void {
    if (!this.streams.has(stream.id)) return;
    if (!this.destroyed) this.out.reset(stream.id, code);
    this.closeStream(stream, code, false);
  }

  /** Sends a PING; the callback runs on its ACK, or with an error if the session ends first. */
  ping(callback: PingCallback): boolean {
    if (this.destroyed) return false;
    this.pings.push(callback);
    this.out.ping(null);
    return true;
  }

  /** Stops new streams (GOAWAY NO_ERROR); the connection ends when the open ones have. */
  close(): void {
    if (this.destroyed) return;
    if (!this.closing) {
      this.closing = true;
      this.out.goaway(ErrorCode.NO_ERROR);
    }
    if (this.streams.size === 0) this.destroy();
  }

  /** Ends the connection now; open streams close as dropped. A code sends GOAWAY first. */
  destroy(code?: number): void {
    if (this.destroyed) return;
    if (code !== undefined && !this.closing) this.out.goaway(code);
    this.closing = true;
    this.destroyed = true;
    this.out.flush();
    this.socket.destroy();
  }

  ref(): void {
    this.socket.ref();
  }

  unref(): void {
    this.socket.unref();
  }

  // ---- reading ----

  private read(chunk: Buffer): void {
    if (this.destroyed) return;
    let data = chunk;
    if (this.buffered !== null) {
      data = Buffer.concat([this.buffered, chunk]);
      this.buffered = null;
    }
    let pos = 0;
    const end = data.length;
    while (end - pos >= FRAME_HEADER) {
      const length = (data[pos] << 16) | (data[pos + 1] << 8) | data[pos + 2];
      if (length > MAX_FRAME_IN) return this.fail(ErrorCode.FRAME_SIZE_ERROR, `frame of ${length} bytes`);
      if (end - pos - FRAME_HEADER < length) break;
      const type = data[pos + 3];
      const flags = data[pos + 4];
      const id = data.readUInt32BE(pos + 5) & 0x7fffffff;
      const payload = data.subarray(pos + FRAME_HEADER, pos + FRAME_HEADER + length);
      pos += FRAME_HEADER + length;
      try {
        this.onFrame(type, flags, id, payload);
      } catch (err) {
        // Whatever a peer sends ends at most this connection, never the process.
        if (err instanceof HpackError) return this.fail(ErrorCode.COMPRESSION_ERROR, err.message);
        return this.fail(ErrorCode.INTERNAL_ERROR, (err as Error).message);
      }
      if (this.destroyed) return;
    }
    if (pos < end) this.buffered = pos === 0 ? data : data.subarray(pos);
  }

  private onFrame(type: number, flags: number, id: number, payload: Buffer): void {
    if (this.block !== null && type !== CONTINUATION) {
      return this.fail(ErrorCode.PROTOCOL_ERROR, 'a header block was interrupted');
    }
    switch (type) {
      case DATA:
        return this.onDataFrame(flags, id, payload);
      case HEADERS:
        return this.onHeadersFrame(flags, id, payload);
      case CONTINUATION:
        return this.onContinuation(flags, id, payload);
      case RST_STREAM:
        return this.onReset(id, payload);
      case SETTINGS:
        return this.onSettings(flags, id, payload);
      case PING:
        return this.onPing(flags, id, payload);
      case GOAWAY:
        return this.onGoaway(id, payload);
      case WINDOW_UPDATE:
        return this.onWindowUpdate(id, payload);
      case PUSH_PROMISE:
        return this.fail(ErrorCode.PROTOCOL_ERROR, 'PUSH_PROMISE with push disabled');
      default: // PRIORITY and unknown types are ignored (RFC 9113 4.1, 5.5).
    }
  }

  private onDataFrame(flags: number, id: number, payload: Buffer): void {
    if (id === 0) return this.fail(ErrorCode.PROTOCOL_ERROR, 'DATA on stream 0');
    // Flow control counts the whole payload, padding included.
    this.connectionUnacked += payload.length;
    if (this.connectionUnacked >= this.options.connectionWindowSize / 2) {
      this.out.windowUpdate(0, this.connectionUnacked);
      this.connectionUnacked = 0;
    }
    const stream = this.streams.get(id);
    if (stream === undefined || stream.remoteEnded) return;
    if (!stream.responded) return this.streamError(stream, ErrorCode.PROTOCOL_ERROR);
    const data = (flags & PADDED) !== 0 ? unpad(payload) : payload;
    if (data === null) return this.fail(ErrorCode.PROTOCOL_ERROR, 'bad padding');
    if ((flags & END_STREAM) === 0) {
      stream.unacked += payload.length;
      if (stream.unacked >= this.options.streamWindowSize / 2 && !stream.paused) {
        this.out.windowUpdate(id, stream.unacked);
        stream.unacked = 0;
      }
    }
    if (data.length > 0) stream.handler.onData(data);
    if ((flags & END_STREAM) !== 0 && this.streams.has(id)) this.remoteEnd(stream);
  }

  private onHeadersFrame(flags: number, id: number, payload: Buffer): void {
    if (id === 0) return this.fail(ErrorCode.PROTOCOL_ERROR, 'HEADERS on stream 0');
    let fragment: Buffer | null = payload;
    if ((flags & PADDED) !== 0) fragment = unpad(payload);
    if (fragment === null) return this.fail(ErrorCode.PROTOCOL_ERROR, 'bad padding');
    if ((flags & PRIORITY) !== 0) {
      if (fragment.length < 5) return this.fail(ErrorCode.PROTOCOL_ERROR, 'short HEADERS');
      fragment = fragment.subarray(5);
    }
    this.blockEndStream = (flags & END_STREAM) !== 0;
    this.blockStream = id;
    if ((flags & END_HEADERS) !== 0) return this.onHeaderBlock(id, fragment);
    this.block = [fragment];
    this.blockSize = fragment.length;
  }

  private onContinuation(flags: number, id: number, payload: Buffer): void {
    if (this.block === null || id !== this.blockStream) return this.fail(ErrorCode.PROTOCOL_ERROR, 'unexpected CONTINUATION');
    this.block.push(payload);
    this.blockSize += payload.length;
    if (this.blockSize > MAX_HEADER_BLOCK) return this.fail(ErrorCode.PROTOCOL_ERROR, 'header block too large');
    if ((flags & END_HEADERS) === 0) return;
    const block = Buffer.concat(this.block);
    this.block = null;
    this.onHeaderBlock(id, block);
  }

  /** Every block is decoded, even for a stream we dropped: the HPACK table must stay in step. */
  private onHeaderBlock(id: number, block: Buffer): void {
    const raw = this.decoder.decode(block);
    const stream = this.streams.get(id);
    if (stream === undefined || stream.remoteEnded) return;
    const endStream = this.blockEndStream;
    if (!stream.responded) {
      const status = statusOf(raw);
      // 1xx informational responses come before the real one.
      if (status >= 100 && status < 200 && !endStream) return;
      stream.responded = true;
      stream.handler.onResponse(status, endStream, raw);
    } else {
      // Trailers must end the stream (RFC 9113 8.1).
      if (!endStream) return this.streamError(stream, ErrorCode.PROTOCOL_ERROR);
      stream.handler.onTrailers(raw);
    }
    if (endStream && this.streams.has(id)) this.remoteEnd(stream);
  }

  private onReset(id: number, payload: Buffer): void {
    if (id === 0 || payload.length !== 4) return this.fail(ErrorCode.PROTOCOL_ERROR, 'bad RST_STREAM');
    const stream = this.streams.get(id);
    if (stream !== undefined) this.closeStream(stream, payload.readUInt32BE(0), false);
  }

  private onSettings(flags: number, id: number, payload: Buffer): void {
    if (id !== 0 || payload.length % 6 !== 0) return this.fail(ErrorCode.PROTOCOL_ERROR, 'bad SETTINGS');
    if ((flags & ACK) !== 0) return;
    let maxStreams: number | undefined;
    for (let i = 0; i < payload.length; i += 6) {
      const setting = payload.readUInt16BE(i);
      const value = payload.readUInt32BE(i + 2);
      if (setting === SETTINGS_MAX_CONCURRENT_STREAMS) {
        maxStreams = value;
      } else if (setting === SETTINGS_INITIAL_WINDOW_SIZE) {
        if (value > MAX_WINDOW) return this.fail(ErrorCode.FLOW_CONTROL_ERROR, 'initial window too large');
        const delta = value - this.peerInitialWindow;
        this.peerInitialWindow = value;
        for (const stream of this.streams.values()) stream.sendWindow += delta;
      } else if (setting === SETTINGS_MAX_FRAME_SIZE) {
        if (value < 16_384 || value > 16_777_215) return this.fail(ErrorCode.PROTOCOL_ERROR, 'bad MAX_FRAME_SIZE');
        this.out.maxFrame = value;
      } else if (setting === SETTINGS_HEADER_TABLE_SIZE) {
        this.out.setHeaderTableSize(value);
      }
      // The rest are advisory for a client.
    }
    this.out.settingsAck();
    this.listener.onSettings(maxStreams);
    this.flushBlocked();
  }

  private onPing(flags: number, id: number, payload: Buffer): void {
    if (id !== 0 || payload.length !== 8) return this.fail(ErrorCode.PROTOCOL_ERROR, 'bad PING');
    if ((flags & ACK) !== 0) {
      this.pings.shift()?.(null);
      return;
    }
    this.out.ping(payload);
  }

  private onGoaway(id: number, payload: Buffer): void {
    if (id !== 0 || payload.length < 8) return this.fail(ErrorCode.PROTOCOL_ERROR, 'bad GOAWAY');
    const lastStreamId = payload.readUInt32BE(0) & 0x7fffffff;
    this.closing = true;
    // Streams above the last one the server processed never ran: safe to retry elsewhere.
    for (const stream of [...this.streams.values()]) {
      if (stream.id > lastStreamId) this.closeStream(stream, ErrorCode.REFUSED_STREAM, false);
    }
    this.listener.onGoaway();
    if (this.streams.size === 0) this.destroy();
  }

  private onWindowUpdate(id: number, payload: Buffer): void {
    if (payload.length !== 4) return this.fail(ErrorCode.FRAME_SIZE_ERROR, 'bad WINDOW_UPDATE');
    const increment = payload.readUInt32BE(0) & 0x7fffffff;
    if (id === 0) {
      if (increment === 0) return this.fail(ErrorCode.PROTOCOL_ERROR, 'zero WINDOW_UPDATE');
      this.sendWindow += increment;
      if (this.sendWindow > MAX_WINDOW) return this.fail(ErrorCode.FLOW_CONTROL_ERROR, 'window overflow');
      return this.flushBlocked();
    }
    const stream = this.streams.get(id);
    if (stream === undefined) return;
    stream.sendWindow += increment;
    if (stream.pending !== null) this.flush(stream);
  }

  // ---- stream life ----

  /** The server ended its side: the call is complete, so our side goes too. */
  private remoteEnd(stream: H2Stream): void {
    stream.remoteEnded = true;
    if (!stream.localEnded) {
      // Still sending (a client stream the server answered early): stop without error.
      this.out.reset(stream.id, ErrorCode.NO_ERROR);
    }
    this.closeStream(stream, ErrorCode.NO_ERROR, false);
  }

  private streamError(stream: H2Stream, code: number): void {
    this.reset(stream, code);
  }

  private closeStream(stream: H2Stream, code: number, dropped: boolean): void {
    if (!this.streams.delete(stream.id)) return;
    stream.pending = null;
    this.blocked?.delete(stream);
    stream.handler.onStreamClose(code, dropped);
    if (this.closing && this.streams.size === 0 && !this.destroyed) this.destroy();
  }

  private onSocketClose(): void {
    this.destroyed = true;
    this.closing = true;
    for (const stream of [...this.streams.values()]) this.closeStream(stream, ErrorCode.NO_ERROR, true);
    const error = new Error('Connection closed');
    for (const ping of this.pings.splice(0)) ping(error);
    this.listener.onSessionClose();
  }

  private fail(code: number, why: string): void {
    this.listener.onSessionError(new Error(`HTTP/2 protocol error: ${why}`));
    this.destroy(code);
  }

  // ---- writing ----

  /** Writes as much of `data` as the windows allow, in frames of at most peerMaxFrame; returns bytes sent. */
  private sendData(stream: H2Stream, data: Buffer, end: boolean): number {
    let sent = 0;
    while (sent < data.length) {
      const room = Math.min(this.sendWindow, stream.sendWindow, this.out.maxFrame, data.length - sent);
      if (room <= 0) break;
      const last = sent + room === data.length;
      this.out.data(stream.id, data.subarray(sent, sent + room), last && end);
      this.sendWindow -= room;
      stream.sendWindow -= room;
      sent += room;
    }
    return sent;
  }

  private flush(stream: H2Stream): void {
    const pending = stream.pending!;
    let ended = false;
    while (pending.length > 0) {
      const head = pending[0];
      const last = stream.pendingEnd && pending.length === 1;
      const sent = this.sendData(stream, head, last);
      if (sent < head.length) {
        pending[0] = head.subarray(sent);
        (this.blocked ??= new Set()).add(stream);
        return;
      }
      pending.shift();
      ended = last;
    }
    stream.pending = null;
    this.blocked?.delete(stream);
    if (stream.pendingEnd) {
      stream.localEnded = true;
      stream.pendingEnd = false;
      // An end asked for after the last queued DATA went out still needs its END_STREAM.
      if (!ended) this.out.data(stream.id, null, true);
    }
    stream.handler.onWritable();
  }

  private flushBlocked(): void {
    if (this.blocked === null) return;
    for (const stream of [...this.blocked]) {
      if (this.sendWindow <= 0) return;
      if (stream.pending !== null) this.flush(stream);
    }
  }
}

function statusOf(raw: string[]): number {
  for (let i = 0; i < raw.length; i += 2) if (raw[i] === ':status') return Number(raw[i + 1]) || 0;
  return 0;
}
