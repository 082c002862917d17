/**
 * Differential tests of json-to-binary against @bufbuild/protobuf, the canonical path, on
 * random instances of every message type of our descriptor set (gen/api.binpb, as the
 * gateway loads it): JSON from protobuf-es's toJson (JSON or proto names, zeros spelled out
 * or not, enums by name or number) and respelled as protobuf-es also accepts it (numbers as
 * text, int64 as numbers, URL-safe base64, nulls) must encode to exactly
 * toBinary(fromJson(json)), or give up only when a well-known type is present.
 */
import { isAscii } from 'node:buffer';
import { fromJson, toBinary, toJson, type DescMessage, type JsonValue } from '@bufbuild/protobuf';
import { echoRegistry } from '../../test-support/echo-backend';
import { hasWellKnownType, randomMessage, seededRandom } from '../../test-support/codec-random';
import { JsonToBinary } from './json-to-binary';

const registry = echoRegistry();
const TYPES = [...registry].filter((t): t is DescMessage => t.kind === 'message' && t.typeName.startsWith('acme.')).map((t) => t.typeName);
const CASES_PER_TYPE = 150;

describe.each(TYPES)('%s', (typeName) => {
  const desc = registry.getMessage(typeName)!;

  it('B: JSON → binary equals protobuf-es for every spelling protobuf-es writes or accepts', () => {
    const rnd = seededRandom(typeName.length * 31337);
    const strict = new JsonToBinary(desc, false);
    let fast = 0;
    for (let i = 0; i < CASES_PER_TYPE; i++) {
      const message = randomMessage(desc, rnd, { wkt: 0.04, maxDepth: 3 });
      const json = toJson(desc, message, {
        registry,
        useProtoFieldName: rnd() < 0.5,
        alwaysEmitImplicit: rnd() < 0.3,
        enumAsInteger: rnd() < 0.3,
      });
      const respelled = JSON.parse(JSON.stringify(respell(desc, json, rnd))) as Record<string, unknown>;
      const expected = toBinary(desc, fromJson(desc, respelled as JsonValue, { registry }));
      const bytes = strict.encode(respelled, undefined);
      // The same from its text, with the duplicate-key count and, for ASCII text, the ASCII copy.
      const text = JSON.stringify(respelled);
      const source = { text, wrapped: 0, ascii: isAscii(Buffer.from(text)) && !text.includes('\\u') };
      const fromText = strict.encode(JSON.parse(text) as Record<string, unknown>, undefined, source);
      expect(fromText && Buffer.from(fromText).toString('hex')).toBe(bytes && Buffer.from(bytes).toString('hex'));
      if (bytes === undefined) {
        expect({ i, wkt: hasWellKnownType(desc, message, registry) }).toEqual({ i, wkt: true });
        continue;
      }
      fast++;
      expect(Buffer.from(bytes).toString('hex')).toBe(Buffer.from(expected).toString('hex'));
    }
    expect(fast).toBeGreaterThan(CASES_PER_TYPE * 0.5);
  });
});

/** Rewrites a toJson value into other spellings protobuf-es's fromJson accepts. */
function respell(desc: DescMessage, json: JsonValue, rnd: () => number): JsonValue {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return json;
  const out: Record<string, JsonValue> = {};
  for (const [key, value] of Object.entries(json)) {
    const field = desc.fields.find((f) => f.jsonName === key || f.name === key)!;
    const one = (v: JsonValue): JsonValue => {
      if (field.message) return field.message.typeName.startsWith('google.protobuf.') ? v : respell(field.message, v, rnd);
      if (rnd() < 0.5) return v;
      if (field.enum) return typeof v === 'string' ? (field.enum.values.find((e) => e.name === v)?.number ?? v) : v;
      switch (field.scalar) {
        case 1: // double, float: numbers as text
        case 2:
        case 5: // 32-bit integers as text
        case 7:
        case 13:
        case 15:
        case 17:
          return typeof v === 'number' ? String(v) : v;
        case 3: // 64-bit integers as JSON numbers while exact
        case 4:
        case 6:
        case 16:
        case 18:
          return typeof v === 'string' && Number.isSafeInteger(Number(v)) ? Number(v) : v;
        case 12: // bytes as unpadded URL-safe base64
          return typeof v === 'string' ? v.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '') : v;
        default:
          return v;
      }
    };
    const name = rnd() < 0.5 ? field.name : field.jsonName;
    if (field.fieldKind === 'list') out[name] = (value as JsonValue[]).map(one);
    else if (field.fieldKind === 'map') out[name] = Object.fromEntries(Object.entries(value as object).map(([k, v]) => [k, one(v as JsonValue)]));
    else out[name] = one(value);
  }
  // Absent fields given as null mean the same.
  for (const field of desc.fields) {
    if (!(field.jsonName in out) && !(field.name in out) && !field.oneof && rnd() < 0.1 && !field.message?.typeName.startsWith('google.protobuf.'))
      out[field.jsonName] = null;
  }
  return out;
}

describe('64-bit integers as JSON strings', () => {
  const desc = registry.getMessage('acme.echo.v1.EchoMessage')!;
  const encoder = new JsonToBinary(desc, false);
  const SHAPE = { signed: /^-?(?:0|[1-9]\d{0,19})$/, unsigned: /^(?:0|[1-9]\d{0,19})$/ };
  const TEXTS = [
    '0',
    '-0',
    '7',
    '-7',
    '007',
    '-007',
    '00',
    '',
    '-',
    '+1',
    ' 1',
    '1 ',
    '1e3',
    '0x10',
    '1.0',
    '١',
    '4294967295',
    '4294967296',
    '-4294967296',
    '-4294967297',
    '9007199254740991',
    '-9007199254740991',
    '9007199254740993',
    '-9007199254740993',
    '999999999999999',
    '-999999999999999',
    '1000000000000000',
    '9223372036854775807',
    '-9223372036854775808',
    '9223372036854775808',
    '18446744073709551615',
    '18446744073709551616',
    '99999999999999999999',
    '100000000000000000000',
    '-99999999999999999999',
  ];
  // `id` is an int64, `big` a uint64: the direct path takes exactly int64-text.ts's shape, in
  // range, and gives protobuf-es's bytes; everything else is left to the canonical path.
  it.each(TEXTS.flatMap((text) => [['id', text] as const, ['big', text] as const]))('%s: %j', (field, text) => {
    const signed = field === 'id';
    const bytes = encoder.encode({ [field]: text }, undefined);
    if (!(signed ? SHAPE.signed.test(text) && text !== '-0' : SHAPE.unsigned.test(text))) return expect(bytes).toBeUndefined();
    let expected: Uint8Array | undefined;
    try {
      expected = toBinary(desc, fromJson(desc, { [field]: text }, { registry }));
    } catch {
      expected = undefined; // out of range
    }
    expect(bytes && Buffer.from(bytes).toString('hex')).toBe(expected && Buffer.from(expected).toString('hex'));
  });
});
