/**
 * Converts the text of a path variable or query parameter into the proto3 JSON value of a
 * field, so that one JSON parser (@bufbuild/protobuf's) validates everything. Most kinds
 * pass through as strings, since proto3 JSON accepts strings for every number type; the
 * converter is chosen once per field at start-up.
 */
import { ScalarType, type DescField } from '@bufbuild/protobuf';
import { int64TextProblem } from './codec';

/** Turns request text into a JSON value, or throws a description of what is wrong. */
export type TextConverter = (text: string) => unknown;

// Go's strconv.ParseBool set, which grpc-gateway accepts in query parameters.
const TRUE = new Set(['true', 'True', 'TRUE', 't', 'T', '1']);
const FALSE = new Set(['false', 'False', 'FALSE', 'f', 'F', '0']);

const asIs: TextConverter = (text) => text;

const asBool: TextConverter = (text) => {
  if (TRUE.has(text)) return true;
  if (FALSE.has(text)) return false;
  throw new Error(`expected a boolean, got "${text}"`);
};

const INTEGER = /^-?\d+$/;

// int64/uint64 text: the one strict rule of codec/int64-text.ts, shared with JSON bodies.
const asInt64: TextConverter = (text) => {
  const problem = int64TextProblem(text, true);
  if (problem) throw new Error(problem);
  return text;
};
const asUint64: TextConverter = (text) => {
  const problem = int64TextProblem(text, false);
  if (problem) throw new Error(problem);
  return text;
};
const SCALAR_TEXT: Partial<Record<ScalarType, TextConverter>> = {
  [ScalarType.BOOL]: asBool,
  [ScalarType.INT64]: asInt64,
  [ScalarType.SINT64]: asInt64,
  [ScalarType.SFIXED64]: asInt64,
  [ScalarType.UINT64]: asUint64,
  [ScalarType.FIXED64]: asUint64,
};
const asEnum: TextConverter = (text) => (INTEGER.test(text) ? Number(text) : text);

// Well-known message types that have a JSON string (or scalar) form and so can come from text.
const TEXT_MESSAGES: Record<string, TextConverter> = {
  'google.protobuf.Timestamp': asIs,
  'google.protobuf.Duration': asIs,
  'google.protobuf.FieldMask': asIs,
  'google.protobuf.StringValue': asIs,
  'google.protobuf.BytesValue': asIs,
  'google.protobuf.Int32Value': asIs,
  'google.protobuf.UInt32Value': asIs,
  'google.protobuf.Int64Value': asIs,
  'google.protobuf.UInt64Value': asIs,
  'google.protobuf.FloatValue': asIs,
  'google.protobuf.DoubleValue': asIs,
  'google.protobuf.BoolValue': asBool,
  'google.protobuf.Value': asIs,
};

/** The converter for a field's single element (a list's item, a map's value), or undefined if text cannot express it. */
export function textConverter(field: DescField): TextConverter | undefined {
  switch (field.fieldKind) {
    case 'scalar':
    case 'list':
    case 'map':
      if (field.fieldKind === 'list' && field.listKind === 'message') return TEXT_MESSAGES[field.message.typeName];
      if (field.fieldKind === 'list' && field.listKind === 'enum') return asEnum;
      if (field.fieldKind === 'map' && field.mapKind === 'message') return TEXT_MESSAGES[field.message.typeName];
      if (field.fieldKind === 'map' && field.mapKind === 'enum') return asEnum;
      return SCALAR_TEXT[field.scalar] ?? asIs;
    case 'enum':
      return asEnum;
    case 'message':
      return TEXT_MESSAGES[field.message.typeName];
  }
}

/** The converter for a map field's key (JSON map keys are always strings; bools need care). */
export function mapKeyConverter(field: DescField): TextConverter {
  return field.fieldKind === 'map' && field.mapKey === ScalarType.BOOL ? (t) => String(asBool(t)) : asIs;
}
