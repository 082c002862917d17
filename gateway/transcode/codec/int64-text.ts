/**
 * The one rule for 64-bit integers written as text, wherever a request gives them: a path
 * variable, a query parameter, or a JSON string in the body. The proto3 JSON mapping
 * (https://protobuf.dev/programming-guides/json/) writes int64/uint64 as a decimal string; we
 * accept exactly that form: decimal digits, a leading `-` for signed types only, no leading
 * zeros, no `-0`, in range. `0x10`, `+1`, `" 1"`, `007`, `1e3` are refused rather than read by
 * a lenient parser (protobuf-es reads `0x10` as 16 and `" 12"` as 12; Go's protojson refuses them).
 */

const SIGNED_DECIMAL = /^-?(?:0|[1-9]\d{0,19})$/;
const UNSIGNED_DECIMAL = /^(?:0|[1-9]\d{0,19})$/;
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const UINT64_MAX = (1n << 64n) - 1n;

/** True when `text` has the shape of strict decimal int64 (`signed`) or uint64 text; the range is not checked. */
export function isDecimalInt64Shape(text: string, signed: boolean): boolean {
  return signed ? SIGNED_DECIMAL.test(text) && text !== '-0' : UNSIGNED_DECIMAL.test(text);
}

/** What is wrong with `text` as strict int64 (`signed`) or uint64 text, or undefined when nothing is. */
export function int64TextProblem(text: string, signed: boolean): string | undefined {
  const type = signed ? 'int64' : 'uint64';
  if (!isDecimalInt64Shape(text, signed)) return `expected a decimal ${type}, got "${text}"`;
  const n = BigInt(text);
  if (signed ? n < INT64_MIN || n > INT64_MAX : n > UINT64_MAX) return `"${text}" is out of the ${type} range`;
  return undefined;
}
