/**
 * Rate limits as a pipeline interceptor: a token bucket per caller and route. The caller is
 * the verified token's subject (this interceptor runs after auth), else the client address:
 * the socket's, or with `trustedProxies` the last X-Forwarded-For address before them. The
 * limit is, most specific first: a config override for the method, service or package, the
 * proto's `(acme.gateway.v1.method).rate_limit` (login and sign-up set stricter ones), then
 * the configured default. Over the limit: 429 RESOURCE_EXHAUSTED with Retry-After and the
 * RateLimit-* fields of draft-ietf-httpapi-ratelimit-headers. A store that fails lets calls
 * through (`onStoreFailure: open`) or answers 503 (`closed`); it never crashes a request.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { RateLimitConfig } from '../config';
import type { InterceptorFactory } from '../pipeline';
import { GatewayError, type Route } from '../transcode';
import type { BucketStore, TakeResult } from './rate-limit-store';

/** The limit that applies to `route`, or undefined for none. */
export function routeLimit(route: Route, config: RateLimitConfig): { requestsPerMinute: number; burst: number } | undefined {
  const service = route.rpc.service;
  const method = `${service}/${route.rpc.name}`;
  const packages = service
    .split('.')
    .map((_, i, parts) => parts.slice(0, parts.length - 1 - i).join('.'))
    .filter(Boolean);
  for (const key of [method, service, ...packages]) {
    const o = config.overrides[key];
    if (o) return o.requestsPerMinute > 0 ? o : undefined;
  }
  const fromProto = route.rpc.policy.rateLimit;
  if (fromProto) return fromProto;
  return config.requestsPerMinute > 0 ? { requestsPerMinute: config.requestsPerMinute, burst: config.burst } : undefined;
}

/**
 * A per-route limiter: takes one request of `caller` on `routeKey` from the bucket store, or
 * refuses (throws). Undefined when the store decided synchronously and admitted the request.
 */
export type Limiter = (
  routeKey: string,
  limit: { requestsPerMinute: number; burst: number },
  headers: IncomingHttpHeaders,
  forwardedFor: string,
) => Promise<void> | undefined;

/**
 * The check shared by transcoded routes (rateLimitInterceptor) and plain HTTP routes:
 * `verifiedTokens` says whether a bearer token reaching here was verified (auth on);
 * `forwardedFor` is the X-Forwarded-For chain with the socket's address appended.
 */
export function createLimiter(config: RateLimitConfig, store: BucketStore, verifiedTokens: boolean, onStoreError: (err: unknown) => void): Limiter {
  const trusted = new Set(config.trustedProxies);
  const storeFailed = (err: unknown): void => {
    onStoreError(err);
    if (config.onStoreFailure !== 'open') throw new GatewayError('OVERLOADED', 'rate limits cannot be checked right now; retry later');
  };
  return (routeKey, limit, headers, forwardedFor) => {
    const perSecond = limit.requestsPerMinute / 60;
    const caller = (verifiedTokens && subject(headers.authorization)) || `ip:${clientAddress(forwardedFor, trusted)}`;
    let taken;
    try {
      taken = store.take(`${routeKey}|${caller}`, perSecond, limit.burst);
    } catch (err) {
      storeFailed(err);
      return undefined;
    }
    if (!(taken instanceof Promise)) return enforce(taken, routeKey, limit, perSecond);
    return taken.then((result) => enforce(result, routeKey, limit, perSecond), storeFailed);
  };
}

/** Throws RATE_LIMITED when the bucket refused the request. */
function enforce(result: TakeResult, routeKey: string, limit: { burst: number }, perSecond: number): undefined {
  if (result.allowed) return undefined;
  const retryAfter = Math.max(1, Math.ceil(result.retryAfterMs / 1000));
  throw new GatewayError('RATE_LIMITED', `too many requests to ${routeKey}; retry in ${retryAfter} s`, [], {
    'retry-after': String(retryAfter),
    'ratelimit-limit': String(limit.burst),
    'ratelimit-remaining': '0',
    'ratelimit-reset': String(Math.max(1, Math.ceil(result.resetMs / 1000))),
    'ratelimit-policy': `${limit.burst};w=${Math.round(limit.burst / perSecond)}`,
  });
}

/** The interceptor factory: the limiter on every transcoded route that has a limit (see createLimiter). */
export function rateLimitInterceptor(
  config: RateLimitConfig,
  store: BucketStore,
  verifiedTokens: boolean,
  onStoreError: (err: unknown) => void,
): InterceptorFactory {
  const limiter = createLimiter(config, store, verifiedTokens, onStoreError);
  return (route) => {
    const limit = routeLimit(route, config);
    if (!config.enabled || !limit) return undefined;
    const routeKey = `${route.rpc.service}/${route.rpc.name}`;
    return (next) => (call) => {
      let pending;
      try {
        pending = limiter(routeKey, limit, call.headers, forwardedFor(call.metadata));
      } catch (err) {
        return Promise.reject(err);
      }
      return pending ? pending.then(() => next(call)) : next(call);
    };
  };
}

// jose is loaded by then: subjects are read only when auth verifies tokens (jwt mode). Looked
// up once, not by require() on every request.
let decodeJwt: typeof import('jose').decodeJwt | undefined;

function subject(header: string | string[] | undefined): string | undefined {
  if (typeof header !== 'string') return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!m) return undefined;
  try {
    decodeJwt ??= (require('jose') as typeof import('jose')).decodeJwt;
    const sub = decodeJwt(m[1]).sub;
    return typeof sub === 'string' ? `sub:${sub}` : undefined;
  } catch {
    return undefined;
  }
}

/** The X-Forwarded-For the gateway built for the call (the socket's address appended last). */
function forwardedFor(metadata: readonly (readonly [string, string | Uint8Array])[]): string {
  let xff = '';
  for (const [k, v] of metadata) if (k === 'x-forwarded-for' && typeof v === 'string') xff = v;
  return xff;
}

/** The client: the chain's last address, trusted proxies skipped from the right. */
function clientAddress(xff: string, trusted: ReadonlySet<string>): string {
  if (!xff.includes(',')) return xff.trim() || 'unknown'; // the socket's address alone: most calls
  const hops = xff
    .split(',')
    .map((h) => h.trim())
    .filter(Boolean);
  let i = hops.length - 1;
  while (i > 0 && trusted.has(hops[i])) i--;
  return hops[i] ?? 'unknown';
}
