/**
 * Names the field at fault when @bufbuild/protobuf rejects a JSON request. Its errors are
 * text, and only some name a field: a bad Timestamp names `google.protobuf.Timestamp`, a bad
 * enum names the enum, a doubly-set oneof names the oneof. So, on the error path only, the
 * JSON is replayed key by key until it fails: the first key whose addition breaks the parse
 * is the culprit (that also finds the second member of a oneof), descending into plain
 * nested messages for a dotted path. The happy path never runs this.
 */
import { fromJson, type DescMessage, type JsonObject, type JsonValue, type Registry } from '@bufbuild/protobuf';
import { findField } from './field-path';

/** The read options the failing parse used. */
export interface JsonReadOptions {
  readonly ignoreUnknownFields: boolean;
  readonly registry: Registry;
}

/** The keys (as sent) leading to the value that makes `json` fail to parse as `message`, or undefined. */
export function locateJsonError(message: DescMessage, json: JsonValue, options: JsonReadOptions): string[] | undefined {
  if (!isObject(json)) return undefined;
  const partial: JsonObject = {};
  for (const key of Object.keys(json)) {
    partial[key] = json[key];
    if (parses(message, partial, options)) continue;
    const field = findField(message, key);
    const value = json[key];
    // Well-known types have their own JSON forms: the field holding one is as deep as it gets.
    if (field?.fieldKind === 'message' && !field.message.typeName.startsWith('google.protobuf.') && isObject(value)) {
      const deeper = locateJsonError(field.message, value, options);
      if (deeper) return [key, ...deeper];
    }
    return [key];
  }
  return undefined;
}

function parses(message: DescMessage, json: JsonObject, options: JsonReadOptions): boolean {
  try {
    fromJson(message, json, options);
    return true;
  } catch {
    return false;
  }
}

function isObject(value: JsonValue | undefined): value is JsonObject {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
