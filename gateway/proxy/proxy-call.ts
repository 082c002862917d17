/**
 * The proxy's counterpart of pipeline/call.ts. A transcoded Call carries an RPC (a route with
 * request and response plans, metadata, messages, a stream sink) that a byte-for-byte HTTP
 * forward has none of; a fake Route would leave those plans undefined for any interceptor
 * that reads them. So plain HTTP routes get this small call type, and the same policy cores
 * (edge/auth's authorizer, edge/rate-limit's limiter, upstream/resilience's guard) are
 * composed around it in the same order as on transcoded routes (proxy-pipeline.ts).
 * Framework-free: the Fastify side (proxy-plugin.ts) supplies `attempt`.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Cancellation } from '../upstream/transport';
import type { ProxyRoute, ProxyUpstream } from './proxy-route';

/** The head of an upstream's answer, not yet sent to the client. */
export interface UpstreamAnswer {
  readonly statusCode: number;
  /** Sends the answer to the client, its body streamed as it comes. */
  send(): void;
  /** Drops it (its body unread), before a retry. */
  discard(): void;
}

/** One request on a plain HTTP route. */
export interface ProxyCall {
  readonly route: ProxyRoute;
  /** The client's headers (lower-case names), as the policies read them. */
  readonly headers: IncomingHttpHeaders;
  readonly method: string;
  /** X-Forwarded-For as it goes upstream: the incoming chain with the client's socket address appended. */
  readonly forwardedFor: string;
  /** Aborted when the client goes away. */
  readonly signal: Cancellation;
  /** True when a failed attempt may be made again: an idempotent method without a body. */
  readonly retryable: boolean;
  /**
   * One attempt on `upstream`: resolves with the answer's head; rejects with a local CallError
   * (UNAVAILABLE: refused, reset, no connection in time; DEADLINE_EXCEEDED: no answer in time).
   */
  attempt(upstream: ProxyUpstream): Promise<UpstreamAnswer>;
}

/** Runs a call until its answer is on its way to the client; rejects to have an error answered. */
export type ProxyHandler = (call: ProxyCall) => Promise<void>;

/** A policy around the forward, as pipeline interceptors are around the upstream call. */
export type ProxyInterceptor = (next: ProxyHandler) => ProxyHandler;

/** RFC 9110 §9.2.2. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

/** An idempotent method whose request carries no body (a streamed body cannot be sent twice). */
export function isRetryable(method: string, headers: IncomingHttpHeaders): boolean {
  if (!IDEMPOTENT.has(method)) return false;
  const length = headers['content-length'];
  return headers['transfer-encoding'] === undefined && (length === undefined || length === '0');
}
