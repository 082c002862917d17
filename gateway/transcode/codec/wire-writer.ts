/**
 * Writes the protobuf wire format (https://protobuf.dev/programming-guides/encoding/) for
 * json-to-binary, byte for byte as protobuf-es's BinaryWriter does: minimal varints,
 * negative int32s as ten-byte varints, little-endian fixed widths, and length-delimited
 * records whose length is written after their content (one byte is reserved; longer
 * content is moved up, as protobuf-es's fork/join does).
 */
import { ByteBuffer } from './byte-buffer';

const TWO_32 = 4294967296;

const scratch = new DataView(new ArrayBuffer(8));

/** Buffer's latin1 writer (the one `write(s, offset, length, 'latin1')` calls, without the encoding switch), untyped in @types/node. */
type Latin1Writable = Buffer & { latin1Write(value: string, offset: number, length: number): number };

/** A growable protobuf byte buffer. */
export class WireWriter extends ByteBuffer {
  private readonly forks: number[] = [];
  private depth = 0;

  reset(): void {
    this.pos = 0;
    this.depth = 0;
  }

  /**
   * A copy of what was written (the buffer itself is reused). Buffer.allocUnsafe: a small
   * message is a slice of node's pool, a large one is not zero-filled first; `new
   * Uint8Array(n)` mallocs and zeroes each time (~1.1 µs against ~0.25 µs for 80 bytes here).
   */
  finish(): Uint8Array {
    const out = Buffer.allocUnsafe(this.pos);
    this.buf.copy(out, 0, 0, this.pos);
    this.release();
    return out;
  }

  /** An unsigned 32-bit varint (tags, lengths, uint32). */
  uint32(value: number): void {
    this.ensure(5);
    const buf = this.buf;
    let pos = this.pos;
    while (value > 0x7f) {
      buf[pos++] = (value & 0x7f) | 0x80;
      value >>>= 7;
    }
    buf[pos++] = value;
    this.pos = pos;
  }

  /** A signed 32-bit varint: negative values take ten bytes (sign-extended to 64 bits). */
  int32(value: number): void {
    if (value >= 0) {
      this.uint32(value);
      return;
    }
    this.varint64(value | 0, -1);
  }

  /** A 64-bit varint from its two's complement halves. */
  varint64(lo: number, hi: number): void {
    this.ensure(10);
    const buf = this.buf;
    let pos = this.pos;
    lo >>>= 0;
    hi >>>= 0;
    while (hi > 0 || lo > 0x7f) {
      buf[pos++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    buf[pos++] = lo;
    this.pos = pos;
  }

  /** A non-negative integer below 2^53 as a 64-bit varint. */
  varintNumber(value: number): void {
    if (value < TWO_32) this.uint32(value);
    else this.varint64(value % TWO_32, Math.floor(value / TWO_32));
  }

  fixed32(value: number): void {
    this.ensure(4);
    const buf = this.buf;
    const pos = this.pos;
    buf[pos] = value;
    buf[pos + 1] = value >>> 8;
    buf[pos + 2] = value >>> 16;
    buf[pos + 3] = value >>> 24;
    this.pos = pos + 4;
  }

  fixed64(lo: number, hi: number): void {
    this.fixed32(lo);
    this.fixed32(hi);
  }

  float(value: number): void {
    scratch.setFloat32(0, value, true);
    this.fixed32(scratch.getInt32(0, true));
  }

  double(value: number): void {
    scratch.setFloat64(0, value, true);
    this.fixed64(scratch.getInt32(0, true), scratch.getInt32(4, true));
  }

  /** A string as length-prefixed UTF-8 (the caller has checked it is well-formed UTF-16). */
  string(value: string): void {
    const len = value.length;
    // Short ASCII strings, the common case, are copied as they are scanned.
    if (len < 128) {
      if (this.pos + len + 1 > this.buf.length) this.ensure(len + 1);
      const buf = this.buf;
      const start = this.pos;
      let pos = start + 1;
      let i = 0;
      for (; i < len; i++) {
        const c = value.charCodeAt(i);
        if (c > 0x7f) break;
        buf[pos++] = c;
      }
      if (i === len) {
        buf[start] = len;
        this.pos = pos;
        return;
      }
    }
    const bytes = Buffer.byteLength(value, 'utf8');
    this.uint32(bytes);
    this.ensure(bytes);
    this.pos += this.buf.write(value, this.pos, bytes, 'utf8');
  }

  /**
   * A string known to be ASCII (its UTF-8 is its characters), as length-prefixed bytes copied
   * natively: on bench case 3's 2,500 short strings 185 → 110 µs against string()'s loop.
   */
  asciiString(value: string): void {
    const len = value.length;
    this.uint32(len);
    this.ensure(len);
    this.pos += (this.buf as Latin1Writable).latin1Write(value, this.pos, len);
  }

  /** Starts a length-delimited record (a message, a packed list, a map entry). */
  fork(): void {
    this.ensure(1);
    this.forks[this.depth++] = this.pos;
    this.pos++;
  }

  /** Ends the last record: writes its length before it, moving the content when it needs more than one byte. */
  join(): void {
    const at = this.forks[--this.depth];
    const len = this.pos - at - 1;
    if (len < 0x80) {
      this.buf[at] = len;
      return;
    }
    const prefix = len < 1 << 14 ? 2 : len < 1 << 21 ? 3 : len < 1 << 28 ? 4 : 5;
    this.ensure(prefix - 1);
    this.buf.copy(this.buf, at + prefix, at + 1, this.pos);
    const end = this.pos + prefix - 1;
    this.pos = at;
    this.uint32(len);
    this.pos = end;
  }
}
