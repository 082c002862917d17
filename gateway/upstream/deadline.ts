/**
 * Call deadlines: the client's `grpc-timeout` header (gRPC HTTP/2 protocol: 1–8 digits and a
 * unit H, M, S, m, u, n) or the configured default for the method, whichever is given.
 */
import { GatewayError } from '../transcode';

const UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };
const TIMEOUT = /^(\d{1,8})([HMSmun])$/;

/** Parses a grpc-timeout value into milliseconds; throws INVALID_TIMEOUT when malformed. */
export function parseGrpcTimeout(value: string): number {
  const m = TIMEOUT.exec(value);
  if (!m) {
    throw new GatewayError('INVALID_TIMEOUT', `grpc-timeout "${value}" is not 1-8 digits followed by H, M, S, m, u or n`, [
      { field: 'grpc-timeout', description: 'malformed timeout' },
    ]);
  }
  return Number(m[1]) * UNIT_MS[m[2]];
}

/**
 * The absolute deadline (Date.now() based) for a call, or undefined for none. A client's
 * `grpc-timeout: 0S` is a deadline already past (the call fails DEADLINE_EXCEEDED, as in
 * grpc-gateway); a configured default of 0 means no deadline.
 */
export function callDeadline(header: string | string[] | undefined, defaultMs: number | undefined, now = Date.now()): number | undefined {
  const text = Array.isArray(header) ? header[0] : header;
  if (text !== undefined) return now + Math.ceil(parseGrpcTimeout(text));
  return defaultMs === undefined || defaultMs <= 0 ? undefined : now + Math.ceil(defaultMs);
}
