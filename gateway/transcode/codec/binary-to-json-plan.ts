/**
 * The compiled form binary-to-json renders from: per message type and JSON options, its
 * fields in field-number order (protobuf-es's JSON order) with their keys, enum names and
 * zero values already encoded as bytes. Compiled once, at start-up, and cached per
 * descriptor; recursive types resolve to the plan being compiled.
 */
import type { DescField, DescMessage } from '@bufbuild/protobuf';
import { BOOL, BYTES, STRING } from './scalar-types';
import { isOpaqueMessage } from './codec-scope';
import { ENUM, fieldShapes, is64Bit, LIST, MAP, MESSAGE, SCALAR, type FieldShape } from './field-shape';
import type { JsonOptions } from '../json-options';

/** The JSON options that change what binary-to-json writes. */
export type JsonWriteOptions = Pick<JsonOptions, 'emitUnpopulated' | 'enumsAsNumbers' | 'useProtoNames'>;

/** One field, ready to write. */
export interface FieldPlan extends FieldShape {
  /** `"name":` as bytes. */
  readonly key: Uint8Array;
  /** Quoted JSON names of the enum's values by number; undefined when enums are written as numbers. */
  readonly enumNames: ReadonlyMap<number, Uint8Array> | undefined;
  /** The number of the enum's zero value (its first). */
  readonly enumZero: number;
  /** JSON of the field's value when absent, as protobuf-es writes it with alwaysEmitImplicit. */
  readonly zero: Uint8Array;
  /** JSON of one zero scalar or enum value (an absent map value). */
  readonly valueZero: Uint8Array;
  /**
   * Written when absent with emitUnpopulated: implicit scalars and enums, lists, maps, and
   * (as `null`, as protojson's EmitUnpopulated does) singular message fields outside a oneof.
   */
  readonly emitsZero: boolean;
  /** What emitUnpopulated writes for the field when absent: `zero`, or `null` for a message. */
  readonly unset: Uint8Array;
  /** The plan of one message value. */
  message: MessagePlan | undefined;
}

/** One message type, ready to write. */
export interface MessagePlan {
  readonly typeName: string;
  /** Instances go to protobuf-es (see codec-scope). */
  readonly opaque: boolean;
  readonly emitUnpopulated: boolean;
  readonly fields: readonly FieldPlan[];
  /** Field number → index in `fields` + 1 (0: unknown), for numbers below DENSE_LIMIT. */
  readonly dense: Int32Array;
  /** The same for larger numbers. */
  readonly sparse: ReadonlyMap<number, number>;
  /** Bit of each field's oneof (0: none); more than 31 oneofs make the message opaque. */
  readonly oneofBits: Int32Array;
}

const DENSE_LIMIT = 1024;
const caches = new Map<string, WeakMap<DescMessage, MessagePlan>>();

/** The plan of `desc` under `options`, compiled on first use. */
export function messagePlan(desc: DescMessage, options: JsonWriteOptions): MessagePlan {
  const id = `${+options.emitUnpopulated}${+options.enumsAsNumbers}${+options.useProtoNames}`;
  let cache = caches.get(id);
  if (!cache) caches.set(id, (cache = new WeakMap()));
  return compile(desc, options, cache);
}

/** The field of a plan for `field`, or undefined. */
export function fieldPlan(plan: MessagePlan, field: DescField): FieldPlan | undefined {
  return plan.fields.find((f) => f.field === field);
}

function compile(desc: DescMessage, options: JsonWriteOptions, cache: WeakMap<DescMessage, MessagePlan>): MessagePlan {
  const cached = cache.get(desc);
  if (cached) return cached;
  const fields: FieldPlan[] = [];
  const shapes = fieldShapes(desc);
  const dense = new Int32Array(Math.min(DENSE_LIMIT, Math.max(0, ...shapes.map((s) => s.number)) + 1));
  const sparse = new Map<number, number>();
  const plan: MessagePlan = {
    typeName: desc.typeName,
    opaque: isOpaqueMessage(desc) || desc.oneofs.length > 31,
    emitUnpopulated: options.emitUnpopulated,
    fields,
    dense,
    sparse,
    oneofBits: new Int32Array(shapes.map((s) => (s.oneof >= 0 ? 1 << s.oneof : 0))),
  };
  // Registered before its fields compile, so that recursive types resolve to this plan.
  cache.set(desc, plan);
  if (plan.opaque) return plan;
  shapes.forEach((shape, i) => {
    if (shape.number < DENSE_LIMIT) dense[shape.number] = i + 1;
    else sparse.set(shape.number, i + 1);
    fields.push(compileField(shape, options));
  });
  // Keys and enum names are written as latin1 text; a non-ASCII custom json_name is left to protobuf-es.
  if (fields.some((f) => !isAscii(f.key) || [...(f.enumNames?.values() ?? [])].some((n) => !isAscii(n)))) {
    return Object.assign(plan, { opaque: true });
  }
  for (const f of fields) if (f.messageDesc) f.message = compile(f.messageDesc, options, cache);
  return plan;
}

function compileField(shape: FieldShape, options: JsonWriteOptions): FieldPlan {
  const field = shape.field;
  const enumValues = shape.enum?.values ?? [];
  const enumNames = shape.enum && !options.enumsAsNumbers ? new Map(enumValues.map((v) => [v.number, ascii(JSON.stringify(v.jsonName))])) : undefined;
  const enumZero = enumValues[0]?.number ?? 0;
  const valueZero = valueZeroJson(shape, enumNames, enumZero);
  return {
    ...shape,
    key: ascii(`${JSON.stringify(options.useProtoNames ? field.name : field.jsonName)}:`),
    enumNames,
    enumZero,
    zero: ascii(shape.kind === LIST ? '[]' : shape.kind === MAP || !shape.implicit ? '{}' : valueZero),
    valueZero: ascii(valueZero),
    emitsZero: shape.implicit || shape.kind === LIST || shape.kind === MAP || (shape.kind === MESSAGE && shape.oneof < 0),
    unset: ascii(shape.kind === MESSAGE ? 'null' : shape.kind === LIST ? '[]' : shape.kind === MAP || !shape.implicit ? '{}' : valueZero),
    message: undefined,
  };
}

/**
 * What protobuf-es's toJson writes for a zero value of one scalar or enum. An absent field
 * with alwaysEmitImplicit writes this when implicit, `[]` or `{}` when a list or map; a
 * picked response_body field that is absent (message, optional) answers `{}`.
 */
function valueZeroJson(shape: FieldShape, enumNames: ReadonlyMap<number, Uint8Array> | undefined, enumZero: number): string {
  if (shape.item === ENUM) return enumNames?.has(enumZero) ? Buffer.from(enumNames.get(enumZero)!).toString('latin1') : String(enumZero);
  if (shape.item !== SCALAR) return '{}';
  if (is64Bit(shape.scalar)) return '"0"';
  switch (shape.scalar) {
    case BOOL:
      return 'false';
    case STRING:
    case BYTES:
      return '""';
    default:
      return '0';
  }
}

function ascii(text: string): Uint8Array {
  return Buffer.from(text, 'utf8');
}

function isAscii(bytes: Uint8Array): boolean {
  return bytes.every((b) => b < 0x80);
}
