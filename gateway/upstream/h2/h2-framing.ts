/**
 * gRPC length-prefixed message framing over HTTP/2 DATA frames: a 1-byte compressed
 * flag, a 4-byte big-endian length, then the message. Frames do not align with DATA
 * chunks, so the decoder keeps partial state between chunks.
 * https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md#requests
 */

const PREFIX = 5;

/** Frames one message: one allocation, one copy. */
export function encodeFrame(message: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(PREFIX + message.byteLength);
  frame[0] = 0;
  frame.writeUInt32BE(message.byteLength, 1);
  frame.set(message, PREFIX);
  return frame;
}

/** Receives decoded frames; `compressed` is the frame's flag, left for the caller to judge. */
export interface FrameReceiver {
  onFrame(message: Buffer, compressed: boolean): void;
}

/**
 * Incremental deframer. A frame that sits whole inside one chunk is handed out as a
 * view of that chunk (no copy); a frame spread over chunks is copied once into a buffer
 * of its final size, allocated when its length is known.
 */
export class FrameDecoder {
  /** Bytes of the current prefix read so far (0..5); 5 means the body is being read. */
  private prefixRead = 0;
  private readonly prefix = Buffer.allocUnsafe(PREFIX);
  private body: Buffer | null = null;
  private bodyRead = 0;
  /** The announced length of the frame that stopped decoding, when write() returned false. */
  oversize = 0;

  constructor(private readonly maxMessageLength: number) {}

  /**
   * Decodes a chunk, calling receiver.onFrame for each complete frame in order.
   * Returns false, and stops, at a frame longer than maxMessageLength.
   */
  write(chunk: Buffer, receiver: FrameReceiver): boolean {
    let pos = 0;
    const end = chunk.length;
    while (pos < end) {
      if (this.prefixRead === 0 && end - pos >= PREFIX) {
        // Fast path: the whole prefix is in this chunk.
        const length = chunk.readUInt32BE(pos + 1);
        if (length > this.maxMessageLength) return this.tooLarge(length);
        const compressed = chunk[pos] === 1;
        pos += PREFIX;
        if (end - pos >= length) {
          receiver.onFrame(chunk.subarray(pos, pos + length), compressed);
          pos += length;
          continue;
        }
        this.prefix[0] = compressed ? 1 : 0;
        this.prefixRead = PREFIX;
        this.startBody(length);
      }
      if (this.prefixRead < PREFIX) {
        const n = Math.min(PREFIX - this.prefixRead, end - pos);
        chunk.copy(this.prefix, this.prefixRead, pos, pos + n);
        this.prefixRead += n;
        pos += n;
        if (this.prefixRead < PREFIX) break;
        const length = this.prefix.readUInt32BE(1);
        if (length > this.maxMessageLength) return this.tooLarge(length);
        this.startBody(length);
      }
      const body = this.body!;
      const n = Math.min(body.length - this.bodyRead, end - pos);
      chunk.copy(body, this.bodyRead, pos, pos + n);
      this.bodyRead += n;
      pos += n;
      if (this.bodyRead === body.length) {
        const compressed = this.prefix[0] === 1;
        this.body = null;
        this.prefixRead = 0;
        receiver.onFrame(body, compressed);
      }
    }
    return true;
  }

  /** True when the stream ended in the middle of a frame. */
  get partial(): boolean {
    return this.prefixRead !== 0;
  }

  private startBody(length: number): void {
    this.body = Buffer.allocUnsafe(length);
    this.bodyRead = 0;
  }

  private tooLarge(length: number): false {
    this.oversize = length;
    return false;
  }
}
