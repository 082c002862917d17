/**
 * Message and enum descriptors → JSON Schemas of their proto3 JSON form, exactly as the
 * gateway writes it with the JSON options in force: property names are JSON names
 * (`json_name` honoured) or proto names with `useProtoNames`; enums are names, or numbers
 * with `enumsAsNumbers`; 64-bit integers are strings; bytes base64; well-known types in
 * their own JSON forms (wkt-schemas.ts); at most one member of a oneof. Each message and
 * enum becomes one component named by its full proto name, so recursion is a $ref.
 *
 * From the proto: comments become descriptions, `google.api.field_behavior` REQUIRED is
 * `required`, OUTPUT_ONLY `readOnly`, INPUT_ONLY `writeOnly`; `deprecated` options carry over.
 */
import { getOption, hasOption, ScalarType, type DescEnum, type DescExtension, type DescField, type DescMessage, type Registry } from '@bufbuild/protobuf';
import type { JsonOptions } from '../transcode';
import { ref, type Schema } from './json-schema';
import { protoComment } from './proto-comments';
import { BYTES_SCHEMA, FLOAT_SCHEMA, INT64_SCHEMA, UINT64_SCHEMA, wellKnownSchema } from './wkt-schemas';

// google/api/field_behavior.proto
const REQUIRED = 2;
const OUTPUT_ONLY = 3;
const INPUT_ONLY = 4;
const IMMUTABLE = 5;

// Options are read through extensions found in the runtime registry, not generated code.
const readOption = getOption as unknown as (element: DescField, ext: DescExtension) => unknown;
const hasFieldOption = hasOption as unknown as (element: DescField, ext: DescExtension) => boolean;

/** Adds a field's extra JSON Schema keywords (buf.validate rules). */
export type FieldRefiner = (field: DescField, schema: Schema) => void;

/** Collects component schemas for the messages and enums the operations use. */
export class MessageSchemas {
  readonly components: Record<string, Schema> = {};
  private readonly fieldBehavior: DescExtension | undefined;

  constructor(
    registry: Registry,
    private readonly options: JsonOptions,
    private readonly refine: FieldRefiner = () => {},
  ) {
    this.fieldBehavior = registry.getExtension('google.api.field_behavior');
  }

  /** The schema of a message's JSON form: a well-known type's inline, else a $ref to its component. */
  message(desc: DescMessage): Schema {
    const wkt = wellKnownSchema(desc.typeName);
    if (wkt) return wkt;
    if (!(desc.typeName in this.components)) {
      this.components[desc.typeName] = {}; // reserved first: a recursive field finds the name taken
      this.components[desc.typeName] = this.buildMessage(desc);
    }
    return ref(desc.typeName);
  }

  /** The schema of one field's JSON value (the whole value: an array for repeated, an object for maps). */
  field(field: DescField): Schema {
    let schema: Schema;
    switch (field.fieldKind) {
      case 'scalar':
        schema = scalar(field.scalar);
        break;
      case 'enum':
        schema = this.enumeration(field.enum);
        break;
      case 'message':
        schema = this.message(field.message);
        break;
      case 'list':
        schema = { type: 'array', items: this.element(field.listKind, field) };
        break;
      case 'map':
        schema = { type: 'object', additionalProperties: this.element(field.mapKind, field), propertyNames: mapKey(field.mapKey) };
        break;
    }
    this.refine(field, schema);
    return schema;
  }

  /** The schema of one element of a repeated or map field. */
  element(kind: 'scalar' | 'enum' | 'message', field: DescField): Schema {
    if (kind === 'scalar') return scalar(field.scalar!);
    if (kind === 'enum') return this.enumeration(field.enum!);
    return this.message(field.message!);
  }

  /** Field behaviours of a field (`google.api.field_behavior`), as numbers. */
  behaviours(field: DescField): readonly number[] {
    if (!this.fieldBehavior || !hasFieldOption(field, this.fieldBehavior)) return [];
    return readOption(field, this.fieldBehavior) as number[];
  }

  /** Property and parameter names are proto names (`json.useProtoNames`). */
  get useProtoNames(): boolean {
    return this.options.useProtoNames;
  }

  /** The JSON property name of a field under the options in force. */
  propertyName(field: DescField): string {
    return this.options.useProtoNames ? field.name : field.jsonName;
  }

  private enumeration(desc: DescEnum): Schema {
    if (desc.typeName === 'google.protobuf.NullValue') return { type: 'null' };
    if (!(desc.typeName in this.components)) {
      const values = desc.values;
      const lines = values.map((v) => `- \`${this.options.enumsAsNumbers ? v.number : v.name}\`${describe(protoComment(v))}`);
      const about = protoComment(desc);
      this.components[desc.typeName] = {
        ...(this.options.enumsAsNumbers
          ? { type: 'integer', format: 'int32', enum: values.map((v) => v.number), 'x-enum-varnames': values.map((v) => v.name) }
          : { type: 'string', enum: values.map((v) => v.name) }),
        description: [about, lines.join('\n')].filter(Boolean).join('\n\n'),
      };
    }
    return ref(desc.typeName);
  }

  private buildMessage(desc: DescMessage): Schema {
    const properties: Record<string, Schema> = {};
    const required: string[] = [];
    for (const field of desc.fields) {
      const name = this.propertyName(field);
      const schema = this.field(field);
      const about = protoComment(field);
      if (about) schema.description = about;
      const behaviours = this.behaviours(field);
      if (behaviours.includes(REQUIRED)) required.push(name);
      if (behaviours.includes(OUTPUT_ONLY)) schema.readOnly = true;
      if (behaviours.includes(INPUT_ONLY)) schema.writeOnly = true;
      if (behaviours.includes(IMMUTABLE)) schema.description = `${schema.description ? `${schema.description}\n\n` : ''}Immutable: set on creation only.`;
      if (field.deprecated) schema.deprecated = true;
      // emitUnpopulated writes an unset singular message field as null (not oneof members, which stay out).
      const property: Schema = this.options.emitUnpopulated && field.fieldKind === 'message' && !field.oneof ? { anyOf: [schema, { type: 'null' }] } : schema;
      // Readers take the other name too (proto3 JSON); say which it is where it differs.
      if (field.name !== name) property['x-proto-name'] = field.name;
      if (field.jsonName !== name) property['x-json-name'] = field.jsonName;
      properties[name] = property;
    }
    const schema: Schema = { type: 'object', properties, additionalProperties: false };
    const about = protoComment(desc);
    if (about) schema.description = about;
    if (required.length > 0) schema.required = required;
    const exclusive = desc.oneofs.filter((o) => o.fields.length > 1);
    if (exclusive.length > 0) {
      // At most one member of a oneof is present (proto3 JSON: setting two is an error).
      const pairs: Schema[] = [];
      for (const oneof of exclusive) {
        const names = oneof.fields.map((f) => this.propertyName(f));
        for (let i = 0; i < names.length; i++) for (let j = i + 1; j < names.length; j++) pairs.push({ required: [names[i], names[j]] });
        schema['x-oneof'] = { ...((schema['x-oneof'] as object) ?? {}), [oneof.name]: names };
      }
      schema.not = { anyOf: pairs };
    }
    if (desc.deprecated) schema.deprecated = true;
    return schema;
  }
}

function describe(comment: string | undefined): string {
  return comment ? `: ${comment.replace(/\s*\n\s*/g, ' ')}` : '';
}

function scalar(type: ScalarType): Schema {
  switch (type) {
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      return structuredClone({ ...FLOAT_SCHEMA, format: type === ScalarType.FLOAT ? 'float' : 'double' });
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return { ...INT64_SCHEMA };
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return { ...UINT64_SCHEMA };
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return { type: 'integer', format: 'int32' };
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return { type: 'integer', format: 'uint32', minimum: 0, maximum: 4294967295 };
    case ScalarType.BOOL:
      return { type: 'boolean' };
    case ScalarType.STRING:
      return { type: 'string' };
    case ScalarType.BYTES:
      return { ...BYTES_SCHEMA };
  }
}

/** Map keys are always JSON strings; integer and bool keys are their text. */
function mapKey(type: ScalarType): Schema {
  switch (type) {
    case ScalarType.BOOL:
      return { enum: ['true', 'false'] };
    case ScalarType.STRING:
      return { type: 'string' };
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return { pattern: '^[0-9]+$' };
    default:
      return { pattern: '^-?[0-9]+$' };
  }
}
