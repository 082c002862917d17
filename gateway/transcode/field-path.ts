/**
 * Field paths (`user.id`, `nested.inner.value`) resolved against message descriptors once,
 * at start-up, into the JSON keys the request builder writes.
 */
import type { DescField, DescMessage } from '@bufbuild/protobuf';

/** A resolved field path: the fields walked, and their lowerCamelCase JSON names. */
export interface FieldTarget {
  /** Dotted proto names, as written in the proto (for messages and errors). */
  readonly protoPath: string;
  readonly fields: readonly DescField[];
  readonly jsonPath: readonly string[];
  /** The last field. */
  readonly leaf: DescField;
}

/** Thrown at start-up for a path that names no field, or walks through a non-message. */
export class FieldPathError extends Error {}

/** Resolves dotted proto field names (`a.b.c`) on `message`. */
export function resolveFieldPath(message: DescMessage, path: readonly string[]): FieldTarget {
  const fields: DescField[] = [];
  let current: DescMessage | undefined = message;
  for (const [i, name] of path.entries()) {
    if (!current) {
      throw new FieldPathError(`"${path.slice(0, i).join('.')}" is not a message, so "${path.join('.')}" names no field`);
    }
    const field: DescField | undefined = current.fields.find((f) => f.name === name);
    if (!field) throw new FieldPathError(`${current.typeName} has no field "${name}" (in "${path.join('.')}")`);
    fields.push(field);
    current = field.fieldKind === 'message' ? field.message : undefined;
  }
  if (fields.length === 0) throw new FieldPathError('empty field path');
  return {
    protoPath: path.join('.'),
    fields,
    jsonPath: fields.map((f) => f.jsonName),
    leaf: fields[fields.length - 1],
  };
}

/** Looks a field up by its proto name or its JSON name, as proto3 JSON parsers must accept both. */
export function findField(message: DescMessage, name: string): DescField | undefined {
  return message.fields.find((f) => f.name === name || f.jsonName === name);
}

/** Sets `value` at `jsonPath` inside `target`, creating the objects on the way. */
export function setJsonPath(target: Record<string, unknown>, jsonPath: readonly string[], value: unknown): void {
  let node = target;
  const last = jsonPath.length - 1;
  for (let i = 0; i < last; i++) {
    const key = jsonPath[i];
    let next = node[key];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) {
      next = {};
      node[key] = next;
    }
    node = next as Record<string, unknown>;
  }
  node[jsonPath[last]] = value;
}

/** True when `prefix` equals `path` or is an ancestor of it. */
export function isPathPrefix(prefix: readonly string[], path: readonly string[]): boolean {
  if (prefix.length > path.length) return false;
  for (let i = 0; i < prefix.length; i++) if (prefix[i] !== path[i]) return false;
  return true;
}
