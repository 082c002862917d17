/**
 * Call deadlines: the smaller of the client's `grpc-timeout` header (gRPC HTTP/2 protocol:
 * 1–8 digits and a unit H, M, S, m, u, n) and the method's configured timeout, as Envoy's
 * max_grpc_timeout does: a client may shorten a deadline, never extend it past the
 * operator's. The transport sends what remains upstream as grpc-timeout, so the service
 * sees it too, and cancels the call when it passes (504 DEADLINE_EXCEEDED).
 */
import { resiliencePolicyFor, type ResilienceConfig } from '../config';
import type { InterceptorFactory } from '../pipeline';
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
 * The absolute deadline (Date.now() based) for a call, or undefined for none: the smaller
 * of the client's timeout and `configuredMs`. A client's `grpc-timeout: 0S` is a deadline
 * already past (the call fails DEADLINE_EXCEEDED, as in grpc-gateway); a configured 0
 * means no limit of the operator's.
 */
export function callDeadline(header: string | string[] | undefined, configuredMs: number | undefined, now = Date.now()): number | undefined {
  const text = Array.isArray(header) ? header[0] : header;
  const configured = configuredMs === undefined || configuredMs <= 0 ? undefined : Math.ceil(configuredMs);
  if (text === undefined) return configured === undefined ? undefined : now + configured;
  const client = Math.ceil(parseGrpcTimeout(text));
  return now + (configured === undefined || client < configured ? client : configured);
}

/**
 * Sets each call's deadline. Unary and client-streaming calls get the policy's timeoutMs,
 * server streams its streamTimeoutMs (none by default: a watch is meant to stay open).
 */
export function deadlineInterceptor(config: ResilienceConfig): InterceptorFactory {
  return (route) => {
    const policy = resiliencePolicyFor(config, route.rpc.service, route.rpc.name);
    const streaming = route.rpc.kind === 'server_streaming' || route.rpc.kind === 'bidi_streaming';
    const ms = streaming ? policy.streamTimeoutMs : policy.timeoutMs;
    return (next) => (call) => {
      call.deadline = callDeadline(call.headers['grpc-timeout'], ms);
      return next(call);
    };
  };
}
