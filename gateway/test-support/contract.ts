/**
 * Live traffic against the OpenAPI document: the end-to-end tests' HTTP clients hand every
 * exchange to the contract of the gateway they talk to (fetched from its /openapi.json), and
 * a mismatch fails naming the operation and the JSON path. Checked with ajv (JSON Schema
 * 2020-12, the dialect of OpenAPI 3.1):
 *
 * - every response: the status is one the operation lists (a 2xx exactly, errors may fall
 *   under `default`), the content type is one of that response's, the body fits its schema
 *   (JSON, each NDJSON line, each Server-Sent Event), and 204 has no body; a 404/405 for a
 *   path no operation covers must be a google.rpc.Status;
 * - every request the gateway accepted (2xx): its path and query parameters are documented and
 *   fit their schemas, and its body fits the request body's schema. The document gives the
 *   canonical proto3 JSON the gateway writes; on input proto3 JSON also allows numbers for
 *   64-bit integers, enum numbers and numeric strings for numbers, so requests are checked
 *   against a copy of the schemas that accepts those too.
 */
import Ajv2020, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';

type Json = any;

const STRICT_ID = 'https://contract.test/strict.json';
const LENIENT_ID = 'https://contract.test/lenient.json';
// The gateway's own routes beside the API (probes, the document, the UI): not part of the document.
const GATEWAY_OWN = /^\/(healthz|readyz|metrics|openapi\.json|openapi\.yaml|docs(\/.*)?)$/;
const PATH_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/** A request as the client sent it. */
export interface SentRequest {
  readonly method: string;
  /** Path and query, as sent: `/v1/echo/1?name=x`. */
  readonly url: string;
  readonly body?: string | Buffer;
}

/** A response as received; `body` is all of it (a stream: what arrived before it ended or was cut). */
export interface ReceivedResponse {
  readonly status: number;
  readonly contentType: string | undefined;
  readonly body: string;
}

interface Operation {
  readonly id: string;
  readonly method: string;
  readonly path: string;
  readonly matcher: RegExp;
  readonly literals: number;
  readonly op: Json;
}

/** A gateway's document, compiled for checking exchanges. */
export class OpenApiContract {
  private readonly ajv: Ajv2020;
  private readonly params: Ajv2020;
  private readonly operations: Operation[] = [];
  private readonly strict: Json;
  private readonly lenient: Json;
  private readonly compiled = new Map<string, ValidateFunction>();
  private readonly pending = new Set<Promise<void>>();
  /** Failures found after a call returned (streams read in the background). */
  readonly failures: string[] = [];
  /** Exchanges checked, for tests that must know validation really ran. */
  checked = 0;

  private readonly ignoreUnknownQuery: boolean;

  constructor(document: Json) {
    this.ignoreUnknownQuery = document['x-json-options']?.ignoreUnknownQueryParameters === true;
    this.strict = absoluteRefs(document, STRICT_ID);
    this.lenient = lenientInput(absoluteRefs(document, LENIENT_ID), document['x-json-options'] ?? {});
    this.ajv = newAjv(false);
    this.params = newAjv(true);
    for (const a of [this.ajv, this.params]) {
      a.addSchema({ $id: STRICT_ID, components: this.strict.components, paths: this.strict.paths });
      a.addSchema({ $id: LENIENT_ID, components: this.lenient.components, paths: this.lenient.paths });
    }
    for (const [path, item] of Object.entries<Json>(document.paths)) {
      const entries: Array<[string, Json]> = PATH_METHODS.filter((m) => item[m]).map((m) => [m.toUpperCase(), item[m]]);
      for (const [verb, op] of Object.entries<Json>(item['x-additionalOperations'] ?? {})) entries.push([verb, op]);
      for (const [method, op] of entries) {
        const { matcher, literals } = pathMatcher(path, op.parameters ?? []);
        this.operations.push({ id: op.operationId, method, path, matcher, literals, op });
      }
    }
  }

  /** Fetches and compiles the document a gateway serves at /openapi.json. */
  static async load(baseUrl: string): Promise<OpenApiContract> {
    const res = await fetch(`${baseUrl}/openapi.json`);
    if (res.status !== 200) throw new Error(`contract: GET /openapi.json answered ${res.status}`);
    return new OpenApiContract(await res.json());
  }

  /** Checks one exchange; returns the problems found (empty when it fits the document). */
  check(request: SentRequest, response: ReceivedResponse): string[] {
    this.checked++;
    const [pathPart, query = ''] = splitUrl(request.url);
    const method = request.method.toUpperCase();
    const found = this.find(method, pathPart);
    const label = found ? `${found.operation.id} (${method} ${found.operation.path})` : `${method} ${pathPart}`;
    if (!found && GATEWAY_OWN.test(pathPart)) return [];
    if (!found) {
      // The gateway answers paths no operation covers only with 404 or 405, as a Status.
      if (response.status !== 404 && response.status !== 405) return [`${label}: answered ${response.status} but the document has no operation for it`];
      return this.validate(`${STRICT_ID}#/components/schemas/google.rpc.Status`, parseJson(response.body), `${label}: ${response.status} body`);
    }
    const problems = this.checkResponse(found.operation, response, label);
    if (response.status >= 200 && response.status < 300) problems.push(...this.checkRequest(found.operation, found.values, query, request, label));
    return problems;
  }

  /** Checks a fetch exchange: reads a clone of the body (a stream in the background) and throws on a mismatch. */
  async checkFetch(request: SentRequest, res: Response): Promise<void> {
    const contentType = res.headers.get('content-type') ?? undefined;
    const streaming = /x-ndjson|event-stream/.test(contentType ?? '');
    const read = readAll(res.clone()).then((body) => this.check(request, { status: res.status, contentType, body }));
    if (!streaming) {
      const problems = await read;
      if (problems.length > 0) throw new ContractError(problems);
      return;
    }
    const done = read.then(
      (problems) => void this.failures.push(...problems),
      () => undefined,
    );
    this.pending.add(done);
    void done.finally(() => this.pending.delete(done));
  }

  /** Waits for background checks; throws if any exchange did not fit. */
  async settle(): Promise<void> {
    await Promise.all([...this.pending]);
    if (this.failures.length > 0) throw new ContractError(this.failures.splice(0));
  }

  private find(method: string, path: string): { operation: Operation; values: Record<string, string> } | undefined {
    let best: { operation: Operation; values: Record<string, string> } | undefined;
    for (const operation of this.operations) {
      if (operation.method !== method) continue;
      const m = operation.matcher.exec(path);
      if (!m) continue;
      if (best && best.operation.literals >= operation.literals) continue;
      best = { operation, values: { ...m.groups } };
    }
    return best;
  }

  private checkResponse(operation: Operation, response: ReceivedResponse, label: string): string[] {
    const responses = operation.op.responses as Record<string, Json>;
    const status = String(response.status);
    const success = response.status >= 200 && response.status < 300;
    const documented = responses[status] ?? (success ? undefined : responses.default);
    if (!documented) return [`${label}: status ${status} is not documented (documented: ${Object.keys(responses).join(', ')})`];
    const where = `${label}: ${status}`;
    const content = documented.content as Record<string, Json> | undefined;
    if (!content) return response.body.length === 0 ? [] : [`${where}: documented without a body, but has ${response.body.length} bytes`];
    const mediaType = (response.contentType ?? '').split(';')[0].trim().toLowerCase();
    const key = mediaType in content ? mediaType : '*/*' in content ? '*/*' : undefined;
    if (!key) return [`${where}: content type "${response.contentType}" is not one of ${Object.keys(content).join(', ')}`];
    const schemaPath = `${this.operationPointer(operation)}/responses/${status in responses ? status : 'default'}/content/${escapeToken(key)}/schema`;
    if (!content[key].schema) return [];
    const framing = content[key]['x-stream'] as string | undefined;
    if (framing === 'json-array' && parseJson(response.body) === PARSE_FAILED) {
      // A failure after the first element cuts the array (it has no place for a status).
      return response.body.startsWith('[') ? [] : [`${where}: not a JSON array`];
    }
    if (key === 'application/x-ndjson' || framing === 'ndjson') {
      const problems: string[] = [];
      const lines = response.body.split('\n');
      lines.pop(); // the last line is complete only when the body ends with a newline
      lines.forEach((line, i) => problems.push(...this.validate(`${STRICT_ID}#${schemaPath}`, parseJson(line), `${where} NDJSON line ${i + 1}`)));
      return problems;
    }
    if (key === 'text/event-stream') {
      // Events are checked against the NDJSON line schema's `result` and `error`: the same messages.
      const ndjson = `${schemaPath.slice(0, schemaPath.lastIndexOf('/content/'))}/content/application~1x-ndjson/schema/properties`;
      const problems: string[] = [];
      const events = response.body.split('\n\n');
      events.pop();
      events.forEach((event, i) => {
        // A block of only comments (`: keep-alive`) or `retry:` advice carries no event.
        if (!/^data: /m.test(event)) return;
        // The OK end (`event: end`, data `{"trailers": {…}}`) is no message either.
        if (/^event: end$/m.test(event)) return;
        const error = /^event: error$/m.test(event);
        const data = event
          .split('\n')
          .filter((l) => l.startsWith('data: '))
          .map((l) => l.slice(6))
          .join('\n');
        problems.push(...this.validate(`${STRICT_ID}#${ndjson}/${error ? 'error' : 'result'}`, parseJson(data), `${where} event ${i + 1}`));
      });
      return problems;
    }
    if (key === '*/*') return [];
    return this.validate(`${STRICT_ID}#${schemaPath}`, parseJson(response.body), `${where} body`);
  }

  private checkRequest(operation: Operation, values: Record<string, string>, query: string, request: SentRequest, label: string): string[] {
    const problems: string[] = [];
    const parameters = (operation.op.parameters ?? []) as Json[];
    parameters.forEach((p, i) => {
      if (p.in !== 'path') return;
      const raw = values[groupName(i)] ?? '';
      const text = p['x-multi-segment'] ? raw : safeDecode(raw);
      // A repeated field in the path is comma-separated (style simple), as grpc-gateway reads it.
      const value = p.schema?.type === 'array' ? text.split(',') : text;
      problems.push(...this.validateParam(operation, i, value, `${label}: path parameter ${p.name}`));
    });
    const given = new Map<string, string[]>();
    for (const pair of query.split('&')) {
      if (!pair) continue;
      const eq = pair.indexOf('=');
      const key = safeDecode((eq === -1 ? pair : pair.slice(0, eq)).replace(/\+/g, ' '));
      const value = eq === -1 ? '' : safeDecode(pair.slice(eq + 1).replace(/\+/g, ' '));
      const bracket = key.indexOf('[');
      const name = bracket > 0 && key.endsWith(']') ? key.slice(0, bracket) : key;
      const index = parameters.findIndex((p) => p.in === 'query' && (p.name === name || p['x-proto-name'] === name || p['x-json-name'] === name));
      // A path-bound field may be repeated in the query with the same value.
      const pathIndex = parameters.findIndex((p) => p.in === 'path' && p.name === name);
      if (index === -1 && pathIndex !== -1 && safeDecode(values[groupName(pathIndex)] ?? '') === value) continue;
      if (index === -1) {
        if (!this.ignoreUnknownQuery) problems.push(`${label}: query parameter "${key}" is not documented`);
        continue;
      }
      const p = parameters[index];
      const documented = p.name as string;
      if (p.style === 'deepObject')
        problems.push(...this.validateParam(operation, index, { [key.slice(bracket + 1, -1)]: value }, `${label}: query parameter ${key}`));
      else given.set(documented, [...(given.get(documented) ?? []), value]);
    }
    for (const [name, list] of given) {
      const index = parameters.findIndex((p) => p.in === 'query' && p.name === name);
      const array = parameters[index].schema?.type === 'array';
      if (!array && list.length > 1) problems.push(`${label}: query parameter ${name} is not repeated but was given ${list.length} times`);
      problems.push(...this.validateParam(operation, index, array ? list : list[0], `${label}: query parameter ${name}`));
    }
    const body = request.body === undefined ? '' : request.body.toString();
    const content = operation.op.requestBody?.content as Record<string, Json> | undefined;
    if (body.trim().length > 0 && content) {
      const key = Object.keys(content)[0];
      const base = `${LENIENT_ID}#${this.operationPointer(operation)}/requestBody/content/${escapeToken(key)}/schema`;
      if (key === 'application/json') problems.push(...this.validate(base, parseJson(body), `${label}: request body`));
      else if (key === 'application/x-ndjson') {
        body
          .split('\n')
          .filter((l) => l.trim())
          .forEach((line, i) => problems.push(...this.validate(base, parseJson(line), `${label}: request line ${i + 1}`)));
      }
    } else if (body.trim().length > 0 && !content && operation.method !== 'GET' && operation.method !== 'DELETE') {
      problems.push(`${label}: a body was accepted but the operation documents none`);
    }
    return problems;
  }

  private operationPointer(operation: Operation): string {
    const item = this.strict.paths[operation.path];
    const lower = operation.method.toLowerCase();
    return `${pointer(['paths', operation.path])}${item[lower] !== undefined && PATH_METHODS.includes(lower) ? `/${lower}` : `/x-additionalOperations/${operation.method}`}`;
  }

  private validateParam(operation: Operation, index: number, value: unknown, where: string): string[] {
    return this.validate(`${LENIENT_ID}#${this.operationPointer(operation)}/parameters/${index}/schema`, value, where, this.params);
  }

  private validate(ref: string, value: unknown, where: string, ajv: Ajv2020 = this.ajv): string[] {
    if (value === PARSE_FAILED) return [`${where}: not valid JSON`];
    const key = `${ajv === this.params ? 'p' : 's'}${ref}`;
    let fn = this.compiled.get(key);
    if (!fn) {
      fn = ajv.compile({ $ref: ref });
      this.compiled.set(key, fn);
    }
    // Parameters are coerced in place by ajv: check a copy.
    const subject = ajv === this.params ? structuredClone(value) : value;
    if (fn(subject)) return [];
    return (fn.errors ?? []).map((e) => `${where} at ${jsonPath(e)}: ${e.message}${describeParams(e)}`);
  }
}

/** Thrown by a client when an exchange does not fit the document. */
export class ContractError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`the exchange does not fit the OpenAPI document:\n  ${problems.join('\n  ')}`);
    this.name = 'ContractError';
  }
}

// The contracts of running gateways, by origin, so any client (fetch, node:http) can check its exchanges.
const byOrigin = new Map<string, OpenApiContract>();

/** Makes `contract` the one exchanges with `baseUrl` are checked against (undefined forgets it). */
export function registerContract(baseUrl: string, contract: OpenApiContract | undefined): void {
  const origin = new URL(baseUrl).origin;
  if (contract) byOrigin.set(origin, contract);
  else byOrigin.delete(origin);
}

/** The contract of the gateway at `url`'s origin, if one is registered. */
export function contractFor(url: string): OpenApiContract | undefined {
  return byOrigin.get(new URL(url).origin);
}

/** fetch() that checks the exchange against the gateway's contract, when it has one. */
export async function checkedFetch(url: string, init: RequestInit & { body?: string | Buffer } = {}): Promise<Response> {
  const res = await fetch(url, init);
  const contract = contractFor(url);
  if (contract) {
    const u = new URL(url);
    await contract.checkFetch({ method: init.method ?? 'GET', url: u.pathname + u.search, body: init.body }, res);
  }
  return res;
}

function newAjv(coerce: boolean): Ajv2020 {
  // strict off: the document carries OpenAPI's own keywords and x- extensions beside JSON Schema's.
  const ajv = new Ajv2020({ strict: false, allErrors: true, coerceTypes: coerce ? 'array' : false, validateSchema: false });
  addFormats(ajv);
  ajv.addFormat('uint32', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= 0 && n <= 0xffffffff });
  ajv.addFormat('uint64', { type: 'string', validate: (s: string) => /^[0-9]+$/.test(s) && BigInt(s) < 2n ** 64n });
  ajv.addFormat('int64', { type: 'string', validate: (s: string) => /^-?[0-9]+$/.test(s) && BigInt(s) >= -(2n ** 63n) && BigInt(s) < 2n ** 63n });
  return ajv;
}

/** `{name}` → a named group; `x-multi-segment` parameters may hold `/`. */
function pathMatcher(path: string, parameters: Json[]): { matcher: RegExp; literals: number } {
  let literals = 0;
  let source = '';
  for (const part of path.split(/(\{[^}]*\})/)) {
    if (part.startsWith('{') && part.endsWith('}')) {
      const name = part.slice(1, -1);
      const index = parameters.findIndex((p) => p.in === 'path' && p.name === name);
      if (parameters[index]?.['x-multi-segment'] && source.endsWith('/')) {
        // `**` matches zero or more segments: with none, the `/` before it goes too.
        source = `${source.slice(0, -1)}(?:/(?<${groupName(index)}>.*))?`;
      } else source += `(?<${groupName(index)}>${parameters[index]?.['x-multi-segment'] ? '.*' : '[^/]+'})`;
    } else {
      literals += part.length;
      source += part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    }
  }
  return { matcher: new RegExp(`^${source}$`), literals };
}

function groupName(index: number): string {
  return `p${index}`;
}

/** Every `#/components/...` $ref made absolute under `base`, so schemas compile out of context. */
function absoluteRefs(document: Json, base: string): Json {
  return JSON.parse(JSON.stringify(document), (key, value) =>
    key === '$ref' && typeof value === 'string' && value.startsWith('#/') ? `${base}${value}` : value,
  );
}

/**
 * The input forms proto3 JSON accepts besides the canonical output: 64-bit integers as
 * numbers, 32-bit integers and floats as numeric strings, enums as numbers.
 */
function lenientInput(document: Json, options: { ignoreUnknownFields?: boolean }): Json {
  const walk = (node: Json): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (node === null || typeof node !== 'object') return;
    for (const value of Object.values(node)) walk(value); // children first: what is added here is not walked again
    if (node.type === 'string' && (node.format === 'int64' || node.format === 'uint64')) node.type = ['string', 'integer'];
    else if (node.format === 'byte') {
      // Standard or URL-safe base64, padded or not.
      delete node.format;
      node.pattern = '^[A-Za-z0-9+/_-]*={0,2}$';
    } else if (node.type === 'boolean') {
      // Query text: Go's strconv.ParseBool set, as grpc-gateway takes it.
      delete node.type;
      node.anyOf = [{ type: 'boolean' }, { enum: ['t', 'T', '1', 'True', 'TRUE', 'f', 'F', '0', 'False', 'FALSE'] }];
    } else if (node.type === 'string' && Array.isArray(node.enum)) {
      // With ignoreUnknownFields an unknown enum name is dropped, not refused.
      node.anyOf = [options.ignoreUnknownFields ? { type: 'string' } : { type: 'string', enum: node.enum }, { type: 'integer' }];
      delete node.type;
      delete node.enum;
    } else if (node.type === 'integer' && Array.isArray(node['x-enum-varnames'])) {
      node.anyOf = [{ type: 'integer' }, options.ignoreUnknownFields ? { type: 'string' } : { type: 'string', enum: node['x-enum-varnames'] }];
      delete node.type;
      delete node.enum;
    } else if (node.type === 'integer') {
      delete node.type;
      node.anyOf = [{ type: 'integer' }, { type: 'string', pattern: '^-?[0-9]+$' }];
    } else if (Array.isArray(node.anyOf) && node.anyOf.some((s: Json) => s.type === 'number')) node.anyOf.push({ type: 'string', pattern: '^-?[0-9.eE+-]+$' });
    if (node.type === 'object' && node.properties) {
      for (const [name, schema] of Object.entries<Json>(node.properties)) {
        // null is the default of any field; the other name of a field is accepted too.
        const nullable = { anyOf: [schema, { type: 'null' }] };
        node.properties[name] = nullable;
        for (const alias of [schema['x-proto-name'], schema['x-json-name']]) if (alias) node.properties[alias] = nullable;
      }
      delete node.not; // two oneof members, all but one null, are accepted
      if (options.ignoreUnknownFields) delete node.additionalProperties;
    }
  };
  walk(document.components);
  walk(document.paths);
  return document;
}

function pointer(tokens: string[]): string {
  return tokens.map((t) => `/${escapeToken(t)}`).join('');
}

/** A JSON Pointer token, percent-encoded for use in a URI fragment. */
function escapeToken(token: string): string {
  return encodeURIComponent(token.replace(/~/g, '~0').replace(/\//g, '~1'));
}

/** An ajv instancePath (JSON Pointer) as a JSON path: `/users/0/id` → `$.users[0].id`. */
function jsonPath(error: ErrorObject): string {
  const tokens = error.instancePath
    .split('/')
    .slice(1)
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
  return `$${tokens.map((t) => (/^[0-9]+$/.test(t) ? `[${t}]` : /^[A-Za-z_$][\w$]*$/.test(t) ? `.${t}` : `[${JSON.stringify(t)}]`)).join('')}`;
}

function describeParams(error: ErrorObject): string {
  const p = error.params as Record<string, unknown>;
  if ('additionalProperty' in p) return ` ("${String(p.additionalProperty)}")`;
  if ('allowedValues' in p) return ` (${JSON.stringify(p.allowedValues)})`;
  return '';
}

const PARSE_FAILED = Symbol('not JSON');

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return PARSE_FAILED;
  }
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function splitUrl(url: string): [string, string] {
  const q = url.indexOf('?');
  return q === -1 ? [url, ''] : [url.slice(0, q), url.slice(q + 1)];
}

/** Reads a response body to its end, or as far as it got when the stream was cut. */
async function readAll(res: Response): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } catch {
    // Aborted by the test (a watch it stopped): check what arrived.
  }
  return text;
}
