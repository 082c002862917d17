/**
 * Every error the gateway answers is a google.rpc.Status in proto3 JSON,
 * `{"code","message","details"}` (transcode/status-json.ts), details being JSON `Any`s:
 * the gateway's own failures carry a google.rpc.ErrorInfo with a stable reason (domain
 * gateway.acme.dev) and, for bad input, a google.rpc.BadRequest. Each operation lists the
 * statuses its route can answer from the gateway itself; `default` covers whatever the
 * upstream service answers (any gRPC code, mapped by http/status-map.ts).
 */
import type { Route } from '../transcode';
import { ref, type Schema } from './json-schema';

export const STATUS_SCHEMA = 'google.rpc.Status';

/** What decides which statuses an operation lists. */
export interface ErrorContext {
  /** Bearer tokens are verified at the gateway (auth mode jwt). */
  readonly authAtEdge: boolean;
  /** Requests may be refused with 429 by a rate limit. */
  readonly rateLimited: boolean;
  /** Bodies of any content type are read as JSON (no 415). */
  readonly anyContentTypeAsJson?: boolean;
  /** Default framing of JSON server streams (config `streamFormat`). */
  readonly streamFormat?: 'ndjson' | 'ndjson-json' | 'json-array';
}

/** Component schemas of the error body and the details the gateway itself sends. */
export function errorSchemas(): Record<string, Schema> {
  return {
    [STATUS_SCHEMA]: {
      type: 'object',
      description: 'The error model of gRPC and of every error response (google/rpc/status.proto).',
      properties: {
        code: { type: 'integer', format: 'int32', description: 'The gRPC status code (google.rpc.Code).' },
        message: { type: 'string', description: 'A developer-facing message in English.' },
        details: { type: 'array', items: ref('google.protobuf.Any'), description: 'Rich details, e.g. google.rpc.ErrorInfo, google.rpc.BadRequest.' },
      },
      required: ['code', 'message', 'details'],
      additionalProperties: false,
    },
    'google.protobuf.Any': {
      type: 'object',
      description: 'A detail message of the type named by "@type", its fields beside it.',
      properties: { '@type': { type: 'string' } },
      required: ['@type'],
      additionalProperties: true,
      examples: [
        { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'INVALID_FIELD', domain: 'gateway.acme.dev', metadata: {} },
        { '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: [{ field: 'email', description: 'must be an email address' }] },
      ],
    },
  };
}

interface ErrorResponse {
  readonly status: string;
  readonly description: string;
}

/** The gateway-side error statuses `route` can answer, in status order. */
export function errorStatuses(route: Route, context: ErrorContext): ErrorResponse[] {
  const out: ErrorResponse[] = [
    { status: '400', description: 'INVALID_ARGUMENT: malformed JSON, an unknown or invalid field or parameter (google.rpc.BadRequest names each).' },
  ];
  const policy = route.rpc.policy;
  if (context.authAtEdge) {
    out.push({
      status: '401',
      description: policy.public ? 'UNAUTHENTICATED: a bearer token was sent and is invalid.' : 'UNAUTHENTICATED: no bearer token, or an invalid one.',
    });
    if (policy.roles.length > 0) out.push({ status: '403', description: `PERMISSION_DENIED: the token's role is not one of ${policy.roles.join(', ')}.` });
  }
  if (route.request.hasBody) {
    out.push({ status: '413', description: 'BODY_TOO_LARGE: the body is over the configured limit.' });
    if (!route.request.rawBody && !context.anyContentTypeAsJson) out.push({ status: '415', description: 'UNSUPPORTED_MEDIA_TYPE: the body is not JSON.' });
  }
  if (context.rateLimited) out.push({ status: '429', description: 'RESOURCE_EXHAUSTED: rate limited; retry later.' });
  out.push(
    { status: '503', description: 'UNAVAILABLE: the upstream service cannot be reached.' },
    { status: '504', description: 'DEADLINE_EXCEEDED: no answer within the deadline (grpc-timeout header or configured).' },
  );
  return out;
}
