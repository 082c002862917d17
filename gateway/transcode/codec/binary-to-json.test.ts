/**
 * Differential tests of binary-to-json against @bufbuild/protobuf, the canonical path, on
 * random instances of every message type of our descriptor set (gen/api.binpb, as the
 * gateway loads it): bytes from protobuf-es's toBinary, and re-encodings of them (packed
 * lists unpacked, unknown fields inserted, fields shuffled or repeated), must render to
 * exactly JSON.stringify(protoJson(fromBinary(bytes))) (protobuf-es's toJson with protojson's
 * float32 text and nulls for unset messages) under every option combination, or give
 * up (undefined) — which they may only do for a well-known type or a reordering.
 */
import { fromBinary, toBinary, type DescMessage } from '@bufbuild/protobuf';
import { BinaryReader, BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { echoRegistry } from '../../test-support/echo-backend';
import { BinaryToJson } from './binary-to-json';
import { protoJson } from '../proto-json';
import { hasWellKnownType, randomMessage, seededRandom } from '../../test-support/codec-random';

const registry = echoRegistry();
const TYPES = [...registry].filter((t): t is DescMessage => t.kind === 'message' && t.typeName.startsWith('acme.')).map((t) => t.typeName);
const OPTION_SETS = [0, 1, 2, 3, 4, 5, 6, 7].map((bits) => ({
  emitUnpopulated: (bits & 1) !== 0,
  enumsAsNumbers: (bits & 2) !== 0,
  useProtoNames: (bits & 4) !== 0,
}));
const CASES_PER_TYPE = 150;

function canonicalJson(desc: DescMessage, bytes: Uint8Array, o: (typeof OPTION_SETS)[number]): string {
  const message = fromBinary(desc, bytes);
  return JSON.stringify(
    protoJson(desc, message, { alwaysEmitImplicit: o.emitUnpopulated, enumAsInteger: o.enumsAsNumbers, useProtoFieldName: o.useProtoNames, registry }),
  );
}

describe.each(TYPES)('%s', (typeName) => {
  const desc = registry.getMessage(typeName)!;

  it('A: binary → JSON text equals protobuf-es under every option set', () => {
    const rnd = seededRandom(typeName.length * 7919);
    const writers = OPTION_SETS.map((o) => new BinaryToJson(desc, o));
    let fast = 0;
    for (let i = 0; i < CASES_PER_TYPE; i++) {
      const message = randomMessage(desc, rnd, { wkt: 0.04, maxDepth: 3 });
      const bytes = toBinary(desc, message);
      const wkt = hasWellKnownType(desc, message, registry);
      OPTION_SETS.forEach((o, k) => {
        const text = writers[k].render(bytes);
        if (text === undefined) {
          expect({ i, wkt, options: o }).toEqual({ i, wkt: true, options: o });
          return;
        }
        fast++;
        expect(text).toBe(canonicalJson(desc, bytes, o));
      });
    }
    expect(fast).toBeGreaterThan(CASES_PER_TYPE * OPTION_SETS.length * 0.5);
  });

  it('A: re-encoded wire data (unpacked, unknown fields, reordered, repeated) renders the same or gives up', () => {
    const rnd = seededRandom(typeName.length * 104729);
    const o = OPTION_SETS[Math.floor(rnd() * OPTION_SETS.length)];
    const writer = new BinaryToJson(desc, o);
    for (let i = 0; i < CASES_PER_TYPE; i++) {
      const message = randomMessage(desc, rnd, { wkt: 0, maxDepth: 2 });
      const records = splitRecords(toBinary(desc, message));
      const expected = canonicalJson(desc, join(records), o);
      // Lossless variants must still take the fast path.
      expect(writer.render(join(unpack(desc, records)))).toBe(expected);
      expect(writer.render(join(withUnknown(records, rnd)))).toBe(expected);
      // Variants that change protobuf-es's answer (last one wins, merges) may give up, never differ.
      for (const variant of [shuffle(records, rnd), repeatOne(records, rnd)]) {
        const bytes = join(variant);
        const text = writer.render(bytes);
        if (text !== undefined) expect(text).toBe(canonicalJson(desc, bytes, o));
      }
    }
  });
});

interface WireRecord {
  readonly no: number;
  readonly wireType: WireType;
  readonly data: Uint8Array;
}

function splitRecords(bytes: Uint8Array): WireRecord[] {
  const reader = new BinaryReader(bytes);
  const records: WireRecord[] = [];
  while (reader.pos < reader.len) {
    const [no, wireType] = reader.tag();
    records.push({ no, wireType, data: reader.skip(wireType, no) });
  }
  return records;
}

function join(records: readonly WireRecord[]): Uint8Array {
  const writer = new BinaryWriter();
  for (const r of records) writer.tag(r.no, r.wireType).raw(r.data);
  return writer.finish();
}

/** Packed records of top-level packed fields, rewritten as one record per value. */
function unpack(desc: DescMessage, records: readonly WireRecord[]): WireRecord[] {
  const out: WireRecord[] = [];
  for (const r of records) {
    const field = desc.fields.find((f) => f.number === r.no);
    const packed = field?.fieldKind === 'list' && field.listKind !== 'message' && field.scalar !== 9 && field.scalar !== 12;
    if (!packed || r.wireType !== WireType.LengthDelimited) {
      out.push(r);
      continue;
    }
    const reader = new BinaryReader(r.data);
    const end = reader.uint32() + reader.pos;
    const wireType = field.listKind === 'enum' ? WireType.Varint : unpackedWireType(field.scalar!);
    while (reader.pos < end) out.push({ no: r.no, wireType, data: reader.skip(wireType, r.no) });
  }
  return out;
}

function unpackedWireType(scalar: number): WireType {
  if (scalar === 1 || scalar === 6 || scalar === 16) return WireType.Bit64;
  if (scalar === 2 || scalar === 7 || scalar === 15) return WireType.Bit32;
  return WireType.Varint;
}

function withUnknown(records: readonly WireRecord[], rnd: () => number): WireRecord[] {
  const out = [...records];
  const unknown = [
    { no: 9999, wireType: WireType.Varint, data: Uint8Array.of(0x96, 0x01) },
    { no: 1000, wireType: WireType.LengthDelimited, data: Uint8Array.of(3, 1, 2, 3) },
    { no: 2000, wireType: WireType.Bit32, data: Uint8Array.of(1, 2, 3, 4) },
    { no: 3000, wireType: WireType.Bit64, data: new Uint8Array(8) },
  ];
  for (const u of unknown) out.splice(Math.floor(rnd() * (out.length + 1)), 0, u);
  return out;
}

function shuffle(records: readonly WireRecord[], rnd: () => number): WireRecord[] {
  const out = [...records];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

function repeatOne(records: readonly WireRecord[], rnd: () => number): WireRecord[] {
  if (records.length === 0) return [];
  const out = [...records];
  out.push(records[Math.floor(rnd() * records.length)]);
  return out;
}
