/**
 * The JSON forms of the well-known types, from the proto3 JSON mapping
 * (https://protobuf.dev/programming-guides/json/), as @bufbuild/protobuf writes them:
 * Timestamp is RFC 3339 text, Duration "1.5s", FieldMask comma-separated lowerCamelCase
 * paths, wrappers their wrapped value, Struct/Value/ListValue plain JSON, Any an object
 * with "@type", Empty {}.
 */
import type { Schema } from './json-schema';

const INT64_TEXT = '^-?[0-9]+$';
const UINT64_TEXT = '^[0-9]+$';

/** A JSON number or one of the three texts proto3 JSON uses for non-finite floats. */
export const FLOAT_SCHEMA: Schema = {
  anyOf: [{ type: 'number' }, { type: 'string', enum: ['NaN', 'Infinity', '-Infinity'] }],
};

/** 64-bit integers are strings in proto3 JSON, so no value past 2^53 is rounded by a JSON parser. */
export const INT64_SCHEMA: Schema = { type: 'string', format: 'int64', pattern: INT64_TEXT };
export const UINT64_SCHEMA: Schema = { type: 'string', format: 'uint64', pattern: UINT64_TEXT };
export const BYTES_SCHEMA: Schema = { type: 'string', format: 'byte', contentEncoding: 'base64' };

const WKT: Record<string, Schema> = {
  'google.protobuf.Timestamp': { type: 'string', format: 'date-time', description: 'RFC 3339 time in UTC ("Z"), 0, 3, 6 or 9 fractional digits.' },
  'google.protobuf.Duration': { type: 'string', pattern: '^-?[0-9]+(\\.[0-9]{1,9})?s$', description: 'Seconds with an "s" suffix, e.g. "1.5s".' },
  'google.protobuf.FieldMask': { type: 'string', description: 'Comma-separated field paths in lowerCamelCase, e.g. "displayName,email".' },
  'google.protobuf.Struct': { type: 'object', additionalProperties: true },
  'google.protobuf.Value': { description: 'Any JSON value.' },
  'google.protobuf.ListValue': { type: 'array', items: {} },
  'google.protobuf.Empty': { type: 'object', additionalProperties: false },
  'google.protobuf.Any': {
    type: 'object',
    properties: { '@type': { type: 'string', description: 'type.googleapis.com/<message type name>' } },
    required: ['@type'],
    additionalProperties: true,
    description: 'A message of the type named by "@type", with its fields beside it ("value" for types with a special JSON form).',
  },
  'google.protobuf.DoubleValue': FLOAT_SCHEMA,
  'google.protobuf.FloatValue': FLOAT_SCHEMA,
  'google.protobuf.Int64Value': INT64_SCHEMA,
  'google.protobuf.UInt64Value': UINT64_SCHEMA,
  'google.protobuf.Int32Value': { type: 'integer', format: 'int32' },
  'google.protobuf.UInt32Value': { type: 'integer', format: 'uint32', minimum: 0, maximum: 4294967295 },
  'google.protobuf.BoolValue': { type: 'boolean' },
  'google.protobuf.StringValue': { type: 'string' },
  'google.protobuf.BytesValue': BYTES_SCHEMA,
};

/** The schema of a well-known type's JSON form, or undefined for any other message. */
export function wellKnownSchema(typeName: string): Schema | undefined {
  const schema = WKT[typeName];
  return schema && structuredClone(schema);
}
