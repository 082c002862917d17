/**
 * Reads the protobuf wire format (https://protobuf.dev/programming-guides/encoding/) for
 * binary-to-json, without creating objects: 64-bit varints and fixed64s land in `lo`/`hi`,
 * lengths come back as end offsets. Every read is bounded by the end of the enclosing
 * message; anything malformed throws BAIL, so protobuf-es (the fallback) words the error.
 * Varint decoding mirrors protobuf-es's (at most ten bytes, extra high bits ignored), so
 * both read the same numbers from the same bytes.
 */
import { BAIL } from './codec-scope';

const scratch = new DataView(new ArrayBuffer(8));

/** A cursor over one upstream message; one instance is reused for every render. */
export class WireReader {
  bytes: Uint8Array = new Uint8Array(0);
  pos = 0;
  /** Low and high 32 bits of the last 64-bit value read. */
  lo = 0;
  hi = 0;

  reset(bytes: Uint8Array): void {
    this.bytes = bytes;
    this.pos = 0;
  }

  /** A tag (field number << 3 | wire type), rejected as protobuf-es rejects it (field 0, wire type > 5, > 32 bits). */
  tag(limit: number): number {
    const bytes = this.bytes;
    const b = bytes[this.pos];
    if (b < 0x80 && this.pos < limit) {
      this.pos++;
      if (b < 8 || (b & 7) > 5) throw BAIL;
      return b;
    }
    const start = this.pos;
    const tag = this.varint(limit) >>> 0;
    const read = this.pos - start;
    if (read > 5 || (read === 5 && bytes[this.pos - 1] > 0x0f) || tag >>> 3 === 0 || (tag & 7) > 5) throw BAIL;
    return tag;
  }

  /** A varint: returns its low 32 bits (as an int32) and leaves all 64 in `lo`/`hi`. */
  varint(limit: number): number {
    const bytes = this.bytes;
    let pos = this.pos;
    let lo = 0;
    let hi = 0;
    let b: number;
    for (let shift = 0; shift < 28; shift += 7) {
      b = bytes[pos++];
      lo |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return this.settle(pos, limit, lo, hi);
    }
    b = bytes[pos++];
    lo |= (b & 0x0f) << 28;
    hi = (b & 0x70) >> 4;
    if ((b & 0x80) === 0) return this.settle(pos, limit, lo, hi);
    for (let shift = 3; shift <= 31; shift += 7) {
      b = bytes[pos++];
      hi |= (b & 0x7f) << shift;
      if ((b & 0x80) === 0) return this.settle(pos, limit, lo, hi);
    }
    throw BAIL;
  }

  private settle(pos: number, limit: number, lo: number, hi: number): number {
    if (pos > limit) throw BAIL;
    this.pos = pos;
    this.lo = lo;
    this.hi = hi;
    return lo;
  }

  /** A length prefix: returns the end offset of the bytes it announces. */
  lengthEnd(limit: number): number {
    const len = this.varint(limit) >>> 0;
    const end = this.pos + len;
    if (end > limit) throw BAIL;
    return end;
  }

  /** Four little-endian bytes, as an int32. */
  fixed32(limit: number): number {
    const pos = this.pos;
    if (pos + 4 > limit) throw BAIL;
    const bytes = this.bytes;
    this.pos = pos + 4;
    return bytes[pos] | (bytes[pos + 1] << 8) | (bytes[pos + 2] << 16) | (bytes[pos + 3] << 24);
  }

  /** Eight little-endian bytes, into `lo`/`hi`. */
  fixed64(limit: number): void {
    this.lo = this.fixed32(limit);
    this.hi = this.fixed32(limit);
  }

  float(limit: number): number {
    scratch.setInt32(0, this.fixed32(limit), true);
    return scratch.getFloat32(0, true);
  }

  double(limit: number): number {
    this.fixed64(limit);
    scratch.setInt32(0, this.lo, true);
    scratch.setInt32(4, this.hi, true);
    return scratch.getFloat64(0, true);
  }

  /** Skips one value of an unknown field. Groups (proto2 only) are left to protobuf-es. */
  skip(wireType: number, limit: number): void {
    switch (wireType) {
      case 0:
        this.varint(limit);
        return;
      case 1:
        this.pos += 8;
        break;
      case 2:
        this.pos = this.lengthEnd(limit);
        return;
      case 5:
        this.pos += 4;
        break;
      default:
        throw BAIL;
    }
    if (this.pos > limit) throw BAIL;
  }
}
