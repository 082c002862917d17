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
