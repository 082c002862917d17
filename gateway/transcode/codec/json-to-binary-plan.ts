/**
 * The compiled form json-to-binary encodes with: per message type, its fields in
 * field-number order (the order protobuf-es's toBinary writes), each with its tags
 * precomputed, and one lookup from JSON key to field that accepts both the JSON name and
 * the proto name, as proto3 JSON parsers must. Compiled once, at start-up, and cached per
 * descriptor; recursive types resolve to the encoder being compiled.
 */
import type { DescMessage } from '@bufbuild/protobuf';
import { isOpaqueMessage } from './codec-scope';
import { fieldShapes, LENGTH_DELIMITED, LIST, MAP, wireTypeOf, type FieldShape } from './field-shape';

/** One field, ready to encode. */
export interface FieldEncoder extends FieldShape {
  /** Position in its message's `fields`. */
  readonly index: number;
  /** Tag of one unpacked value (of the whole field for singular fields). */
  readonly tag: number;
  /** Tag of a packed run, or of one map entry. */
  readonly lengthTag: number;
  /** Map entries: tags of the key (field 1) and the value (field 2). */
  readonly keyTag: number;
  readonly valueTag: number;
  /** Enum numbers by JSON name and by proto name (the proto name wins a clash, as in protobuf-es). */
  readonly enumNumbers: ReadonlyMap<string, number> | undefined;
  /** The number of the enum's zero value (its first). */
  readonly enumZero: number;
  /** Bit of the field's oneof (0: none). */
  readonly oneofBit: number;
  /** JSON null is a value here (google.protobuf.Value, NullValue), not "unset". */
  readonly nullIsValue: boolean;
  message: MessageEncoder | undefined;
}

/** One message type, ready to encode. */
export interface MessageEncoder {
  readonly typeName: string;
  /** Instances go to protobuf-es (see codec-scope). */
  readonly opaque: boolean;
  readonly fields: readonly FieldEncoder[];
  /** JSON name and proto name → field. */
  readonly byKey: ReadonlyMap<string, FieldEncoder>;
}

const cache = new WeakMap<DescMessage, MessageEncoder>();

/** The encoder of `desc`, compiled on first use. */
export function messageEncoder(desc: DescMessage): MessageEncoder {
  const cached = cache.get(desc);
  if (cached) return cached;
  const fields: FieldEncoder[] = [];
  const byKey = new Map<string, FieldEncoder>();
  // More than 31 oneofs do not fit the walker's bit set: such messages go to protobuf-es.
  const encoder: MessageEncoder = { typeName: desc.typeName, opaque: isOpaqueMessage(desc) || desc.oneofs.length > 31, fields, byKey };
  // Registered before its fields compile, so that recursive types resolve to this encoder.
  cache.set(desc, encoder);
  if (encoder.opaque) return encoder;
  fieldShapes(desc).forEach((shape, index) => {
    const f = compileField(shape, index);
    fields.push(f);
    byKey.set(shape.field.jsonName, f).set(shape.field.name, f);
  });
  for (const f of fields) if (f.messageDesc) f.message = messageEncoder(f.messageDesc);
  return encoder;
}

function compileField(shape: FieldShape, index: number): FieldEncoder {
  const values = shape.enum?.values ?? [];
  let enumNumbers: Map<string, number> | undefined;
  if (shape.enum) {
    enumNumbers = new Map(values.map((v) => [v.jsonName, v.number]));
    for (const v of values) enumNumbers.set(v.name, v.number);
  }
  const single = shape.kind === MAP ? LENGTH_DELIMITED : shape.wireType;
  return {
    ...shape,
    index,
    tag: tagOf(shape.number, single),
    lengthTag: tagOf(shape.number, LENGTH_DELIMITED),
    keyTag: shape.kind === MAP ? tagOf(1, wireTypeOf(shape.mapKey)) : 0,
    valueTag: tagOf(2, shape.wireType),
    enumNumbers,
    enumZero: values[0]?.number ?? 0,
    oneofBit: shape.oneof >= 0 ? 1 << shape.oneof : 0,
    nullIsValue:
      shape.kind !== LIST &&
      shape.kind !== MAP &&
      (shape.messageDesc?.typeName === 'google.protobuf.Value' || shape.enum?.typeName === 'google.protobuf.NullValue'),
    message: undefined,
  };
}

function tagOf(fieldNumber: number, wireType: number): number {
  return ((fieldNumber << 3) | wireType) >>> 0;
}
