/**
 * The hand-written JSON ↔ EchoMessage mapping of the reference proxy: what a team writes
 * when its ts-proto code has no JSON methods (gen/ uses outputJsonMethods=false). It covers
 * the fields the bench sends, following the proto3 JSON mapping
 * (https://protobuf.dev/programming-guides/json/): 64-bit integers as strings, enums by
 * name, bytes as base64, default values omitted, lowerCamelCase names.
 */
import { EchoMessage, Kind, type Nested } from '../gen/acme/echo/v1/echo';

/** A request the proxy cannot map: answered 400. */
export class BadJson extends Error {}

const KIND_NAMES = ['KIND_UNSPECIFIED', 'KIND_ONE', 'KIND_TWO'] as const;

/** An enum from its JSON name or number. */
export function kindFromJson(v: unknown): Kind {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  const i = KIND_NAMES.indexOf(v as (typeof KIND_NAMES)[number]);
  if (i < 0) throw new BadJson(`bad kind ${String(v)}`);
  return i;
}

/** An int64 from a JSON string or number. */
export function int64FromJson(v: unknown): bigint {
  if (typeof v !== 'string' && typeof v !== 'number') throw new BadJson('bad int64');
  try {
    return BigInt(v);
  } catch {
    throw new BadJson(`bad int64 ${String(v)}`);
  }
}

const str = (v: unknown): string => {
  if (typeof v !== 'string') throw new BadJson('expected a string');
  return v;
};
const strings = (v: unknown): string[] => {
  if (!Array.isArray(v)) throw new BadJson('expected an array');
  return v.map(str);
};

function nestedFromJson(o: Record<string, unknown>): Nested {
  const inner = o.inner as Record<string, unknown> | undefined;
  return {
    value: o.value === undefined ? '' : str(o.value),
    inner: inner ? { value: inner.value === undefined ? '' : str(inner.value), count: inner.count === undefined ? 0n : int64FromJson(inner.count) } : undefined,
    items: o.items === undefined ? [] : strings(o.items),
  };
}

/** An EchoMessage from a parsed JSON object (the fields the bench uses). */
export function echoFromJson(o: Record<string, unknown>): EchoMessage {
  if (o === null || typeof o !== 'object') throw new BadJson('expected an object');
  const m = EchoMessage.create();
  if (o.id !== undefined) m.id = int64FromJson(o.id);
  if (o.name !== undefined) m.name = str(o.name);
  if (o.big !== undefined) m.big = int64FromJson(o.big);
  if (o.small !== undefined) m.small = Number(o.small) | 0;
  if (o.flag !== undefined) m.flag = o.flag === true;
  if (o.ratio !== undefined) m.ratio = Number(o.ratio);
  if (o.data !== undefined) m.data = Buffer.from(str(o.data), 'base64');
  if (o.kind !== undefined) m.kind = kindFromJson(o.kind);
  if (o.tags !== undefined) m.tags = strings(o.tags);
  if (o.numbers !== undefined) {
    if (!Array.isArray(o.numbers)) throw new BadJson('numbers: expected an array');
    m.numbers = o.numbers.map(int64FromJson);
  }
  if (o.nested !== undefined) m.nested = nestedFromJson(o.nested as Record<string, unknown>);
  return m;
}

function nestedToJson(n: Nested): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (n.value !== '') out.value = n.value;
  if (n.inner) {
    const inner: Record<string, unknown> = {};
    if (n.inner.value !== '') inner.value = n.inner.value;
    if (n.inner.count !== 0n) inner.count = n.inner.count.toString();
    out.inner = inner;
  }
  if (n.items.length > 0) out.items = n.items;
  return out;
}

/** Proto3 JSON of an EchoMessage (the fields the bench uses), in field-number order. */
export function echoToJson(m: EchoMessage): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (m.id !== 0n) out.id = m.id.toString();
  if (m.name !== '') out.name = m.name;
  if (m.big !== 0n) out.big = m.big.toString();
  if (m.small !== 0) out.small = m.small;
  if (m.flag) out.flag = true;
  if (m.ratio !== 0) out.ratio = m.ratio;
  if (m.data.length > 0) out.data = m.data.toString('base64');
  if (m.kind !== 0) out.kind = KIND_NAMES[m.kind] ?? m.kind;
  if (m.tags.length > 0) out.tags = m.tags;
  if (m.numbers.length > 0) out.numbers = m.numbers.map((n) => n.toString());
  if (m.nested) out.nested = nestedToJson(m.nested);
  return out;
}
