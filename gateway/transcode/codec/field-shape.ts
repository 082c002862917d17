/**
 * The facts about a field that both direct codecs (json-to-binary, binary-to-json) compile
 * into their plans at start-up: what one value of it is, how it travels on the wire, its
 * presence, its oneof. Read from the descriptor once, so no request walks a descriptor.
 */
import type { DescEnum, DescField, DescMessage, ScalarType } from '@bufbuild/protobuf';
import { BYTES, DOUBLE, FIXED32, FIXED64, FLOAT, INT32, INT64, SFIXED32, SFIXED64, SINT64, STRING, UINT64 } from './scalar-types';
import { isOpaqueEnum, isOpaqueMessage } from './codec-scope';

/** What a field holds: one value (of kind SCALAR, ENUM or MESSAGE), a list of them, or a map to them. */
export const SCALAR = 0;
export const ENUM = 1;
export const MESSAGE = 2;
export const LIST = 3;
export const MAP = 4;

/** Wire types (https://protobuf.dev/programming-guides/encoding/#structure). */
export const VARINT = 0;
export const BIT64 = 1;
export const LENGTH_DELIMITED = 2;
export const BIT32 = 5;

// google.protobuf.FeatureSet.FieldPresence.IMPLICIT: proto3 fields without `optional`.
const IMPLICIT = 2;

/** One field, as the codecs see it. */
export interface FieldShape {
  readonly field: DescField;
  readonly number: number;
  /** SCALAR, ENUM, MESSAGE, LIST or MAP. */
  readonly kind: number;
  /** The kind of one value: the field's own for singular fields, the item's or map value's otherwise. */
  readonly item: number;
  /** The scalar type of one value (INT32 for enums, 0 for messages). */
  readonly scalar: ScalarType;
  /** The wire type of one unpacked value. */
  readonly wireType: number;
  /** A repeated number type: may arrive packed. */
  readonly packable: boolean;
  /** Written packed (proto3's default for repeated numbers). */
  readonly packed: boolean;
  /** Implicit presence: the zero value is not on the wire and not in JSON. */
  readonly implicit: boolean;
  /** Index of the field's (real) oneof in its message, or -1. */
  readonly oneof: number;
  /** Scalar type of a map's key (0 when not a map). */
  readonly mapKey: ScalarType;
  readonly enum: DescEnum | undefined;
  /** Message type of one value. */
  readonly messageDesc: DescMessage | undefined;
  /** Values of this field are left to protobuf-es (see codec-scope). */
  readonly opaque: boolean;
}

/** The fields of `desc` in field-number order, the order protobuf-es writes both JSON and binary in. */
export function fieldShapes(desc: DescMessage): FieldShape[] {
  return desc.fields
    .slice()
    .sort((a, b) => a.number - b.number)
    .map((field) => fieldShape(desc, field));
}

function fieldShape(desc: DescMessage, field: DescField): FieldShape {
  let item: number;
  let scalar: ScalarType | undefined;
  let enumDesc: DescEnum | undefined;
  let message: DescMessage | undefined;
  let kind: number;
  switch (field.fieldKind) {
    case 'scalar':
      [kind, item, scalar] = [SCALAR, SCALAR, field.scalar];
      break;
    case 'enum':
      [kind, item, enumDesc] = [ENUM, ENUM, field.enum];
      break;
    case 'message':
      [kind, item, message] = [MESSAGE, MESSAGE, field.message];
      break;
    case 'list':
      kind = LIST;
      item = field.listKind === 'scalar' ? SCALAR : field.listKind === 'enum' ? ENUM : MESSAGE;
      [scalar, enumDesc, message] = [field.scalar, field.enum, field.message];
      break;
    case 'map':
      kind = MAP;
      item = field.mapKind === 'scalar' ? SCALAR : field.mapKind === 'enum' ? ENUM : MESSAGE;
      [scalar, enumDesc, message] = [field.scalar, field.enum, field.message];
      break;
  }
  const valueScalar = item === ENUM ? INT32 : (scalar ?? (0 as ScalarType));
  const numeric = item !== MESSAGE && valueScalar !== STRING && valueScalar !== BYTES;
  const oneof = field.oneof ? desc.oneofs.indexOf(field.oneof) : -1;
  return {
    field,
    number: field.number,
    kind,
    item,
    scalar: valueScalar,
    wireType: item === MESSAGE ? LENGTH_DELIMITED : wireTypeOf(valueScalar),
    packable: kind === LIST && numeric,
    packed: field.fieldKind === 'list' && numeric && field.packed,
    implicit: field.presence === IMPLICIT && oneof < 0 && kind !== LIST && kind !== MAP,
    oneof,
    mapKey: field.fieldKind === 'map' ? field.mapKey : (0 as ScalarType),
    enum: enumDesc,
    messageDesc: message,
    opaque:
      (message !== undefined && (isOpaqueMessage(message) || (field as { delimitedEncoding?: boolean }).delimitedEncoding === true)) ||
      (enumDesc !== undefined && isOpaqueEnum(enumDesc)),
  };
}

/** The wire type a scalar's value travels as. */
export function wireTypeOf(scalar: ScalarType): number {
  switch (scalar) {
    case DOUBLE:
    case FIXED64:
    case SFIXED64:
      return BIT64;
    case FLOAT:
    case FIXED32:
    case SFIXED32:
      return BIT32;
    case STRING:
    case BYTES:
      return LENGTH_DELIMITED;
    default:
      return VARINT;
  }
}

/** True for the scalar types whose JSON form is a quoted decimal string. */
export function is64Bit(scalar: ScalarType): boolean {
  return scalar === INT64 || scalar === UINT64 || scalar === SINT64 || scalar === FIXED64 || scalar === SFIXED64;
}
