/**
 * One compiled route → one OpenAPI operation: its path and query parameters from the
 * route's request plan (the same plan that reads requests), its body from `body`, its
 * answer from `response_body` and the method's success status, streams as NDJSON and
 * Server-Sent Events, google.api.HttpBody as raw content, and the error statuses.
 */
import type { DescMethod } from '@bufbuild/protobuf';
import type { Route } from '../transcode';
import { errorStatuses, STATUS_SCHEMA, type ErrorContext } from './error-responses';
import { ref, type Schema } from './json-schema';
import type { MessageSchemas } from './message-schemas';
import type { OpenApiPath } from './openapi-path';
import { firstSentence, protoComment } from './proto-comments';

/** An OpenAPI Operation Object (the parts we write). */
export interface Operation {
  operationId: string;
  summary?: string;
  description?: string;
  tags: string[];
  deprecated?: boolean;
  parameters?: Parameter[];
  requestBody?: { description?: string; required: boolean; content: Record<string, MediaType> };
  responses: Record<string, { description: string; content?: Record<string, MediaType> }>;
  security?: Array<Record<string, string[]>>;
  [extension: `x-${string}`]: unknown;
}

interface Parameter {
  name: string;
  in: 'path' | 'query';
  required: boolean;
  description?: string;
  deprecated?: boolean;
  style?: string;
  explode?: boolean;
  schema: Schema;
  [extension: `x-${string}`]: unknown;
}

interface MediaType {
  schema?: Schema;
  /** How a stream is framed under a JSON media type (`ndjson`: one schema per line; `json-array`). */
  'x-stream'?: 'ndjson' | 'json-array';
}

/** The security scheme every protected operation names. */
export const BEARER_SCHEME = 'bearerAuth';

// 204, 205 and 304 carry no body (http/transcoding-plugin.ts drops it).
const NO_BODY = new Set([204, 205, 304]);
const ANY_CONTENT = '*/*';

/** Builds the operation of `route`, whose OpenAPI path is `path`. */
export function buildOperation(
  route: Route,
  method: DescMethod | undefined,
  path: OpenApiPath,
  operationId: string,
  schemas: MessageSchemas,
  errors: ErrorContext,
): Operation {
  const { rpc, request } = route;
  const tag = rpc.service.slice(rpc.service.lastIndexOf('.') + 1);
  const comment = method && protoComment(method);
  const op: Operation = { operationId, tags: [tag], responses: {} };
  if (comment) {
    op.summary = firstSentence(comment);
    if (op.summary !== comment) op.description = comment;
  }
  if (method?.deprecated) op.deprecated = true;
  op['x-grpc-method'] = rpc.grpcPath;
  if (rpc.kind !== 'unary') op['x-grpc-kind'] = rpc.kind;

  const parameters: Parameter[] = [];
  for (const p of path.parameters) {
    const parameter: Parameter = { name: p.name, in: 'path', required: true, schema: p.schema ?? schemas.field(p.field!.leaf) };
    const description = [p.field && protoComment(p.field.leaf), p.description].filter(Boolean).join('\n\n');
    if (description) parameter.description = description;
    if (p.multiSegment) parameter['x-multi-segment'] = true;
    parameters.push(parameter);
  }
  for (const q of request.queryParameters()) {
    const name = schemas.useProtoNames ? q.protoPath : q.jsonPath.join('.');
    const parameter: Parameter = { name, in: 'query', required: false, schema: schemas.field(q.field) };
    // The gateway takes the other name too (proto or JSON); say so where it differs.
    if (q.protoPath !== name) parameter['x-proto-name'] = q.protoPath;
    if (q.jsonPath.join('.') !== name) parameter['x-json-name'] = q.jsonPath.join('.');
    if (q.shape === 'list') {
      parameter.style = 'form';
      parameter.explode = true;
    } else if (q.shape === 'map') {
      parameter.style = 'deepObject';
      parameter.explode = true;
    }
    const description = protoComment(q.field);
    if (description) parameter.description = description;
    if (q.field.deprecated) parameter.deprecated = true;
    parameters.push(parameter);
  }
  if (parameters.length > 0) op.parameters = parameters;

  const body = request.bodyTarget;
  if (body.kind !== 'none') {
    const streaming = rpc.kind === 'client_streaming' || rpc.kind === 'bidi_streaming';
    if (request.rawBody) {
      op.requestBody = {
        description: 'Raw bytes, passed upstream with their content type (google.api.HttpBody).',
        required: false,
        content: { [ANY_CONTENT]: {} },
      };
    } else {
      const bound = boundInBody(route, body.kind === 'all' ? [] : [body.field.name]);
      const schema = withoutRequired(body.kind === 'all' ? schemas.message(rpc.input) : schemas.field(body.field), bound, schemas);
      const description = body.kind === 'field' ? protoComment(body.field) : undefined;
      op.requestBody = {
        ...(streaming ? { description: 'The client stream: one JSON message per line (newline-delimited JSON).' } : description ? { description } : {}),
        required: false,
        content: streaming ? { 'application/x-ndjson': { schema } } : { 'application/json': { schema } },
      };
    }
  }

  const policy = rpc.policy;
  // An optional bearer on public methods: a token that is sent is verified all the same.
  op.security = policy.public ? [{}, { [BEARER_SCHEME]: [] }] : [{ [BEARER_SCHEME]: [...policy.roles] }];

  const responses = successResponse(route, schemas, errors);
  for (const e of errorStatuses(route, errors)) responses[e.status] = { description: e.description, content: statusContent() };
  responses.default = { description: 'An error status from the upstream service (any gRPC code, mapped to HTTP).', content: statusContent() };
  delete (op as Partial<Operation>).responses; // written last, so the document reads top-down
  op.responses = responses;
  return op;
}

function successResponse(route: Route, schemas: MessageSchemas, errors: ErrorContext): Operation['responses'] {
  const { rpc, response } = route;
  if (rpc.kind === 'server_streaming' || rpc.kind === 'bidi_streaming') {
    // Streams always start with 200 (http/stream-writer.ts); an error after it is a last frame.
    if (response.raw) {
      return { '200': { description: 'The stream of raw bytes (google.api.HttpBody messages), back to back.', content: { [ANY_CONTENT]: {} } } };
    }
    const message = responseSchema(route, schemas);
    return {
      '200': {
        description:
          'The server stream. NDJSON (default): one `{"result": message}` per line and, on failure, a last `{"error": Status}` line. ' +
          'With `Accept: text/event-stream`: one `data:` event per message, then `event: end` with `{"trailers": {…}}` when it ends OK ' +
          '(close the EventSource on it, or it reconnects) or `event: error` with a Status on failure.',
        content: {
          ...streamContent(errors.streamFormat ?? 'ndjson', message),
          'text/event-stream': {
            schema: {
              type: 'string',
              description:
                'Server-Sent Events: `data: <message JSON>` per message; then `event: end` and `data: {"trailers": {…}}`, or `event: error` and `data: <Status JSON>`.',
            },
          },
        },
      },
    };
  }
  const status = rpc.policy.successStatus;
  if (NO_BODY.has(status)) return { [String(status)]: { description: 'Done; no body.' } };
  if (response.raw)
    return { [String(status)]: { description: 'Raw bytes with their own content type (google.api.HttpBody).', content: { [ANY_CONTENT]: {} } } };
  return { [String(status)]: { description: 'OK', content: { 'application/json': { schema: responseSchema(route, schemas) } } } };
}

/** Property names of the body's message that the path binds (`{id}` with body "*", `{post.id}` with body "post"). */
function boundInBody(route: Route, bodyPath: readonly string[]): string[] {
  const out: string[] = [];
  for (const target of route.request.pathFields) {
    const names = target.fields.map((f) => f.name);
    if (names.length !== bodyPath.length + 1 || !bodyPath.every((n, i) => names[i] === n)) continue;
    out.push(target.leaf.name, target.leaf.jsonName);
  }
  return out;
}

/**
 * A body's schema with the fields the path supplies no longer required: a client need not
 * repeat them (it may, with the same value). Inlined from the message's component, as
 * grpc-gateway's generator does for path-bound fields.
 */
function withoutRequired(schema: Schema, names: readonly string[], schemas: MessageSchemas): Schema {
  const name = schema.$ref?.slice('#/components/schemas/'.length);
  const component = name ? schemas.components[name] : undefined;
  if (!component?.required || !component.required.some((r) => names.includes(r))) return schema;
  const required = component.required.filter((r) => !names.includes(r));
  const copy: Schema = { ...component, required };
  if (required.length === 0) delete copy.required;
  copy.description = [component.description, `Fields bound by the path (${names.filter((_, i) => i % 2 === 1).join(', ')}) need not be repeated here.`]
    .filter(Boolean)
    .join('\n\n');
  return copy;
}

/** The default framing of a server stream (config `streamFormat`): NDJSON lines, the same under application/json, or one JSON array. */
function streamContent(format: 'ndjson' | 'ndjson-json' | 'json-array', message: Schema): Record<string, MediaType> {
  const line: Schema = {
    type: 'object',
    properties: { result: message, error: ref(STATUS_SCHEMA) },
    oneOf: [{ required: ['result'] }, { required: ['error'] }],
    additionalProperties: false,
  };
  if (format === 'ndjson') return { 'application/x-ndjson': { schema: line } };
  if (format === 'ndjson-json') return { 'application/json': { schema: line, 'x-stream': 'ndjson' } };
  return { 'application/json': { schema: { type: 'array', items: message }, 'x-stream': 'json-array' } };
}

function responseSchema(route: Route, schemas: MessageSchemas): Schema {
  const field = route.response.bodyField;
  return field ? schemas.field(field) : schemas.message(route.rpc.output);
}

function statusContent(): Record<string, MediaType> {
  return { 'application/json': { schema: ref(STATUS_SCHEMA) } };
}
