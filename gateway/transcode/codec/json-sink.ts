/**
 * The byte buffer binary-to-json writes JSON text into, with the pieces of JSON that need
 * care: strings escaped exactly as JSON.stringify escapes them, 64-bit integers as decimal
 * strings, numbers as JavaScript prints them, bytes as padded standard base64. Upstream
 * strings are copied as UTF-8 bytes, validated as strictly as protobuf-es's fatal
 * TextDecoder; invalid UTF-8 throws BAIL so that protobuf-es reports it.
 */
import { ByteBuffer } from './byte-buffer';
import { BAIL } from './codec-scope';

// For each byte: 1 when it copies as is (ASCII, not a control character, '"' or '\\'). The
// others need a JSON escape (below 0x80) or start a longer UTF-8 sequence.
const PLAIN = new Uint8Array(256);
for (let b = 0x20; b < 0x80; b++) PLAIN[b] = 1;
PLAIN[0x22] = 0;
PLAIN[0x5c] = 0;
// JSON.stringify's short escapes; other control characters become \u00XX (lowercase hex).
const SHORT_ESCAPES: Record<number, number> = { 0x08: 0x62, 0x09: 0x74, 0x0a: 0x6e, 0x0c: 0x66, 0x0d: 0x72, 0x22: 0x22, 0x5c: 0x5c };
const HEX = '0123456789abcdef';
const BASE64 = Buffer.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/', 'latin1');
const TWO_32 = 4294967296;
// Values below 2^53 convert to a double exactly; larger ones go through BigInt.
const SAFE_HI = 0x200000;

/** A growable JSON text buffer. */
export class JsonSink extends ByteBuffer {
  /** True once a byte >= 0x80 was written (the text must then be decoded as UTF-8). */
  wide = false;

  reset(): void {
    this.pos = 0;
    this.wide = false;
  }

  /** The text written since `start`. */
  text(start: number, end: number): string {
    return this.buf.toString(this.wide ? 'utf8' : 'latin1', start, end);
  }

  byte(b: number): void {
    if (this.pos >= this.buf.length) this.ensure(1);
    this.buf[this.pos++] = b;
  }

  /** Precomputed ASCII bytes (keys, enum names, literals). */
  raw(bytes: Uint8Array): void {
    const n = bytes.length;
    this.ensure(n);
    const buf = this.buf;
    let pos = this.pos;
    for (let i = 0; i < n; i++) buf[pos++] = bytes[i];
    this.pos = pos;
  }

  /** ASCII text, such as String(number). */
  ascii(text: string): void {
    const n = text.length;
    this.ensure(n);
    const buf = this.buf;
    let pos = this.pos;
    for (let i = 0; i < n; i++) buf[pos++] = text.charCodeAt(i);
    this.pos = pos;
  }

  /** A finite or non-finite double as proto3 JSON: NaN and the infinities are strings. */
  number(value: number): void {
    if (value !== value) this.ascii('"NaN"');
    else if (value === Infinity) this.ascii('"Infinity"');
    else if (value === -Infinity) this.ascii('"-Infinity"');
    else this.ascii(String(value));
  }

  /** An unsigned 32-bit integer's decimal digits. */
  uint(value: number): void {
    if (value < 10) {
      this.byte(0x30 + value);
      return;
    }
    this.ascii(String(value));
  }

  /** A 64-bit integer (two's complement halves) as a quoted decimal string. */
  int64(lo: number, hi: number, signed: boolean): void {
    this.byte(0x22);
    if (hi === 0) this.uint(lo >>> 0);
    else this.ascii(int64Text(lo, hi, signed));
    this.byte(0x22);
  }

  /** Bytes as a quoted, padded standard base64 string (protobuf-es's base64Encode). */
  base64(src: Uint8Array, start: number, end: number): void {
    this.ensure(((end - start + 2) / 3) * 4 + 2);
    const buf = this.buf;
    let pos = this.pos;
    buf[pos++] = 0x22;
    let i = start;
    for (; i + 2 < end; i += 3) {
      const n = (src[i] << 16) | (src[i + 1] << 8) | src[i + 2];
      buf[pos++] = BASE64[n >> 18];
      buf[pos++] = BASE64[(n >> 12) & 63];
      buf[pos++] = BASE64[(n >> 6) & 63];
      buf[pos++] = BASE64[n & 63];
    }
    if (i < end) {
      const two = i + 1 < end;
      const n = (src[i] << 16) | (two ? src[i + 1] << 8 : 0);
      buf[pos++] = BASE64[n >> 18];
      buf[pos++] = BASE64[(n >> 12) & 63];
      buf[pos++] = two ? BASE64[(n >> 6) & 63] : 0x3d;
      buf[pos++] = 0x3d;
    }
    buf[pos++] = 0x22;
    this.pos = pos;
  }

  /** UTF-8 bytes as a quoted JSON string; throws BAIL on invalid UTF-8. */
  utf8String(src: Uint8Array, start: number, end: number): void {
    // Worst case: every byte a \u00XX escape.
    this.ensure((end - start) * 6 + 2);
    const buf = this.buf;
    let pos = this.pos;
    buf[pos++] = 0x22;
    let i = start;
    while (i < end) {
      // The run of bytes copied as they are, one table load and test per byte.
      let b = src[i];
      while (PLAIN[b] === 1) {
        buf[pos++] = b;
        if (++i === end) break;
        b = src[i];
      }
      if (i === end) break;
      if (b < 0x80) {
        pos = escapeByte(buf, pos, b);
        i++;
        continue;
      }
      const n = utf8SequenceLength(src, i, end);
      if (n === 0) throw BAIL;
      for (let k = 0; k < n; k++) buf[pos++] = src[i + k];
      i += n;
      this.wide = true;
    }
    buf[pos++] = 0x22;
    this.pos = pos;
  }

  /** A JavaScript string (a map key) as a quoted JSON string, escaped as JSON.stringify does. */
  jsString(text: string): void {
    const bytes = Buffer.from(JSON.stringify(text), 'utf8');
    for (let i = 0; i < bytes.length; i++) if (bytes[i] >= 0x80) this.wide = true;
    this.raw(bytes);
  }
}

/** The decimal text of a 64-bit integer given as two's complement halves. */
export function int64Text(lo: number, hi: number, signed: boolean): string {
  const uhi = hi >>> 0;
  // Magnitudes up to 2^53 are exact as doubles; only larger ones need BigInt.
  if (uhi < SAFE_HI) return String(uhi * TWO_32 + (lo >>> 0));
  if (signed && hi < 0 && hi >= -SAFE_HI) return String(hi * TWO_32 + (lo >>> 0));
  const big = (BigInt(uhi) << 32n) | BigInt(lo >>> 0);
  return (signed ? BigInt.asIntN(64, big) : big).toString();
}

function escapeByte(buf: Buffer, pos: number, b: number): number {
  buf[pos++] = 0x5c;
  const short = SHORT_ESCAPES[b];
  if (short !== undefined) {
    buf[pos++] = short;
    return pos;
  }
  buf[pos++] = 0x75; // u00XX
  buf[pos++] = 0x30;
  buf[pos++] = 0x30;
  buf[pos++] = HEX.charCodeAt(b >> 4);
  buf[pos++] = HEX.charCodeAt(b & 15);
  return pos;
}

/**
 * The length of the well-formed UTF-8 sequence at `i` (2 to 4), or 0 when it is not one:
 * overlong forms, surrogates (U+D800..U+DFFF), code points above U+10FFFF and truncated
 * sequences are rejected, exactly the bytes a fatal TextDecoder rejects (Unicode table 3-7).
 */
export function utf8SequenceLength(src: Uint8Array, i: number, end: number): number {
  const b0 = src[i];
  if (b0 >= 0xc2 && b0 <= 0xdf) return i + 1 < end && isCont(src[i + 1]) ? 2 : 0;
  if (b0 >= 0xe0 && b0 <= 0xef) {
    if (i + 2 >= end) return 0;
    const b1 = src[i + 1];
    const low = b0 === 0xe0 ? 0xa0 : 0x80;
    const high = b0 === 0xed ? 0x9f : 0xbf;
    return b1 >= low && b1 <= high && isCont(src[i + 2]) ? 3 : 0;
  }
  if (b0 >= 0xf0 && b0 <= 0xf4) {
    if (i + 3 >= end) return 0;
    const b1 = src[i + 1];
    const low = b0 === 0xf0 ? 0x90 : 0x80;
    const high = b0 === 0xf4 ? 0x8f : 0xbf;
    return b1 >= low && b1 <= high && isCont(src[i + 2]) && isCont(src[i + 3]) ? 4 : 0;
  }
  return 0;
}

function isCont(b: number): boolean {
  return (b & 0xc0) === 0x80;
}
