/**
 * Query parameters → request fields (google/api/http.proto: "any fields in the request
 * message which are not bound by the path template [or body] automatically become HTTP
 * query parameters"). Each route gets a field tree, built at start-up, that accepts proto
 * and JSON names segment by segment (`a.b_c`, `a.bC`); repeated fields take repeated
 * keys (`x=1&x=2`), and map fields take `name[key]=value`, as grpc-gateway does.
 */
import type { DescField, DescMessage } from '@bufbuild/protobuf';
import { GatewayError, invalidField } from './errors';
import { isPathPrefix, setJsonPath } from './field-path';
import { mapKeyConverter, textConverter, type TextConverter } from './scalar-text';

interface QueryLeaf {
  readonly field: DescField;
  readonly protoPath: string;
  readonly jsonPath: readonly string[];
  /** Undefined for a message field that text cannot express (only its sub-fields can be set). */
  readonly convert: TextConverter | undefined;
  readonly shape: 'single' | 'list' | 'map';
  readonly convertKey: TextConverter;
  /** Bound by the path or the body: naming it in the query is an error... */
  readonly bound: boolean;
  /** ...unless it is exactly a path variable's field and the value is the path's (see RequestPlan). */
  readonly repeatable: boolean;
  /** A singular message field whose sub-fields the query may name. */
  readonly descends: boolean;
}

/** A dotted name that walks through a field which has no sub-fields. */
const THROUGH_SCALAR = Symbol('through-scalar');

interface QueryNode {
  readonly children: Map<string, QueryNode>;
  leaf?: QueryLeaf;
}

/** How a route reads its query string. */
export interface QueryOptions {
  /** Ignore parameters that name no field instead of answering 400. */
  readonly ignoreUnknown: boolean;
  /** Ignore a parameter repeating a path-bound field, whatever its value (grpc-gateway, Envoy). */
  readonly pathWins?: boolean;
}

// Deep enough for real APIs; recursive messages would otherwise make the tree infinite.
const MAX_DEPTH = 8;

/** One query parameter a route accepts, as the OpenAPI document lists it. */
export interface QueryParameter {
  /** The field the parameter sets (its leaf). */
  readonly field: DescField;
  /** Dotted proto names: `nested.inner.value`. */
  readonly protoPath: string;
  /** The JSON names along the way (`nested.inner.value`, `maybeInt`). */
  readonly jsonPath: readonly string[];
  readonly shape: 'single' | 'list' | 'map';
}

/** The compiled query reader of one route. */
export class QueryReader {
  private readonly root: QueryNode;

  /**
   * `bound` lists proto field paths bound by the path template or the body (`[]` =
   * everything); `repeatable` those of path variables, which the query may repeat with the
   * same value (path values are in the overlay before the query is applied).
   */
  constructor(
    message: DescMessage,
    bound: ReadonlyArray<readonly string[]>,
    private readonly options: QueryOptions,
    repeatable: ReadonlyArray<readonly string[]> = [],
  ) {
    this.root = { children: new Map() };
    buildTree(this.root, message, [], [], { bound, repeatable }, new Set([message.typeName]));
  }

  /** Every parameter this route accepts (unbound, text-convertible leaves), once each, in field order. */
  parameters(): QueryParameter[] {
    const out: QueryParameter[] = [];
    const seen = new Set<QueryNode>();
    const walk = (node: QueryNode): void => {
      for (const child of node.children.values()) {
        if (seen.has(child)) continue; // each node is keyed by both its proto and JSON name
        seen.add(child);
        const leaf = child.leaf;
        if (leaf && !leaf.bound && leaf.convert) {
          out.push({ field: leaf.field, protoPath: leaf.protoPath, jsonPath: leaf.jsonPath, shape: leaf.shape });
        }
        walk(child);
      }
    };
    walk(this.root);
    return out;
  }

  /**
   * Parses `rawQuery` (without the `?`) into `overlay`, a proto3-JSON object merged over the
   * request. Returns the number of parameters applied.
   */
  apply(rawQuery: string, overlay: Record<string, unknown>): number {
    let applied = 0;
    let start = 0;
    const length = rawQuery.length;
    while (start <= length) {
      let end = rawQuery.indexOf('&', start);
      if (end === -1) end = length;
      if (end > start) {
        const pair = rawQuery.slice(start, end);
        const eq = pair.indexOf('=');
        const key = decodeQueryComponent(eq === -1 ? pair : pair.slice(0, eq));
        const value = eq === -1 ? '' : decodeQueryComponent(pair.slice(eq + 1));
        if (this.applyOne(key, value, overlay)) applied++;
      }
      start = end + 1;
    }
    return applied;
  }

  private applyOne(key: string, value: string, overlay: Record<string, unknown>): boolean {
    let name = key;
    let mapKey: string | undefined;
    const bracket = key.indexOf('[');
    if (bracket > 0 && key.endsWith(']')) {
      name = key.slice(0, bracket);
      mapKey = key.slice(bracket + 1, -1);
    }
    const leaf = this.lookup(name);
    if (leaf === THROUGH_SCALAR) {
      // `name.x` where `name` is a scalar (or a repeated, map or text-form message field) is
      // a mistake about a field that exists, not an unknown parameter: 400 whatever the options.
      throw invalidField(key, 'names a sub-field of a field that has none');
    }
    if (!leaf) {
      if (this.options.ignoreUnknown) return false;
      throw new GatewayError('UNKNOWN_QUERY_PARAMETER', `query parameter "${key}" names no field of the request`, [
        { field: key, description: 'no such field' },
      ]);
    }
    if (leaf.bound && leaf.repeatable && this.options.pathWins) return false;
    if (leaf.bound && leaf.repeatable && leaf.shape !== 'map' && leaf.convert) {
      const bound = getJsonPath(overlay, leaf.jsonPath);
      let converted: unknown;
      try {
        converted = leaf.shape === 'list' ? value.split(',').map(leaf.convert) : leaf.convert(value);
      } catch {
        converted = undefined;
      }
      if (converted !== undefined && String(converted) === String(bound)) return false;
      throw new GatewayError('BOUND_QUERY_PARAMETER', `query parameter "${key}" differs from the value bound by the path`, [
        { field: key, description: 'differs from the value bound by the path template' },
      ]);
    }
    if (leaf.bound) {
      throw new GatewayError('BOUND_QUERY_PARAMETER', `query parameter "${key}" names a field already bound by the path or body`, [
        { field: key, description: 'bound by the path template or the request body' },
      ]);
    }
    if (!leaf.convert) throw invalidField(key, 'is a message; set its fields instead (e.g. "a.b=value")');
    if ((mapKey !== undefined) !== (leaf.shape === 'map')) {
      throw invalidField(key, leaf.shape === 'map' ? 'is a map; use name[key]=value' : 'is not a map field');
    }
    let converted: unknown;
    try {
      converted = leaf.convert(value);
    } catch (err) {
      throw invalidField(key, (err as Error).message);
    }
    if (leaf.shape === 'single') {
      if (hasJsonPath(overlay, leaf.jsonPath)) throw invalidField(key, 'is not repeated but was given more than once');
      setJsonPath(overlay, leaf.jsonPath, converted);
    } else {
      const container = ensureContainer(overlay, leaf.jsonPath, leaf.shape);
      if (leaf.shape === 'list') (container as unknown[]).push(converted);
      else (container as Record<string, unknown>)[String(leaf.convertKey(mapKey!))] = converted;
    }
    return true;
  }

  private lookup(name: string): QueryLeaf | typeof THROUGH_SCALAR | undefined {
    let node: QueryNode | undefined = this.root;
    let start = 0;
    while (node) {
      const dot = name.indexOf('.', start);
      const segment = dot === -1 ? name.slice(start) : name.slice(start, dot);
      node = node.children.get(segment);
      if (dot === -1) return node?.leaf;
      if (node !== undefined && node.children.size === 0 && node.leaf?.descends === false) return THROUGH_SCALAR;
      start = dot + 1;
    }
    return undefined;
  }
}

function buildTree(node: QueryNode, message: DescMessage, protoPath: string[], jsonPath: string[], bound: Bound, visiting: Set<string>): void {
  for (const field of message.fields) {
    const childProto = [...protoPath, field.name];
    const childJson = [...jsonPath, field.jsonName];
    const child: QueryNode = { children: new Map(), leaf: makeLeaf(field, childProto, childJson, bound) };
    node.children.set(field.name, child);
    node.children.set(field.jsonName, child);
    // Descend into singular, non-WKT messages: `a.b.c=` sets a nested field.
    if (field.fieldKind === 'message' && !textConverter(field) && childProto.length < MAX_DEPTH && !visiting.has(field.message.typeName)) {
      visiting.add(field.message.typeName);
      buildTree(child, field.message, childProto, childJson, bound, visiting);
      visiting.delete(field.message.typeName);
    }
  }
}

interface Bound {
  readonly bound: ReadonlyArray<readonly string[]>;
  readonly repeatable: ReadonlyArray<readonly string[]>;
}

function makeLeaf(field: DescField, protoPath: string[], jsonPath: string[], { bound, repeatable }: Bound): QueryLeaf {
  return {
    field,
    protoPath: protoPath.join('.'),
    jsonPath,
    convert: textConverter(field),
    shape: field.fieldKind === 'list' ? 'list' : field.fieldKind === 'map' ? 'map' : 'single',
    convertKey: mapKeyConverter(field),
    bound: bound.some((b) => b.length === 0 || isPathPrefix(b, protoPath) || isPathPrefix(protoPath, b)),
    repeatable: repeatable.some((b) => b.length === protoPath.length && isPathPrefix(b, protoPath)),
    descends: field.fieldKind === 'message' && !textConverter(field),
  };
}

function hasJsonPath(root: Record<string, unknown>, path: readonly string[]): boolean {
  return getJsonPath(root, path) !== undefined;
}

function getJsonPath(root: Record<string, unknown>, path: readonly string[]): unknown {
  let node: unknown = root;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

function ensureContainer(root: Record<string, unknown>, path: readonly string[], shape: 'list' | 'map'): unknown {
  let node = root;
  for (let i = 0; i < path.length - 1; i++) {
    const next = node[path[i]];
    node = (next && typeof next === 'object' ? next : (node[path[i]] = {})) as Record<string, unknown>;
  }
  const last = path[path.length - 1];
  return (node[last] ??= shape === 'list' ? [] : {});
}

/** application/x-www-form-urlencoded decoding of one component: `+` is a space. */
export function decodeQueryComponent(text: string): string {
  const spaced = text.indexOf('+') === -1 ? text : text.replace(/\+/g, ' ');
  if (spaced.indexOf('%') === -1) return spaced;
  try {
    return decodeURIComponent(spaced);
  } catch {
    throw new GatewayError('INVALID_FIELD', `malformed percent-encoding in query string: "${text}"`);
  }
}
