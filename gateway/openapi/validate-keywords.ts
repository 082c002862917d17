/**
 * `buf.validate` field rules → the JSON Schema keywords that say the same (where one does):
 * string min/max length, pattern and email; 32-bit and floating-point ranges; repeated
 * min/max items, and the same rules on each item. 64-bit integers are strings in JSON, so
 * their ranges have no keyword and stay in the rules alone; so do CEL expressions.
 */
import { getOption, hasOption, type DescField } from '@bufbuild/protobuf';
import { field as fieldRules, type FieldRules } from '@bufbuild/protovalidate/gen/buf/validate/validate_pb.js';
import type { Schema } from './json-schema';
import type { FieldRefiner } from './message-schemas';

/** Adds the keywords of a field's rules to its schema. */
export const validateKeywords: FieldRefiner = (field: DescField, schema: Schema) => {
  if (!hasOption(field, fieldRules)) return;
  const rules = getOption(field, fieldRules);
  if (field.fieldKind === 'list' && rules.type.case === 'repeated') {
    const r = rules.type.value;
    if (r.minItems > 0n) schema.minItems = Number(r.minItems);
    if (r.maxItems > 0n) schema.maxItems = Number(r.maxItems);
    if (r.unique) schema.uniqueItems = true;
    if (r.items && schema.items) apply(r.items, schema.items);
    return;
  }
  apply(rules, schema);
};

function apply(rules: FieldRules, schema: Schema): void {
  const t = rules.type;
  switch (t.case) {
    case 'string': {
      const r = t.value;
      if (r.minLen > 0n) schema.minLength = Number(r.minLen);
      if (r.maxLen > 0n) schema.maxLength = Number(r.maxLen);
      if (r.len > 0n) schema.minLength = schema.maxLength = Number(r.len);
      if (r.pattern) schema.pattern = r.pattern;
      if (r.wellKnown.case === 'email' && r.wellKnown.value) schema.format = 'email';
      if (r.wellKnown.case === 'uuid' && r.wellKnown.value) schema.format = 'uuid';
      if (r.wellKnown.case === 'uri' && r.wellKnown.value) schema.format = 'uri';
      return;
    }
    case 'int32':
    case 'uint32':
    case 'sint32':
    case 'fixed32':
    case 'sfixed32':
    case 'float':
    case 'double': {
      const r = t.value as { lessThan: { case?: string; value?: number }; greaterThan: { case?: string; value?: number } };
      if (r.greaterThan.case === 'gt') schema.exclusiveMinimum = r.greaterThan.value;
      if (r.greaterThan.case === 'gte') schema.minimum = r.greaterThan.value;
      if (r.lessThan.case === 'lt') schema.exclusiveMaximum = r.lessThan.value;
      if (r.lessThan.case === 'lte') schema.maximum = r.lessThan.value;
      return;
    }
    default:
      return;
  }
}
