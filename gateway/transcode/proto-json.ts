/**
 * The canonical proto3 JSON of a message (https://protobuf.dev/programming-guides/json/):
 * @bufbuild/protobuf's toJson, with the two points where it differs from protojson (Go, which
 * grpc-gateway uses) and Envoy put right:
 *
 * - float32 values print as the shortest decimal that reads back to the same float32
 *   (`0.1`), not as the widened double (`0.10000000149011612`): see float32Text;
 * - with emitUnpopulated, unset singular message fields (outside a oneof) print as `null`,
 *   as protojson's EmitUnpopulated does; alwaysEmitImplicit covers scalars, lists and maps only.
 *
 * The direct codec (codec/binary-to-json) writes the same text; its differential tests use
 * this as the reference. Only the canonical path (well-known types, unusual wire data) runs it.
 */
import { float32Text } from './codec';
import { ScalarType, toJson, type DescField, type DescMessage, type JsonObject, type JsonValue, type Message, type Registry } from '@bufbuild/protobuf';

/** The options of toJson the gateway uses. */
export interface ProtoJsonOptions {
  readonly alwaysEmitImplicit: boolean;
  readonly enumAsInteger: boolean;
  readonly useProtoFieldName: boolean;
  readonly registry: Registry;
}

/** toJson of `message`, with float32 text and unset message fields as protojson writes them. */
export function protoJson(desc: DescMessage, message: Message, options: ProtoJsonOptions): JsonValue {
  const json = toJson(desc, message, options);
  return needsFix(desc, options.alwaysEmitImplicit) || desc.typeName === WRAPPED_FLOAT || desc.typeName === 'google.protobuf.Any'
    ? fixValue(desc, json, options)
    : json;
}

const WRAPPED_FLOAT = 'google.protobuf.FloatValue';
const fixCache = [new WeakMap<DescMessage, boolean>(), new WeakMap<DescMessage, boolean>()];

/** True when JSON of `desc` can hold a float32 (or, with emitUnpopulated, a message field). */
function needsFix(desc: DescMessage, emitUnpopulated: boolean): boolean {
  const cache = fixCache[emitUnpopulated ? 1 : 0];
  const known = cache.get(desc);
  if (known !== undefined) return known;
  cache.set(desc, false); // recursion guard: a cycle adds nothing by itself
  let needs = false;
  for (const f of desc.fields) {
    if (isFloat(f)) needs = true;
    const m = messageOf(f);
    if (m === undefined) continue;
    if (m.typeName === WRAPPED_FLOAT || m.typeName === 'google.protobuf.Any') needs = true;
    else if (emitUnpopulated && f.fieldKind === 'message' && f.oneof === undefined) needs = true;
    else if (!m.typeName.startsWith('google.protobuf.') && needsFix(m, emitUnpopulated)) needs = true;
  }
  cache.set(desc, needs);
  return needs;
}

function fixMessage(desc: DescMessage, json: JsonValue, options: ProtoJsonOptions): JsonValue {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) return json;
  if (desc.typeName === WRAPPED_FLOAT) return json;
  const out: JsonObject = {};
  for (const f of [...desc.fields].sort((a, b) => a.number - b.number)) {
    const key = options.useProtoFieldName ? f.name : f.jsonName;
    const value = json[key];
    if (value === undefined) {
      if (options.alwaysEmitImplicit && f.fieldKind === 'message' && f.oneof === undefined) out[key] = null;
      continue;
    }
    out[key] = fixField(f, value, options);
  }
  // Keys toJson wrote that no field claims (an Any's "@type", "value") stay as they were.
  for (const key of Object.keys(json)) if (!(key in out)) out[key] = json[key];
  return out;
}

function fixField(f: DescField, value: JsonValue, options: ProtoJsonOptions): JsonValue {
  if (isFloat(f)) return fixFloat(f, value);
  const m = messageOf(f);
  if (m === undefined) return value;
  const one = (v: JsonValue): JsonValue => fixValue(m, v, options);
  if (f.fieldKind === 'list' && Array.isArray(value)) return value.map(one);
  if (f.fieldKind === 'map' && value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(value)) out[k] = one(v);
    return out;
  }
  return one(value);
}

/** One message value of type `m`: a FloatValue is its float, an Any is fixed by its packed type. */
function fixValue(m: DescMessage, value: JsonValue, options: ProtoJsonOptions): JsonValue {
  if (m.typeName === WRAPPED_FLOAT) return typeof value === 'number' ? float32Text(value) : value;
  if (m.typeName === 'google.protobuf.Any') return fixAny(value, options);
  if (m.typeName.startsWith('google.protobuf.')) return value;
  return fixMessage(m, value, options);
}

function fixAny(value: JsonValue, options: ProtoJsonOptions): JsonValue {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const typeUrl = value['@type'];
  if (typeof typeUrl !== 'string') return value;
  const packed = options.registry.getMessage(typeUrl.slice(typeUrl.lastIndexOf('/') + 1));
  if (packed === undefined) return value;
  if (packed.typeName === WRAPPED_FLOAT) return typeof value.value === 'number' ? { ...value, value: float32Text(value.value) } : value;
  if (packed.typeName.startsWith('google.protobuf.')) return value;
  const { '@type': type, ...fields } = value;
  return { '@type': type, ...(fixMessage(packed, fields, options) as JsonObject) };
}

function fixFloat(f: DescField, value: JsonValue): JsonValue {
  if (typeof value === 'number') return float32Text(value);
  if (Array.isArray(value)) return value.map((v) => (typeof v === 'number' ? float32Text(v) : v));
  if (f.fieldKind === 'map' && value !== null && typeof value === 'object') {
    const out: JsonObject = {};
    for (const [k, v] of Object.entries(value)) out[k] = typeof v === 'number' ? float32Text(v) : v;
    return out;
  }
  return value;
}

function isFloat(f: DescField): boolean {
  return f.scalar === ScalarType.FLOAT;
}

function messageOf(f: DescField): DescMessage | undefined {
  return f.message;
}
