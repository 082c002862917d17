/**
 * The writing side of one HTTP/2 client connection: every frame the session sends, HPACK
 * encoding of request headers with the connection's dynamic table, and batching. Writes
 * made in one turn of the event loop leave in one writev (see cork()).
 */
import type * as net from 'node:net';
import { HeaderBlockWriter, HpackEncoder } from './hpack-encoder';
import type { RequestHeaders } from './h2-stream';
import {
  ACK,
  CONTINUATION,
  DATA,
  DEFAULT_MAX_FRAME,
  END_HEADERS,
  END_STREAM,
  FRAME_HEADER,
  GOAWAY,
  HEADERS,
  PING,
  PREFACE,
  RST_STREAM,
  SETTINGS,
  WINDOW_UPDATE,
  writeFrameHeader,
} from './h2-wire';

/** Frames with a payload up to this size are copied into one buffer with their frame header. */
const COPY_LIMIT = 16_384;
/**
 * DATA payloads larger than this are not copied: their frame header and the payload (a slice
 * of the caller's framed message, never reused) go to the corked socket as two writev entries.
 * A 64 KiB request (bench case 3) was copied once more into its four 16 KiB frames.
 */
const DATA_COPY_LIMIT = 1024;

export class FrameWriter {
  /** The server's SETTINGS_MAX_FRAME_SIZE. */
  maxFrame = DEFAULT_MAX_FRAME;
  private corked = false;
  private readonly encoder = new HpackEncoder();
  /** Every request's header block is written here, then copied into its frames. */
  private readonly block = new HeaderBlockWriter(512);

  constructor(private readonly socket: net.Socket) {}

  /** The server's SETTINGS_HEADER_TABLE_SIZE, which bounds our encoder's table. */
  setHeaderTableSize(size: number): void {
    this.encoder.setPeerLimit(size);
  }

  /** The connection preface and our SETTINGS. */
  preface(settings: Buffer): void {
    this.cork();
    this.socket.write(PREFACE);
    this.frame(SETTINGS, 0, 0, settings);
  }

  /**
   * A request's HEADERS (and CONTINUATION): encoded right before they are framed, because
   * the server's HPACK table sees header blocks in wire order.
   */
  headers(id: number, headers: RequestHeaders, timeout: string | null, end: boolean): void {
    this.cork();
    const out = this.block;
    out.reset();
    this.encoder.begin(out);
    const { fields, metadata } = headers;
    for (let i = 0; i < fields.length; i++) this.encoder.field(out, fields[i]);
    if (metadata !== null) for (let i = 0; i < metadata.length; i += 2) this.encoder.metadata(out, metadata[i], metadata[i + 1]);
    if (timeout !== null) this.encoder.perCall(out, 'grpc-timeout', timeout);
    const block = out.bytes();
    // At most COPY_LIMIT per frame: frame() then copies the block out of the reused writer.
    const max = Math.min(this.maxFrame, COPY_LIMIT);
    if (block.length <= max) return this.frame(HEADERS, END_HEADERS | (end ? END_STREAM : 0), id, block);
    this.frame(HEADERS, end ? END_STREAM : 0, id, block.subarray(0, max));
    for (let at = max; at < block.length; at += max) {
      const last = at + max >= block.length;
      this.frame(CONTINUATION, last ? END_HEADERS : 0, id, block.subarray(at, Math.min(at + max, block.length)));
    }
  }

  /** One DATA frame (`payload` null: an empty one, to carry END_STREAM). */
  data(id: number, payload: Buffer | null, end: boolean): void {
    this.cork();
    if (payload === null || payload.length <= DATA_COPY_LIMIT) return this.frame(DATA, end ? END_STREAM : 0, id, payload);
    if (this.socket.destroyed) return;
    this.socket.write(frameHeader(payload.length, DATA, end ? END_STREAM : 0, id));
    this.socket.write(payload);
  }

  reset(id: number, code: number): void {
    const payload = Buffer.allocUnsafe(4);
    payload.writeUInt32BE(code, 0);
    this.cork();
    this.frame(RST_STREAM, 0, id, payload);
  }

  /** A PING (payload zeros), or the ACK of the server's `payload`. */
  ping(ack: Buffer | null): void {
    this.cork();
    this.frame(PING, ack === null ? 0 : ACK, 0, ack === null ? Buffer.alloc(8) : Buffer.from(ack));
  }

  settingsAck(): void {
    this.cork();
    this.frame(SETTINGS, ACK, 0, null);
  }

  windowUpdate(id: number, increment: number): void {
    const payload = Buffer.allocUnsafe(4);
    payload.writeUInt32BE(increment, 0);
    this.cork();
    this.frame(WINDOW_UPDATE, 0, id, payload);
  }

  goaway(code: number): void {
    const payload = Buffer.alloc(8);
    payload.writeUInt32BE(0, 0);
    payload.writeUInt32BE(code, 4);
    this.cork();
    this.frame(GOAWAY, 0, 0, payload);
  }

  /** Sends what is held now (before the socket is destroyed). */
  flush(): void {
    if (!this.corked) return;
    this.corked = false;
    this.socket.uncork();
  }

  private frame(type: number, flags: number, id: number, payload: Buffer | null): void {
    if (this.socket.destroyed) return;
    const length = payload === null ? 0 : payload.length;
    if (length <= COPY_LIMIT) {
      const out = Buffer.allocUnsafe(FRAME_HEADER + length);
      writeFrameHeader(out, length, type, flags, id);
      if (payload !== null) payload.copy(out, FRAME_HEADER);
      this.socket.write(out);
      return;
    }
    this.socket.write(frameHeader(length, type, flags, id));
    this.socket.write(payload!);
  }

  /**
   * Holds writes until the end of this turn of the event loop (setImmediate, after every I/O
   * callback the poll phase had ready), so the calls of all the HTTP requests that arrived
   * together leave in one writev and reach the server in one read, as grpc-go's loopy
   * writer batches them. With nextTick a batch held one request's frames: the server then
   * made ~4x more reads and writes per call (0.45 vs 0.12 TCP reads per call through a
   * counting relay, grpc-gateway's client at 0.12).
   */
  private cork(): void {
    if (this.corked) return;
    this.corked = true;
    this.socket.cork();
    setImmediate(flush, this);
  }
}

function frameHeader(length: number, type: number, flags: number, id: number): Buffer {
  const header = Buffer.allocUnsafe(FRAME_HEADER);
  writeFrameHeader(header, length, type, flags, id);
  return header;
}

function flush(writer: FrameWriter): void {
  writer.flush();
}
