/**
 * Builds the upstream request message of one route from (path bindings, query, body),
 * following google/api/http.proto: path variables bind fields; `body: "*"` maps the whole
 * JSON body onto the message, `body: "field"` onto one field; every other field may come
 * from the query. A path-bound field given again in the body or the query must have the
 * path's value (same text), else 400 BOUND_FIELD_CONFLICT / BOUND_QUERY_PARAMETER:
 * grpc-gateway and Envoy let the path win silently, which lets a client believe a value
 * was used when it was not.
 *
 * Everything is resolved at construction (start-up): field targets, text converters, the
 * query tree, the request codec. Per request, the body is parsed once (JSON.parse), path and
 * query values are gathered into one small JSON overlay, and json-to-binary encodes both
 * straight to protobuf bytes. Whatever it leaves alone — and every malformed request — goes
 * through @bufbuild/protobuf (conformance-tested proto3 JSON), which words the 400s.
 */
import { create, fromJson, fromJsonString, mergeFromJson, toBinary, type DescField, type DescMessage, type JsonValue, type Registry } from '@bufbuild/protobuf';
import { reflect } from '@bufbuild/protobuf/reflect';
import { GatewayError, invalidField } from './errors';
import { FieldPathError, findField, isPathPrefix, resolveFieldPath, setJsonPath, type FieldTarget } from './field-path';
import type { HttpBinding } from './http-rule';
import { locateJsonError } from './json-error';
import { countJsonMembers, countValueMembers, JsonToBinary, type JsonSource } from './codec';
import { holds64BitIntegers, mayHoldBigIntegers, parseExactJson } from './exact-json';
import type { JsonOptions } from './json-options';
import type { PathTemplate } from './path-template';
import { QueryReader, type QueryParameter } from './query-params';
import { textConverter, type TextConverter } from './scalar-text';

export const HTTP_BODY_TYPE = 'google.api.HttpBody';

/** Thrown at start-up when a binding does not fit its request message. */
export class PlanError extends Error {}

/** How requests are built, beyond the JSON mapping. */
export interface RequestOptions {
  /**
   * PATCH with `body: "<field>"` on a request that has a `google.protobuf.FieldMask
   * update_mask` the client did not send: fill it from the JSON body's keys, nested paths
   * too (grpc-gateway's default, runtime.FieldMaskFromRequestBody).
   */
  readonly autoFieldMask: boolean;
  /**
   * A path-bound field given again in the body or the query: `reject-conflicts` (ours)
   * accepts the path's own value and answers 400 for any other; `path-wins` ignores the
   * repeat silently, as grpc-gateway and Envoy do.
   */
  readonly pathRepeats: 'reject-conflicts' | 'path-wins';
  /**
   * Read a body of any content type as JSON, as grpc-gateway (its `*` marshaler) and Envoy
   * do; ours answers 415 for a type that is not JSON, so a form post fails loudly.
   */
  readonly anyContentTypeAsJson: boolean;
}

export const DEFAULT_REQUEST_OPTIONS: RequestOptions = Object.freeze({
  autoFieldMask: true,
  pathRepeats: 'reject-conflicts',
  anyContentTypeAsJson: false,
});

const FIELD_MASK_TYPE = 'google.protobuf.FieldMask';

interface PathTarget {
  readonly target: FieldTarget;
  readonly convert: TextConverter;
}

type BodyPlan =
  | { readonly kind: 'none' }
  | { readonly kind: 'all'; readonly httpBody: boolean }
  | { readonly kind: 'field'; readonly field: DescField; readonly httpBody: boolean };

/** The request side of one compiled route. */
export class RequestPlan {
  private readonly pathTargets: readonly PathTarget[];
  private readonly body: BodyPlan;
  private readonly query: QueryReader;
  private readonly readOptions: { ignoreUnknownFields: boolean; registry: Registry };
  /** Path and query values: ignoreUnknownFields is about JSON body fields only. */
  private readonly overlayOptions: { ignoreUnknownFields: false; registry: Registry };
  private readonly direct: JsonToBinary | undefined;
  /**
   * The body may hold 64-bit integers: the canonical path then checks their text strictly
   * (codec/int64-text.ts) before protobuf-es, which would read `0x10`, `" 12"` or `007`.
   */
  private readonly strictInt64: boolean;
  private readonly registry: Registry;
  /** The `update_mask` field filled from the body's keys, when this route does that. */
  private readonly autoMask: DescField | undefined;

  constructor(
    readonly input: DescMessage,
    binding: HttpBinding,
    template: PathTemplate,
    registry: Registry,
    options: JsonOptions,
    private readonly requestOptions: RequestOptions = DEFAULT_REQUEST_OPTIONS,
  ) {
    this.registry = registry;
    this.readOptions = { ignoreUnknownFields: options.ignoreUnknownFields, registry };
    this.overlayOptions = { ignoreUnknownFields: false, registry };
    this.pathTargets = template.variables.map((v) => compilePathTarget(input, v.fieldPath));
    this.body = compileBody(input, binding.body);
    this.strictInt64 = holds64BitIntegers(input);
    const bound: Array<readonly string[]> = this.pathTargets.map((p) => p.target.fields.map((f) => f.name));
    if (this.body.kind === 'all') bound.push([]);
    if (this.body.kind === 'field') bound.push([this.body.field.name]);
    const pathBound = this.pathTargets.map((p) => p.target.fields.map((f) => f.name));
    const pathWins = requestOptions.pathRepeats === 'path-wins';
    this.query = new QueryReader(input, bound, { ignoreUnknown: options.ignoreUnknownQueryParameters, pathWins }, pathBound);
    this.autoMask = requestOptions.autoFieldMask && binding.httpMethod === 'PATCH' ? autoMaskField(input, this.body, this.pathTargets) : undefined;
    const direct = this.rawBody ? undefined : new JsonToBinary(input, options.ignoreUnknownFields);
    this.direct = direct?.usable ? direct : undefined;
  }

  /** True when the body is raw bytes (google.api.HttpBody), not JSON. */
  get rawBody(): boolean {
    return this.body.kind !== 'none' && this.body.httpBody;
  }

  /** Fields bound by the path template's variables, in template order. */
  get pathFields(): readonly FieldTarget[] {
    return this.pathTargets.map((p) => p.target);
  }

  /** What the body binds: nothing, the whole message, or one top-level field. */
  get bodyTarget(): { readonly kind: 'none' } | { readonly kind: 'all' } | { readonly kind: 'field'; readonly field: DescField } {
    return this.body;
  }

  /** The query parameters this route accepts. */
  queryParameters(): QueryParameter[] {
    return this.query.parameters();
  }

  /** True when a JSON body of any content type is read (RequestOptions.anyContentTypeAsJson). */
  get anyContentType(): boolean {
    return this.requestOptions.anyContentTypeAsJson;
  }

  /** True when the route reads a request body at all. */
  get hasBody(): boolean {
    return this.body.kind !== 'none';
  }

  /**
   * Encodes the request. `pathValues` are the decoded variable values in template order;
   * `body` is the raw request body (undefined or empty when there is none).
   */
  build(pathValues: readonly string[], rawQuery: string, body: Uint8Array | undefined, contentType: string | undefined): Uint8Array {
    return (this.direct && this.buildDirect(pathValues, rawQuery, body)) || this.buildCanonical(pathValues, rawQuery, body, contentType);
  }

  /**
   * The messages of a client stream. With a body binding, the body is newline-delimited JSON
   * and each non-blank line is one body (the whole message for `*`, the field's value for a
   * field), path and query values set on every message; without one, the path and query make
   * the stream's one message.
   */
  buildStream(pathValues: readonly string[], rawQuery: string, body: Uint8Array | undefined): Uint8Array[] {
    if (this.body.kind === 'none') return [this.build(pathValues, rawQuery, undefined, undefined)];
    if (!body || body.length === 0) return [];
    const out: Uint8Array[] = [];
    for (const line of utf8Text(body).split('\n')) {
      const json = line.trim();
      if (json.length > 0) out.push(this.build(pathValues, rawQuery, Buffer.from(json), undefined));
    }
    return out;
  }

  /**
   * The direct path: JSON.parse, then json-to-binary over the body and the path/query
   * overlay. Undefined for anything it leaves to the canonical path, including every error:
   * that path parses again and reports the first problem in its usual order (body, then path,
   * then query).
   *
   * Plain JSON.parse first: an integer literal past 2^53 parses to a number that is not a safe
   * integer, which json-to-binary refuses for a 64-bit field, and reads as the same double
   * everywhere else (double fields, ignored unknown fields; other fields refuse any such
   * number). So only when the encoder gave up, and the text may hold such a literal, is it read
   * again keeping them exact (parseExactJson). This spares every other body the scan for them
   * (77 us of CPU on bench case 3's 64 KiB, whose int64s are strings).
   */
  private buildDirect(pathValues: readonly string[], rawQuery: string, body: Uint8Array | undefined): Uint8Array | undefined {
    const text = this.body.kind !== 'none' && body && body.length > 0 ? utf8Text(body) : undefined;
    const bytes = this.encodeDirect(pathValues, rawQuery, body, text, false);
    if (bytes !== undefined || text === undefined || !mayHoldBigIntegers(text)) return bytes;
    return this.encodeDirect(pathValues, rawQuery, body, text, true);
  }

  /** buildDirect with `text` (the body's) parsed by JSON.parse, or with `exact` by parseExactJson. */
  private encodeDirect(
    pathValues: readonly string[],
    rawQuery: string,
    body: Uint8Array | undefined,
    text: string | undefined,
    exact: boolean,
  ): Uint8Array | undefined {
    const plan = this.body;
    let value: Record<string, unknown> | undefined;
    let source: JsonSource | undefined;
    if (plan.kind !== 'none' && text !== undefined) {
      // ASCII text without a \u escape holds only ASCII strings (JsonSource.ascii). The text
      // is ASCII when it has as many UTF-16 units as the body has bytes (a UTF-8 sequence of
      // two or more bytes decodes to one unit, or to two for four bytes).
      const ascii = text.length === body!.length && !text.includes('\\u');
      const field = plan.kind === 'all' ? undefined : plan.field;
      const parse = exact ? (t: string) => parseExactJson(t, this.input, this.registry, field) : JSON.parse;
      if (field === undefined) {
        value = parseJsonObject(text, parse);
        if (!value) return undefined;
        source = { text, wrapped: 0, ascii };
      } else {
        // The body of one field, wrapped as the canonical path wraps it. Only a message field's
        // body is checked for duplicate keys there (fromJsonString); the others are JSON.parse'd.
        let parsed: unknown;
        try {
          parsed = parse(text);
        } catch {
          return undefined;
        }
        if (field.fieldKind === 'message') {
          if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
          source = { text, wrapped: 1, ascii };
        }
        value = { [field.jsonName]: parsed };
      }
    }
    let overlay: Record<string, unknown> | undefined;
    try {
      overlay = this.overlay(pathValues, rawQuery, body);
    } catch {
      return undefined;
    }
    if (value !== undefined && this.pathTargets.length > 0 && this.repeatsPathField(value)) return undefined;
    return this.direct!.encode(value, overlay, source);
  }

  /** The @bufbuild/protobuf path: a message object from the body, the overlay merged in, toBinary. */
  private buildCanonical(pathValues: readonly string[], rawQuery: string, body: Uint8Array | undefined, contentType: string | undefined): Uint8Array {
    const message = this.bodyMessage(body, contentType);
    const overlay = this.overlay(pathValues, rawQuery, body);
    if (this.pathTargets.length > 0 && body && body.length > 0 && this.body.kind !== 'none' && !this.body.httpBody && !this.pathWins) {
      this.checkPathRepeats(utf8Text(body), pathValues);
    }
    if (overlay) {
      try {
        mergeFromJson(this.input, message, overlay as JsonValue, this.overlayOptions);
      } catch (err) {
        throw this.overlayError(err, overlay as JsonValue);
      }
    }
    return toBinary(this.input, message);
  }

  /**
   * The update mask implied by the body (runtime.FieldMaskFromRequestBody): the proto path
   * of every leaf, descending into plain message fields given as objects; a list, a map, a
   * well-known type or an empty object is a leaf. As FieldMask JSON (lowerCamelCase paths,
   * comma-separated); undefined when the body is not a JSON object (its decoding reports that).
   */
  private maskFromBody(body: Uint8Array): string | undefined {
    const plan = this.body;
    if (plan.kind !== 'field' || plan.field.fieldKind !== 'message') return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(utf8Text(body));
    } catch {
      return undefined;
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
    const paths: string[] = [];
    collectMaskPaths(plan.field.message, parsed as Record<string, unknown>, [], paths);
    return paths.join(',');
  }

  /** True when the JSON body (wrapped as the message's JSON) sets a path-bound field. */
  private repeatsPathField(value: Record<string, unknown>): boolean {
    if (this.pathWins) return false;
    for (const { target } of this.pathTargets) {
      const found = bodyValueAt(value, target.fields);
      if (found !== undefined && found !== null) return true;
    }
    return false;
  }

  /** A body value for a path-bound field must be the path's (same text); else 400 BOUND_FIELD_CONFLICT. */
  private checkPathRepeats(text: string, pathValues: readonly string[]): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return; // reported by the body decoding
    }
    const plan = this.body;
    const value = plan.kind === 'field' ? { [plan.field.jsonName]: parsed } : parsed;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return;
    this.pathTargets.forEach(({ target, convert }, i) => {
      const found = bodyValueAt(value as Record<string, unknown>, target.fields);
      if (found === undefined || found === null) return;
      let bound: unknown;
      try {
        bound = convert(pathValues[i]);
      } catch {
        return; // reported as INVALID_PATH_PARAMETER
      }
      if (String(found) !== String(bound)) {
        throw new GatewayError('BOUND_FIELD_CONFLICT', `body field "${target.protoPath}" differs from the value bound by the path`, [
          { field: target.protoPath, description: 'differs from the value bound by the path template' },
        ]);
      }
    });
  }

  /** Path values and query parameters as one proto3-JSON object, or undefined when there are none. */
  private get pathWins(): boolean {
    return this.requestOptions.pathRepeats === 'path-wins';
  }

  private overlay(pathValues: readonly string[], rawQuery: string, body?: Uint8Array): Record<string, unknown> | undefined {
    const overlay: Record<string, unknown> = {};
    let overlaid = false;
    for (let i = 0; i < this.pathTargets.length; i++) {
      const { target, convert } = this.pathTargets[i];
      let value: unknown;
      try {
        value = convert(pathValues[i]);
      } catch (err) {
        throw invalidField(target.protoPath, (err as Error).message, 'INVALID_PATH_PARAMETER');
      }
      setJsonPath(overlay, target.jsonPath, value);
      overlaid = true;
    }
    if (rawQuery.length > 0 && this.query.apply(rawQuery, overlay) > 0) overlaid = true;
    if (this.autoMask && body && body.length > 0 && overlay[this.autoMask.jsonName] === undefined) {
      const mask = this.maskFromBody(body);
      if (mask !== undefined) {
        overlay[this.autoMask.jsonName] = mask;
        overlaid = true;
      }
    }
    return overlaid ? overlay : undefined;
  }

  private bodyMessage(body: Uint8Array | undefined, contentType: string | undefined) {
    const plan = this.body;
    if (plan.kind === 'none') return create(this.input);
    if (plan.httpBody) {
      const httpBody = { contentType: contentType ?? '', data: body ?? new Uint8Array(0) };
      return plan.kind === 'all'
        ? create(this.input, httpBody as never)
        : create(this.input, { [plan.field.localName]: create(plan.field.message!, httpBody as never) } as never);
    }
    if (!body || body.length === 0) return create(this.input);
    const text = utf8Text(body);
    return this.fromJsonText(text, plan.kind === 'field' ? plan.field : undefined);
  }

  /**
   * Decodes a JSON body onto the whole message (`field` undefined) or one field. Message
   * targets go through fromJsonString, which also rejects duplicate keys as protojson (and
   * so grpc-gateway) does: JSON.parse would silently keep the last one.
   */
  private fromJsonText(text: string, field: DescField | undefined) {
    const target = field === undefined ? this.input : field.fieldKind === 'message' ? field.message : undefined;
    if (target === undefined) return this.fromParsedJson(this.parseExact(text, field), field!);
    if (field === undefined && !OBJECT_START.test(text)) {
      parseBody(text); // malformed JSON says so first
      throw new GatewayError('MALFORMED_JSON', `request body must be a JSON object for ${this.input.typeName}`);
    }
    let decoded;
    let exact: JsonValue | undefined;
    try {
      if (this.strictInt64 || mayHoldBigIntegers(text)) {
        exact = this.parseExact(text, field);
        // fromJsonString would read the big literals as doubles; it still words a duplicate key.
        if (countJsonMembers(text) !== countValueMembers(exact)) fromJsonString(target, text, this.readOptions);
        decoded = fromJson(target, exact, this.readOptions);
      } else {
        decoded = fromJsonString(target, text, this.readOptions);
      }
    } catch (err) {
      if (err instanceof GatewayError) throw err;
      if ((err as { cause?: unknown }).cause instanceof SyntaxError) parseBody(text);
      const duplicate = DUPLICATE_KEY.exec(errorText(err));
      if (duplicate) throw invalidField(duplicate[1], 'is given more than once');
      const at = locateJsonError(target, exact ?? (JSON.parse(text) as JsonValue), this.readOptions);
      throw jsonError(err, at && field ? [field.jsonName, ...at] : at);
    }
    if (field === undefined) return decoded;
    // Through reflect, not create(init): protobuf-es holds some well-known types unwrapped in
    // their parent (a Struct as a plain object, a wrapper as its value), and create() would
    // take the Struct message object for such a plain object (keys `$typeName`, `fields`).
    const message = create(this.input);
    reflect(this.input, message).set(field, reflect(field.message!, decoded));
    return message;
  }

  /**
   * The body parsed with 64-bit integer literals exact (exact-json): the whole message's
   * JSON, or the value of `field`. Throws MALFORMED_JSON.
   */
  private parseExact(text: string, field: DescField | undefined): JsonValue {
    try {
      return parseExactJson(text, this.input, this.registry, field, this.strictInt64) as JsonValue;
    } catch (err) {
      if (err instanceof GatewayError) throw err;
      throw new GatewayError('MALFORMED_JSON', `request body is not valid JSON: ${(err as Error).message}`);
    }
  }

  /** A body bound to a scalar, repeated or map field: wrapped in its message and decoded. */
  private fromParsedJson(parsed: JsonValue, field: DescField) {
    const json = { [field.jsonName]: parsed };
    try {
      return fromJson(this.input, json, this.readOptions);
    } catch (err) {
      throw jsonError(err, locateJsonError(this.input, json, this.readOptions));
    }
  }

  /** A failed merge of path and query values: a path value at fault is INVALID_PATH_PARAMETER. */
  private overlayError(err: unknown, overlay: JsonValue): GatewayError {
    const at = locateJsonError(this.input, overlay, this.overlayOptions);
    const path = at && this.pathTargets.find((p) => isPathPrefix(p.target.jsonPath, at));
    if (path) return invalidField(path.target.protoPath, errorText(err), 'INVALID_PATH_PARAMETER');
    return jsonError(err, at);
  }
}

/** The body's value at a field path, by JSON or proto name at each step; undefined when absent. */
function bodyValueAt(value: Record<string, unknown>, fields: readonly DescField[]): unknown {
  let node: unknown = value;
  for (const f of fields) {
    if (node === null || typeof node !== 'object' || Array.isArray(node)) return undefined;
    const o = node as Record<string, unknown>;
    node = Object.prototype.hasOwnProperty.call(o, f.jsonName) ? o[f.jsonName] : Object.prototype.hasOwnProperty.call(o, f.name) ? o[f.name] : undefined;
  }
  return node;
}

/** The request's top-level `google.protobuf.FieldMask update_mask`, when a PATCH with a message body field should fill it. */
function autoMaskField(input: DescMessage, body: BodyPlan, pathTargets: readonly PathTarget[]): DescField | undefined {
  if (body.kind !== 'field' || body.field.fieldKind !== 'message' || body.httpBody) return undefined;
  const mask = input.fields.find((f) => f.name === 'update_mask');
  if (mask?.fieldKind !== 'message' || mask.message.typeName !== FIELD_MASK_TYPE) return undefined;
  if (pathTargets.some((p) => p.target.fields[0] === mask)) return undefined;
  return mask;
}

function collectMaskPaths(message: DescMessage, value: Record<string, unknown>, prefix: string[], out: string[]): void {
  for (const key of Object.keys(value)) {
    const field = findField(message, key);
    if (field === undefined) continue; // unknown: an error, or ignored (ignoreUnknownFields), when decoded
    const path = [...prefix, lowerCamel(field.name)];
    const v = value[key];
    const nested = v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0;
    if (field.fieldKind === 'message' && nested && !field.message.typeName.startsWith('google.protobuf.')) {
      collectMaskPaths(field.message, v as Record<string, unknown>, path, out);
    } else {
      out.push(path.join('.'));
    }
  }
}

/** A proto field name in FieldMask JSON's spelling (`display_name` → `displayName`). */
function lowerCamel(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

function compilePathTarget(input: DescMessage, fieldPath: readonly string[]): PathTarget {
  const target = resolveOrThrow(input, fieldPath, 'path variable');
  const leaf = target.leaf;
  // google/api/http.proto says path variables "must not refer to any repeated or mapped field";
  // grpc-gateway serves a repeated one anyway, splitting the segment on commas: so do we.
  if (leaf.fieldKind === 'map') throw new PlanError(`path variable "${target.protoPath}" is a map field`);
  const convert = textConverter(leaf);
  if (!convert) throw new PlanError(`path variable "${target.protoPath}" is a message that has no text form`);
  if (leaf.fieldKind === 'list') return { target, convert: (text) => text.split(',').map(convert) };
  return { target, convert };
}

function compileBody(input: DescMessage, body: string): BodyPlan {
  if (body === '') return { kind: 'none' };
  if (body === '*') return { kind: 'all', httpBody: input.typeName === HTTP_BODY_TYPE };
  const target = resolveOrThrow(input, [body], 'body');
  const field = target.leaf;
  const httpBody = field.fieldKind === 'message' && field.message.typeName === HTTP_BODY_TYPE;
  return { kind: 'field', field, httpBody };
}

function resolveOrThrow(input: DescMessage, path: readonly string[], role: string): FieldTarget {
  try {
    return resolveFieldPath(input, path);
  } catch (err) {
    if (err instanceof FieldPathError) throw new PlanError(`${role} "${path.join('.')}": ${err.message}`);
    throw err;
  }
}

// A body for a whole message must be an object; checked on the text before any parsing.
const OBJECT_START = /^\s*\{/;

/** The body as text (Fastify hands over a Buffer; other callers may pass a plain Uint8Array). */
// fatal: an invalid sequence throws instead of becoming U+FFFD (what Buffer#toString does, so a
// body with a stray 0xFF was stored with a replacement character); ignoreBOM keeps a BOM as it was.
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The body as text; 400 INVALID_UTF8 when it is not UTF-8 (JSON text must be, RFC 8259 §8.1). */
function utf8Text(body: Uint8Array): string {
  try {
    return UTF8.decode(body);
  } catch {
    throw new GatewayError('INVALID_UTF8', 'request body is not valid UTF-8');
  }
}

/** JSON text that starts with `{` (after JSON blanks), parsed; undefined for anything else. */
function parseJsonObject(text: string, parse: (text: string) => unknown = JSON.parse): Record<string, unknown> | undefined {
  let i = 0;
  let c = text.charCodeAt(0);
  while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = text.charCodeAt(++i);
  if (c !== 0x7b) return undefined;
  try {
    return parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
const DUPLICATE_KEY = /duplicate object key "([^"]*)"/;

function parseBody(text: string): JsonValue {
  try {
    return JSON.parse(text) as JsonValue;
  } catch (err) {
    throw new GatewayError('MALFORMED_JSON', `request body is not valid JSON: ${(err as Error).message}`);
  }
}

/** Turns a @bufbuild/protobuf JSON error into a 400 naming the field at `at` (keys as sent). */
function jsonError(err: unknown, at: readonly string[] | undefined): GatewayError {
  if (err instanceof GatewayError) return err;
  const message = errorText(err);
  return new GatewayError('INVALID_FIELD', message, at ? [{ field: at.join('.'), description: message }] : []);
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
