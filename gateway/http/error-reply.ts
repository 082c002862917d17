/**
 * Turns anything thrown on a request's path into (HTTP status, headers, google.rpc.Status
 * body). Gateway errors keep their catalogue reason; upstream statuses keep their details;
 * Fastify's own failures (body too large, bad content type) map to the catalogue; anything
 * else is an INTERNAL whose cause is logged, never sent.
 */
import type { Registry } from '@bufbuild/protobuf';
import { GatewayError, gatewayStatusJson, upstreamStatusJson, type StatusJson } from '../transcode';
import { CallError, type Metadata } from '../upstream/transport';
import { gatewayFailure } from '../upstream/upstream-failure';
import { warnSummarized } from '../observability/failure-summary';
import { errorStatusHeaders, httpStatusFromCode } from './status-map';

/** A rendered error response. */
export interface ErrorReply {
  readonly httpStatus: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly status: StatusJson;
  /** Upstream metadata that came with a failed call, to surface as headers. */
  readonly upstreamHeaders: Metadata;
  readonly upstreamTrailers: Metadata;
}

interface Logger {
  error(obj: unknown, msg?: string): void;
  warn(obj: unknown, msg?: string): void;
}

/**
 * Maps a thrown value to the error response. `service` names the upstream of the call,
 * when there was one: gateway-made call failures are reported against it.
 */
export function errorReply(err: unknown, registry: Registry, log: Logger, service?: string): ErrorReply {
  if (err instanceof CallError) {
    const s = err.status;
    const own = service === undefined ? undefined : gatewayFailure(s, service);
    if (own) {
      // Summarised: in an outage every request fails alike (observability/failure-summary.ts).
      warnSummarized(log, `${service}|${s.code}|${s.message}`, { service, code: s.code, cause: s.message }, 'upstream call failed');
      return gatewayReply(own);
    }
    const httpStatus = httpStatusFromCode(s.code);
    return {
      httpStatus,
      headers: errorStatusHeaders(httpStatus),
      status: upstreamStatusJson(s.code, s.message, s.details, registry),
      upstreamHeaders: err.headers,
      upstreamTrailers: s.trailers,
    };
  }
  const gatewayError = err instanceof GatewayError ? err : fromFramework(err);
  if (gatewayError) return gatewayReply(gatewayError);
  log.error({ err }, 'unexpected error while handling a request');
  const internal = new GatewayError('INTERNAL', 'internal error');
  return { httpStatus: 500, headers: {}, status: gatewayStatusJson(internal), upstreamHeaders: [], upstreamTrailers: [] };
}

function gatewayReply(err: GatewayError): ErrorReply {
  const httpStatus = err.httpStatus ?? httpStatusFromCode(err.code);
  return {
    httpStatus,
    headers: { ...errorStatusHeaders(httpStatus), ...err.headers },
    status: gatewayStatusJson(err),
    upstreamHeaders: [],
    upstreamTrailers: [],
  };
}

/** Fastify raises these before our handler runs; they get catalogue reasons too. */
function fromFramework(err: unknown): GatewayError | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  switch (code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new GatewayError('BODY_TOO_LARGE', 'request body is larger than the configured limit');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new GatewayError('UNSUPPORTED_MEDIA_TYPE', 'unsupported content type');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new GatewayError('MALFORMED_JSON', 'request body is not valid JSON');
    default:
      return undefined;
  }
}
