/**
 * Random protobuf-es messages for the direct codecs' differential tests (test support,
 * kept beside them): every field kind of a descriptor, with the edge values the proto3 JSON
 * mapping is easy to get wrong — extreme and negative 64-bit integers, -0, NaN and the
 * infinities, strings that need escaping or are not ASCII, empty bytes, unknown enum
 * numbers, integer- and bool-keyed maps, oneofs, explicit-presence zeros. Seeded, so a
 * failure replays.
 */
import { create, ScalarType, toJson, type DescField, type DescMessage, type Message, type Registry } from '@bufbuild/protobuf';

/** A small deterministic PRNG (mulberry32). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const INT32 = [0, 1, -1, 127, 128, 300, -300, 2147483647, -2147483648];
const UINT32 = [0, 1, 127, 128, 2147483648, 4294967295];
const INT64 = [0n, 1n, -1n, 4294967296n, -4294967296n, 2n ** 53n, -(2n ** 53n), 9007199254740993n, -9007199254740993n, 2n ** 63n - 1n, -(2n ** 63n)];
const UINT64 = [0n, 1n, 4294967295n, 4294967296n, 9007199254740993n, 2n ** 64n - 1n];
const DOUBLES = [0, -0, 1.5, -2.25, 0.1, 1e21, 1e-7, 5e-324, 1.7976931348623157e308, NaN, Infinity, -Infinity];
const FLOATS = [0, -0, 1.5, 0.1, 3.4028234663852886e38, 1e-45, NaN, Infinity, -Infinity].map(Math.fround);
const STRINGS = [
  '',
  'a',
  'hello world',
  '日本語',
  '😀 emoji',
  '"quoted"',
  'back\\slash',
  '\n\t\r\b\f',
  '\u0000\u001f\u007f',
  '\u2028\u2029',
  'é</script>',
  '\ufeffbom',
  'x'.repeat(200),
];
const STRING_KEYS = ['', 'a', '10', '2', '0', '-1', '01', '4294967295', '__proto__', 'key with space', '日本', 'k"\\'];
const ENUM_NUMBERS = [7, -1, 2147483647];

/** Options of the generator. */
export interface RandomOptions {
  /** Probability that a well-known-type field (Timestamp, Struct, wrappers...) is set. */
  readonly wkt: number;
  readonly maxDepth: number;
}

/** A random instance of `desc`. */
export function randomMessage(desc: DescMessage, rnd: () => number, options: RandomOptions, depth = 0): Message {
  const msg = create(desc) as unknown as Record<string, unknown>;
  for (const member of desc.members) {
    if (rnd() < 0.4) continue;
    if (member.kind === 'oneof') {
      const field = member.fields[Math.floor(rnd() * member.fields.length)];
      const value = singular(field, rnd, options, depth);
      if (value !== undefined) msg[member.localName] = { case: field.localName, value };
      continue;
    }
    const field = member;
    if (field.fieldKind === 'list') {
      const n = Math.floor(rnd() * 4);
      const items: unknown[] = [];
      for (let i = 0; i < n; i++) {
        const item = singular(field, rnd, options, depth);
        if (item !== undefined) items.push(item);
      }
      msg[field.localName] = items;
    } else if (field.fieldKind === 'map') {
      const record: Record<string, unknown> = {};
      const n = Math.floor(rnd() * 4);
      for (let i = 0; i < n; i++) {
        const value = singular(field, rnd, options, depth);
        if (value !== undefined) Object.defineProperty(record, mapKey(field.mapKey, rnd), { value, enumerable: true, writable: true, configurable: true });
      }
      msg[field.localName] = record;
    } else {
      const value = singular(field, rnd, options, depth);
      if (value !== undefined) msg[field.localName] = value;
    }
  }
  return msg as unknown as Message;
}

function singular(field: DescField, rnd: () => number, options: RandomOptions, depth: number): unknown {
  if (field.message) {
    if (field.message.typeName.startsWith('google.protobuf.')) return rnd() < options.wkt ? wkt(field, field.message, rnd) : undefined;
    if (depth >= options.maxDepth) return undefined;
    return randomMessage(field.message, rnd, options, depth + 1);
  }
  if (field.enum) {
    if (rnd() < 0.15) return pick(ENUM_NUMBERS, rnd);
    return pick(field.enum.values, rnd).number;
  }
  return scalar(field.scalar!, rnd);
}

function scalar(type: ScalarType, rnd: () => number): unknown {
  const random = rnd() < 0.3;
  switch (type) {
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return random ? Math.floor(rnd() * 2 ** 32) - 2 ** 31 : pick(INT32, rnd);
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return random ? Math.floor(rnd() * 2 ** 32) : pick(UINT32, rnd);
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return random ? BigInt.asIntN(64, BigInt(Math.floor(rnd() * 2 ** 52)) * BigInt(Math.floor(rnd() * 2 ** 20))) : pick(INT64, rnd);
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return random ? BigInt(Math.floor(rnd() * 2 ** 52)) * BigInt(Math.floor(rnd() * 2 ** 12)) : pick(UINT64, rnd);
    case ScalarType.DOUBLE:
      return random ? (rnd() - 0.5) * 10 ** Math.floor(rnd() * 40 - 20) : pick(DOUBLES, rnd);
    case ScalarType.FLOAT:
      return random ? Math.fround((rnd() - 0.5) * 10 ** Math.floor(rnd() * 20 - 10)) : pick(FLOATS, rnd);
    case ScalarType.BOOL:
      return rnd() < 0.5;
    case ScalarType.STRING:
      return random ? randomText(rnd) : pick(STRINGS, rnd);
    case ScalarType.BYTES: {
      const n = rnd() < 0.2 ? 0 : Math.floor(rnd() * (rnd() < 0.1 ? 200 : 8));
      return Uint8Array.from({ length: n }, () => Math.floor(rnd() * 256));
    }
  }
}

function mapKey(type: ScalarType, rnd: () => number): string {
  switch (type) {
    case ScalarType.STRING:
      return rnd() < 0.3 ? randomText(rnd) : pick(STRING_KEYS, rnd);
    case ScalarType.BOOL:
      return String(rnd() < 0.5);
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
    case ScalarType.UINT64:
    case ScalarType.FIXED64: {
      const v = scalar(type, rnd) as bigint;
      return String(v);
    }
    default:
      return String(scalar(type, rnd));
  }
}

function randomText(rnd: () => number): string {
  let s = '';
  const n = Math.floor(rnd() * 12);
  for (let i = 0; i < n; i++) {
    const r = rnd();
    s +=
      r < 0.7
        ? String.fromCharCode(0x20 + Math.floor(rnd() * 95))
        : r < 0.8
          ? String.fromCharCode(Math.floor(rnd() * 0x20))
          : r < 0.95
            ? String.fromCharCode(0xa0 + Math.floor(rnd() * 0x2000))
            : '\u{1f600}';
  }
  return s;
}

/**
 * A valid value of a well-known type, so that protobuf-es can render it, in its local form:
 * Struct fields are JSON objects, singular wrapper fields outside oneofs their scalar.
 */
function wkt(field: DescField, desc: DescMessage, rnd: () => number): unknown {
  const wrapper = desc.fields.length === 1 && desc.fields[0].name === 'value' && desc.fields[0].fieldKind === 'scalar';
  if (wrapper && field.fieldKind === 'message' && !field.oneof) return scalar(desc.fields[0].scalar!, rnd);
  switch (desc.typeName) {
    case 'google.protobuf.Struct':
      return { a: 1, b: [true, null] };
    case 'google.protobuf.Timestamp':
    case 'google.protobuf.Duration':
      return create(desc, { seconds: BigInt(Math.floor(rnd() * 1e9)), nanos: Math.floor(rnd() * 1e9) } as never);
    case 'google.protobuf.FieldMask':
      return create(desc, { paths: ['a_b', 'c'] } as never);
    case 'google.protobuf.Value':
      return create(desc, { kind: { case: 'numberValue', value: 1.5 } } as never);
    case 'google.protobuf.Any':
      return create(desc);
    default:
      return wrapper ? create(desc, { value: scalar(desc.fields[0].scalar!, rnd) } as never) : create(desc);
  }
}

function pick<T>(values: readonly T[], rnd: () => number): T {
  return values[Math.floor(rnd() * values.length)];
}

/** True when a field of a well-known type with its own JSON form is set anywhere in `message`. */
export function hasWellKnownType(desc: DescMessage, message: Message, registry: Registry): boolean {
  const json = toJson(desc, message, { registry }) as Record<string, unknown>;
  return JSON.stringify(json) !== JSON.stringify(stripWkt(desc, json));
}

function stripWkt(desc: DescMessage, json: unknown): unknown {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return json;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(json)) {
    const field = desc.fields.find((f) => f.jsonName === key || f.name === key);
    const type = field?.message;
    if (type?.typeName.startsWith('google.protobuf.') && type.typeName !== 'google.protobuf.Empty') continue;
    if (!type) out[key] = value;
    else if (field.fieldKind === 'list') out[key] = (value as unknown[]).map((v) => stripWkt(type, v));
    else if (field.fieldKind === 'map') out[key] = Object.fromEntries(Object.entries(value as object).map(([k, v]) => [k, stripWkt(type, v)]));
    else out[key] = stripWkt(type, value);
  }
  return out;
}
