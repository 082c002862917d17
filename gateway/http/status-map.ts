/**
 * gRPC status code → HTTP status: the one place this mapping lives. Same table as
 * grpc-gateway's runtime.HTTPStatusFromCode.
 */
import { Code } from '../transcode';

const TABLE: Readonly<Record<number, number>> = Object.freeze({
  [Code.OK]: 200,
  [Code.CANCELLED]: 499,
  [Code.UNKNOWN]: 500,
  [Code.INVALID_ARGUMENT]: 400,
  [Code.DEADLINE_EXCEEDED]: 504,
  [Code.NOT_FOUND]: 404,
  [Code.ALREADY_EXISTS]: 409,
  [Code.PERMISSION_DENIED]: 403,
  [Code.RESOURCE_EXHAUSTED]: 429,
  [Code.FAILED_PRECONDITION]: 400,
  [Code.ABORTED]: 409,
  [Code.OUT_OF_RANGE]: 400,
  [Code.UNIMPLEMENTED]: 501,
  [Code.INTERNAL]: 500,
  [Code.UNAVAILABLE]: 503,
  [Code.DATA_LOSS]: 500,
  [Code.UNAUTHENTICATED]: 401,
});

/** The HTTP status for a gRPC code; codes outside the spec are 500. */
export function httpStatusFromCode(code: number): number {
  return TABLE[code] ?? 500;
}

const NO_HEADERS: Readonly<Record<string, string>> = Object.freeze({});
const UNAUTHORIZED_HEADERS: Readonly<Record<string, string>> = Object.freeze({ 'www-authenticate': 'Bearer' });

/**
 * Headers an error status itself implies: every 401 carries `WWW-Authenticate: Bearer`
 * (RFC 9110 §15.5.2 requires the challenge; RFC 6750 names the scheme; grpc-gateway sends it
 * since v2.6), whether the gateway or an upstream refused the caller.
 */
export function errorStatusHeaders(httpStatus: number): Readonly<Record<string, string>> {
  return httpStatus === 401 ? UNAUTHORIZED_HEADERS : NO_HEADERS;
}
