/**
 * JSON.parse that keeps integer literals beyond 2^53 exact where a 64-bit integer field
 * reads them. JavaScript numbers are doubles, so JSON.parse turns `9007199254740993` into
 * `…992` and the wrong value would go upstream; grpc-gateway (protojson) reads such a number
 * from its text. Node 20 has no JSON.parse source access, so:
 *
 * 1. a cheap test on the text (a run of 16+ digits right after `:`, `[`, `,`, `-` or a
 *    blank) says whether the body may hold such a literal at all; almost none do, and they
 *    cost nothing more than that test;
 * 2. if it may, a scan that knows JSON strings from numbers quotes every integer literal of
 *    16+ digits as a marked string, and JSON.parse reads the result;
 * 3. a walk along the message descriptor turns each marked string back: into its digits (a
 *    string, which proto3 JSON reads exactly) where a 64-bit integer field (or Int64Value,
 *    UInt64Value) reads it, into the number JSON.parse would have given everywhere else
 *    (double fields, Struct, unknown fields...).
 *
 * A value out of range then fails in the proto3 JSON reader as it would as a string: 400
 * naming the field.
 */
import { ScalarType, type DescField, type DescMessage, type Registry } from '@bufbuild/protobuf';
import { int64TextProblem } from './codec';
import { invalidField } from './errors';
import { findField } from './field-path';

// U+0000 cannot appear raw in JSON text, so a parsed string starting with it came from step 2
// (unless the text spelled it as an escape, which makes us skip the rewrite).
const MARK = '\u0000#';
/** MARK as JSON text (a raw control character is not valid inside a JSON string). */
const MARK_ESCAPED = '\\u0000#';
const MAY_HOLD_BIG = /(?:^|[-:,[\s])\d{16}/;
const INT64_TYPES = new Set<number>([ScalarType.INT64, ScalarType.UINT64, ScalarType.SINT64, ScalarType.FIXED64, ScalarType.SFIXED64]);
const WRAPPED_INT64 = new Set(['google.protobuf.Int64Value', 'google.protobuf.UInt64Value']);

/**
 * True when `text` may hold an integer literal that JSON.parse would not read exactly: what
 * MAY_HOLD_BIG.test(text) says, without running the regex over text that has no run of 16
 * digits at all. Any 16 consecutive positions hold exactly one multiple of 16, so only those
 * positions are looked at, and a digit there is measured both ways; only a run of 16 or more
 * goes to the regex. On bench case 3's 64 KiB body: 176 → 78 µs of CPU (the regex tries its
 * alternatives at every position).
 */
export function mayHoldBigIntegers(text: string): boolean {
  const n = text.length;
  for (let i = 0; i < n; i += 16) {
    if (!isDigit(text.charCodeAt(i))) continue;
    let from = i;
    while (from > 0 && isDigit(text.charCodeAt(from - 1))) from--;
    let to = i + 1;
    while (to < n && isDigit(text.charCodeAt(to))) to++;
    if (to - from >= 16) return MAY_HOLD_BIG.test(text);
    i = to & ~15; // the next multiple of 16 past the run, after `+= 16`
  }
  return false;
}

/**
 * JSON.parse of `text` as JSON of `desc` (or, with `field`, as the value of that field of
 * `desc`), integer literals of 64-bit fields exact. Throws JSON.parse's own SyntaxError.
 */
export function parseExactJson(text: string, desc: DescMessage, registry: Registry, field?: DescField, strict = false): unknown {
  const marked = mayHoldBigIntegers(text) ? markBigIntegers(text) : undefined;
  if (marked === undefined && !strict) return JSON.parse(text);
  let parsed: unknown;
  try {
    parsed = JSON.parse(marked ?? text);
  } catch {
    return JSON.parse(text); // throws the error the client's own text gives
  }
  const walker = new Restorer(registry, strict);
  try {
    return field === undefined ? walker.message(desc, parsed) : walker.field(field, parsed);
  } catch (err) {
    if (!(err instanceof Int64TextError)) throw err;
    if (field !== undefined) err.path.unshift(field.jsonName);
    throw invalidField(err.path.join('.'), err.problem);
  }
}

/**
 * True when JSON of `desc` may hold a 64-bit integer: a field of such a type anywhere below,
 * an Int64Value/UInt64Value, or an Any (which may pack anything). Computed once per route.
 */
export function holds64BitIntegers(desc: DescMessage, seen = new Set<string>()): boolean {
  if (WRAPPED_INT64.has(desc.typeName) || desc.typeName === 'google.protobuf.Any') return true;
  if (seen.has(desc.typeName)) return false;
  seen.add(desc.typeName);
  for (const f of desc.fields) {
    if (f.scalar !== undefined && INT64_TYPES.has(f.scalar)) return true;
    if (f.fieldKind === 'map' && INT64_TYPES.has(f.mapKey)) return true;
    if (f.message && holds64BitIntegers(f.message, seen)) return true;
  }
  return false;
}

/** A 64-bit integer string that breaks codec/int64-text.ts's rule; `path` is filled in on the way up. */
class Int64TextError {
  readonly path: string[] = [];
  constructor(readonly problem: string) {}
}

/** The strict check of one 64-bit integer string (a restored literal or a JSON string). */
function strictInt64(text: string, signed: boolean): string {
  const problem = int64TextProblem(text, signed);
  if (problem) throw new Int64TextError(problem);
  return text;
}

/** The text with each integer literal of 16+ digits quoted and marked; undefined when there is none (or a `\u0000` escape). */
function markBigIntegers(text: string): string | undefined {
  if (text.includes('\\u0000')) return undefined;
  let out = '';
  let from = 0;
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      for (i++; i < n; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) i++;
        else if (d === 0x22) break;
      }
      i++;
      continue;
    }
    if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) {
      const start = i;
      i++;
      while (i < n && isDigit(text.charCodeAt(i))) i++;
      const digitsEnd = i;
      const next = text.charCodeAt(i);
      if (next === 0x2e /* . */ || next === 0x65 /* e */ || next === 0x45 /* E */) {
        while (i < n && isNumberChar(text.charCodeAt(i))) i++;
        continue; // not an integer literal: read as a double, as before
      }
      const digits = digitsEnd - start - (c === 0x2d ? 1 : 0);
      if (digits >= 16) {
        out += `${text.slice(from, start)}"${MARK_ESCAPED}${text.slice(start, digitsEnd)}"`;
        from = digitsEnd;
      }
      continue;
    }
    i++;
  }
  return from === 0 ? undefined : out + text.slice(from);
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isNumberChar(c: number): boolean {
  return isDigit(c) || c === 0x2e || c === 0x65 || c === 0x45 || c === 0x2b || c === 0x2d;
}

function isMarked(v: unknown): v is string {
  return typeof v === 'string' && v.startsWith(MARK);
}

/** Turns marked strings back, by what reads them. */
class Restorer {
  /** `strict`: every 64-bit integer given as a string (or restored from a literal) must follow int64-text.ts's rule. */
  constructor(
    private readonly registry: Registry,
    private readonly strict = false,
  ) {}

  message(desc: DescMessage, v: unknown): unknown {
    if (desc.typeName.startsWith('google.protobuf.')) return this.wellKnown(desc, v);
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return this.plain(v);
    const o = v as Record<string, unknown>;
    for (const key of Object.keys(o)) {
      const f = findField(desc, key);
      try {
        o[key] = f === undefined ? this.plain(o[key]) : this.field(f, o[key]);
      } catch (err) {
        if (err instanceof Int64TextError) err.path.unshift(key);
        throw err;
      }
    }
    return o;
  }

  field(f: DescField, v: unknown): unknown {
    const int64 = f.scalar !== undefined && INT64_TYPES.has(f.scalar);
    const signed = f.scalar !== ScalarType.UINT64 && f.scalar !== ScalarType.FIXED64;
    const one = (x: unknown): unknown => {
      if (int64 && isMarked(x)) return this.strict ? strictInt64(x.slice(MARK.length), signed) : x.slice(MARK.length);
      if (int64 && this.strict && typeof x === 'string') return strictInt64(x, signed);
      return f.message ? this.message(f.message, x) : this.plain(x);
    };
    if (f.fieldKind === 'list' && Array.isArray(v)) return v.map(one);
    if (f.fieldKind === 'map' && v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      const keySigned = INT64_TYPES.has(f.mapKey) ? f.mapKey !== ScalarType.UINT64 && f.mapKey !== ScalarType.FIXED64 : undefined;
      for (const key of Object.keys(o)) {
        if (this.strict && keySigned !== undefined) strictInt64(key, keySigned);
        o[key] = one(o[key]);
      }
      return o;
    }
    return one(v);
  }

  private wellKnown(desc: DescMessage, v: unknown): unknown {
    if (WRAPPED_INT64.has(desc.typeName) && (isMarked(v) || (this.strict && typeof v === 'string'))) {
      const digits = isMarked(v) ? v.slice(MARK.length) : v;
      return this.strict ? strictInt64(digits, desc.typeName === 'google.protobuf.Int64Value') : digits;
    }
    if (desc.typeName === 'google.protobuf.Any' && v !== null && typeof v === 'object' && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      const url = o['@type'];
      const packed = typeof url === 'string' ? this.registry.getMessage(url.slice(url.lastIndexOf('/') + 1)) : undefined;
      if (packed === undefined) return this.plain(o);
      if (packed.typeName.startsWith('google.protobuf.')) {
        if ('value' in o) o.value = this.wellKnown(packed, o.value);
        return o;
      }
      for (const key of Object.keys(o)) if (key !== '@type') o[key] = this.field1(packed, key, o[key]);
      return o;
    }
    return this.plain(v);
  }

  private field1(desc: DescMessage, key: string, v: unknown): unknown {
    const f = findField(desc, key);
    return f === undefined ? this.plain(v) : this.field(f, v);
  }

  /** Everything else reads a number: the one JSON.parse would have given. */
  plain(v: unknown): unknown {
    if (isMarked(v)) return Number(v.slice(MARK.length));
    if (v === null || typeof v !== 'object') return v;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) v[i] = this.plain(v[i]);
      return v;
    }
    const o = v as Record<string, unknown>;
    for (const key of Object.keys(o)) o[key] = this.plain(o[key]);
    return o;
  }
}
