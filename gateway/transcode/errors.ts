/**
 * The gateway's one error language: a gRPC status code, a message, and a stable reason from
 * the catalogue below (sent as google.rpc.ErrorInfo so clients and tests can match on it).
 * HTTP statuses are derived in exactly one place (http/status-map.ts); a few gateway
 * failures have an HTTP status of their own (405, 413, 415) that no gRPC code expresses.
 */

/** gRPC status codes (https://github.com/grpc/grpc/blob/master/doc/statuscodes.md). */
export const Code = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;
export type Code = (typeof Code)[keyof typeof Code];

/** The ErrorInfo domain of errors raised by the gateway itself (not by an upstream). */
export const GATEWAY_DOMAIN = 'gateway.acme.dev';

interface ReasonSpec {
  readonly code: Code;
  /** Set only where the HTTP status is not the one mapped from `code`. */
  readonly httpStatus?: number;
}

/** The catalogue: every gateway-side failure, with its gRPC code. Reasons are stable API. */
export const Reasons = {
  ROUTE_NOT_FOUND: { code: Code.NOT_FOUND },
  METHOD_NOT_ALLOWED: { code: Code.UNIMPLEMENTED, httpStatus: 405 },
  MALFORMED_JSON: { code: Code.INVALID_ARGUMENT },
  /** A JSON (or NDJSON) body that is not valid UTF-8 (RFC 8259 §8.1): refused, never stored as U+FFFD. */
  INVALID_UTF8: { code: Code.INVALID_ARGUMENT },
  INVALID_FIELD: { code: Code.INVALID_ARGUMENT },
  VALIDATION_FAILED: { code: Code.INVALID_ARGUMENT },
  UNKNOWN_QUERY_PARAMETER: { code: Code.INVALID_ARGUMENT },
  BOUND_QUERY_PARAMETER: { code: Code.INVALID_ARGUMENT },
  /** A body value for a path-bound field that differs from the path's. */
  BOUND_FIELD_CONFLICT: { code: Code.INVALID_ARGUMENT },
  INVALID_PATH_PARAMETER: { code: Code.INVALID_ARGUMENT },
  INVALID_HEADER: { code: Code.INVALID_ARGUMENT },
  HEADERS_TOO_LARGE: { code: Code.INVALID_ARGUMENT, httpStatus: 431 },
  BAD_REQUEST: { code: Code.INVALID_ARGUMENT },
  REQUEST_TIMEOUT: { code: Code.DEADLINE_EXCEEDED, httpStatus: 408 },
  OVERLOADED: { code: Code.UNAVAILABLE },
  /** The client holds `limits.maxStreamsPerClient` open streams already: its own quota, as a rate limit. */
  TOO_MANY_STREAMS: { code: Code.RESOURCE_EXHAUSTED },
  /**
   * The gateway holds `limits.maxOpenStreams` open streams (all clients together): overload,
   * not the caller's quota, so UNAVAILABLE (503, retry later), as Envoy's overload manager
   * answers and as a gRPC client sees a server's REFUSED_STREAM past MAX_CONCURRENT_STREAMS.
   */
  STREAMS_FULL: { code: Code.UNAVAILABLE },
  /**
   * No message either way (upstream or client) for `limits.streamIdleTimeoutMs` (Envoy's
   * stream_idle_timeout): the stream ends and its upstream call is cancelled. A timeout, not
   * the client's cancellation, so DEADLINE_EXCEEDED (504 before the stream started).
   */
  STREAM_IDLE_TIMEOUT: { code: Code.DEADLINE_EXCEEDED },
  RATE_LIMITED: { code: Code.RESOURCE_EXHAUSTED },
  INVALID_TIMEOUT: { code: Code.INVALID_ARGUMENT },
  /** A WebSocket connection sent request messages faster than `websocket.maxMessagesPerSecond`. */
  MESSAGE_RATE_LIMITED: { code: Code.RESOURCE_EXHAUSTED },
  /** A WebSocket request message where the call takes none (a second one to a unary or server-streaming method). */
  UNEXPECTED_MESSAGE: { code: Code.INVALID_ARGUMENT },
  BODY_TOO_LARGE: { code: Code.RESOURCE_EXHAUSTED, httpStatus: 413 },
  UNSUPPORTED_MEDIA_TYPE: { code: Code.INVALID_ARGUMENT, httpStatus: 415 },
  UNAUTHENTICATED: { code: Code.UNAUTHENTICATED },
  PERMISSION_DENIED: { code: Code.PERMISSION_DENIED },
  /** The upstream could not be reached (connection refused or dropped, no address). */
  UPSTREAM_UNAVAILABLE: { code: Code.UNAVAILABLE },
  /** The upstream's circuit breaker is open: failed at once, with Retry-After. */
  CIRCUIT_OPEN: { code: Code.UNAVAILABLE },
  /** The upstream already has its maximum of calls in flight and queued. */
  BULKHEAD_FULL: { code: Code.UNAVAILABLE },
  /** The gateway is shutting down: an open server stream ends with this so its client reconnects (elsewhere, or later). */
  SHUTTING_DOWN: { code: Code.UNAVAILABLE },
  /** The call's deadline (client grpc-timeout or configured timeout) passed. */
  DEADLINE_EXCEEDED: { code: Code.DEADLINE_EXCEEDED },
  BAD_UPSTREAM_RESPONSE: { code: Code.INTERNAL },
  /** A bidi-streaming method: routed (so it is not a 404) but not served yet. */
  BIDI_STREAMING_UNSUPPORTED: { code: Code.UNIMPLEMENTED },
  INTERNAL: { code: Code.INTERNAL },
} as const satisfies Record<string, ReasonSpec>;
export type Reason = keyof typeof Reasons;

/** One google.rpc.BadRequest.FieldViolation. */
export interface FieldViolation {
  field: string;
  description: string;
}

/** An error raised by the gateway, carrying its catalogue reason. */
export class GatewayError extends Error {
  readonly code: Code;
  readonly httpStatus: number | undefined;

  constructor(
    readonly reason: Reason,
    message: string,
    readonly violations: readonly FieldViolation[] = [],
    /** Extra response headers this error implies (e.g. Allow on 405). */
    readonly headers: Readonly<Record<string, string>> = {},
    /** ErrorInfo metadata (e.g. which upstream service); never internal addresses. */
    readonly metadata: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'GatewayError';
    const spec: ReasonSpec = Reasons[reason];
    this.code = spec.code;
    this.httpStatus = spec.httpStatus;
  }
}

/** Shorthand for a 400 that names the offending field. */
export function invalidField(field: string, description: string, reason: Reason = 'INVALID_FIELD'): GatewayError {
  return new GatewayError(reason, `invalid value for field "${field}": ${description}`, [{ field, description }]);
}
