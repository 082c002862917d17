/**
 * One proto3 JSON scalar (https://protobuf.dev/programming-guides/json/) → its wire value,
 * for json-to-binary. Accepts exactly what @bufbuild/protobuf's fromJson accepts, or less:
 * whatever it would reject, and whatever it would accept in a way that is not worth copying
 * (int64 text other than plain digits, integers past 2^53 given as JSON numbers, base64
 * with spaces or inner padding), throws BAIL so protobuf-es decides. The rules mirrored:
 *
 * - 32-bit integers: a JSON number, or a string without surrounding blanks that Number()
 *   reads; either must be integral and in range ("1e3" and "0x10" are accepted, as there).
 * - 64-bit integers: strict decimal text (int64-text.ts: no "-0", no leading zeros, "-" for
 *   signed types only), or a JSON number that is a safe integer.
 * - float/double: a finite number, "NaN", "Infinity", "-Infinity", or a numeric string
 *   without surrounding blanks; a float must round to a finite float32.
 * - bool: true/false only; string: well-formed UTF-16 (no lone surrogates); bytes: base64,
 *   standard or URL-safe, padded or not.
 *
 * `parse` runs first (the caller needs to know whether the value is zero before it writes
 * a tag); it leaves the value in module state for `write`.
 */
import type { ScalarType } from '@bufbuild/protobuf';
import { BOOL, BYTES, DOUBLE, FIXED32, FIXED64, FLOAT, INT32, INT64, SFIXED32, SFIXED64, SINT32, SINT64, STRING, UINT32, UINT64 } from './scalar-types';
import { BAIL } from './codec-scope';
import type { WireWriter } from './wire-writer';

const INT32_MAX = 0x7fffffff;
const INT32_MIN = -0x80000000;
const UINT32_MAX = 0xffffffff;
const TWO_32 = 4294967296;
const CANONICAL_INT = /^(?:0|-?[1-9][0-9]*)$/;
const INT64_MAX = 0x7fffffffffffffffn;
const INT64_MIN = -0x8000000000000000n;
const UINT64_MAX = 0xffffffffffffffffn;

// The value parse accepted last (encoding is synchronous, so module state is safe).
let num = 0;
let lo = 0;
let hi = 0;
let text = '';

/** Parses `json` as a value of `scalar`; returns whether it is the zero value. Throws BAIL. */
export function parseScalar(scalar: ScalarType, json: unknown): boolean {
  switch (scalar) {
    case INT32:
    case SINT32:
    case SFIXED32:
      num = int32(json, INT32_MIN, INT32_MAX);
      return num === 0;
    case UINT32:
    case FIXED32:
      num = int32(json, 0, UINT32_MAX);
      return num === 0;
    case INT64:
    case SINT64:
    case SFIXED64:
      return int64(json, true);
    case UINT64:
    case FIXED64:
      return int64(json, false);
    case DOUBLE:
      num = float(json);
      return num === 0 && 1 / num > 0; // -0 is written, as protobuf-es does
    case FLOAT:
      num = float(json);
      if (Number.isFinite(num) && !Number.isFinite(Math.fround(num))) throw BAIL;
      return num === 0 && 1 / num > 0;
    case BOOL:
      if (typeof json !== 'boolean') throw BAIL;
      num = json ? 1 : 0;
      return !json;
    case STRING:
    case BYTES:
      if (typeof json !== 'string') throw BAIL;
      text = json;
      return json === '';
    default:
      throw BAIL;
  }
}

/** Writes the value parseScalar accepted last (no tag); `ascii`: a string is known to be ASCII (JsonSource.ascii). */
export function writeScalar(w: WireWriter, scalar: ScalarType, ascii: boolean): void {
  switch (scalar) {
    case INT32:
      w.int32(num);
      return;
    case SINT32:
      w.uint32(((num << 1) ^ (num >> 31)) >>> 0);
      return;
    case UINT32:
    case BOOL:
      w.uint32(num);
      return;
    case FIXED32:
    case SFIXED32:
      w.fixed32(num);
      return;
    case INT64:
    case UINT64:
      w.varint64(lo, hi);
      return;
    case SINT64: {
      const sign = hi >> 31;
      w.varint64((lo << 1) ^ sign, ((hi << 1) | (lo >>> 31)) ^ sign);
      return;
    }
    case FIXED64:
    case SFIXED64:
      w.fixed64(lo, hi);
      return;
    case DOUBLE:
      w.double(num);
      return;
    case FLOAT:
      w.float(num);
      return;
    case STRING:
      if (ascii) return w.asciiString(text);
      if (!isWellFormed(text)) throw BAIL; // protobuf-es rejects lone surrogates ("invalid UTF8")
      w.string(text);
      return;
    case BYTES:
      writeBase64(w, text);
      return;
  }
}

/** Parses a JSON map key (always a string) as a key of `scalar`, accepting only canonical text. */
export function parseMapKey(scalar: ScalarType, key: string): void {
  switch (scalar) {
    case STRING:
      text = key;
      return;
    case BOOL:
      if (key !== 'true' && key !== 'false') throw BAIL;
      num = key === 'true' ? 1 : 0;
      return;
    default:
      // protobuf-es folds "01" and "1" (or "-0" and "0") into one key; only canonical keys keep their order simple.
      if (!CANONICAL_INT.test(key)) throw BAIL;
      parseScalar(scalar, key);
  }
}

/** The enum number of `json` (a name, or an integral number), or BAIL for anything else. */
export function enumNumber(names: ReadonlyMap<string, number>, json: unknown): number {
  if (typeof json === 'string') {
    const n = names.get(json);
    if (n !== undefined) return n;
  } else if (typeof json === 'number' && Number.isInteger(json) && json >= INT32_MIN && json <= INT32_MAX) {
    return json;
  }
  throw BAIL;
}

function int32(json: unknown, min: number, max: number): number {
  let n: number;
  if (typeof json === 'number') n = json;
  else if (typeof json === 'string' && json !== '' && json.trim().length === json.length) n = Number(json);
  else throw BAIL;
  if (!Number.isInteger(n) || n < min || n > max) throw BAIL;
  return n;
}

function int64(json: unknown, signed: boolean): boolean {
  if (typeof json === 'number') {
    if (!Number.isSafeInteger(json)) throw BAIL;
    setNumber(json, signed);
  } else if (typeof json === 'string') {
    // Only the strict decimal text of int64-text.ts (no "007", no "-0", "-" for signed types,
    // at most 20 digits), checked here as the digits are read rather than by its regex (a
    // regex test per value was a quarter of this function on bench case 3's 800 int64s);
    // anything else goes to the canonical path, which refuses it naming the field. Up to 15
    // characters are exact as a double, longer text goes through BigInt (and its range check).
    const len = json.length;
    const negative = json.charCodeAt(0) === 0x2d;
    if (negative && !signed) throw BAIL;
    let i = negative ? 1 : 0;
    const digits = len - i;
    if (digits === 0 || digits > 20 || (json.charCodeAt(i) === 0x30 && (digits > 1 || negative))) throw BAIL;
    let n = 0;
    for (; i < len; i++) {
      const digit = json.charCodeAt(i) - 0x30;
      if (digit < 0 || digit > 9) throw BAIL;
      n = n * 10 + digit;
    }
    if (len <= 15) setNumber(negative ? -n : n, signed);
    else setBigInt(BigInt(json), signed);
  } else {
    throw BAIL;
  }
  return lo === 0 && hi === 0;
}

function setNumber(n: number, signed: boolean): void {
  if (n < 0 && !signed) throw BAIL;
  // A safe integer's two's complement halves: `>>> 0` is the value modulo 2^32 (ToUint32), so
  // the rest divides exactly (cheaper than % and Math.floor on doubles).
  const low = n >>> 0;
  hi = ((n - low) / TWO_32) | 0;
  lo = low | 0;
}

function setBigInt(n: bigint, signed: boolean): void {
  if (signed ? n > INT64_MAX || n < INT64_MIN : n > UINT64_MAX || n < 0n) throw BAIL;
  const u = BigInt.asUintN(64, n);
  lo = Number(u & 0xffffffffn) | 0;
  hi = Number(u >> 32n) | 0;
}

function float(json: unknown): number {
  // JSON.parse gives no NaN, but "1e999" parses to Infinity, which protobuf-es rejects as a number.
  if (typeof json === 'number') {
    if (!Number.isFinite(json)) throw BAIL;
    return json;
  }
  if (typeof json !== 'string') throw BAIL;
  if (json === 'NaN') return NaN;
  if (json === 'Infinity') return Infinity;
  if (json === '-Infinity') return -Infinity;
  if (json === '' || json.trim().length !== json.length) throw BAIL;
  const n = Number(json);
  if (!Number.isFinite(n)) throw BAIL;
  return n;
}

const hasIsWellFormed = typeof (String.prototype as { isWellFormed?: unknown }).isWellFormed === 'function';

function isWellFormed(s: string): boolean {
  if (hasIsWellFormed) return (s as unknown as { isWellFormed(): boolean }).isWellFormed();
  try {
    encodeURIComponent(s);
    return true;
  } catch {
    return false;
  }
}

// protobuf-es's base64 alphabet: standard, plus the URL-safe "-" and "_".
const BASE64 = new Int8Array(128).fill(-1);
'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'.split('').forEach((c, i) => (BASE64[c.charCodeAt(0)] = i));
BASE64[0x2d] = 62;
BASE64[0x5f] = 63;

/**
 * Decodes base64 as protobuf-es's base64Decode does, straight into the writer as a
 * length-delimited value. Spaces, inner padding and text that decodes to nothing are left
 * to protobuf-es.
 */
function writeBase64(w: WireWriter, s: string): void {
  let len = s.length;
  while (len > 0 && s.charCodeAt(len - 1) === 0x3d) len--; // trailing padding
  if (s.length - len > 2) throw BAIL;
  w.fork();
  w.ensure(len);
  const buf = w.buf;
  let pos = w.pos;
  let group = 0;
  let prev = 0;
  for (let i = 0; i < len; i++) {
    const c = s.charCodeAt(i);
    const b = c < 128 ? BASE64[c] : -1;
    if (b < 0) throw BAIL;
    switch (group) {
      case 0:
        group = 1;
        break;
      case 1:
        buf[pos++] = (prev << 2) | ((b & 48) >> 4);
        group = 2;
        break;
      case 2:
        buf[pos++] = ((prev & 15) << 4) | ((b & 60) >> 2);
        group = 3;
        break;
      case 3:
        buf[pos++] = ((prev & 3) << 6) | b;
        group = 0;
        break;
    }
    prev = b;
  }
  if (group === 1 || (pos === w.pos && s.length > 0)) throw BAIL;
  w.pos = pos;
  w.join();
}
