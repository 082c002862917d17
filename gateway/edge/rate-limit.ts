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
import { decodeJwt } from 'jose';
import type { RateLimitConfig } from '../config';
import type { InterceptorFactory } from '../pipeline';
import { GatewayError, type Route } from '../transcode';
import type { BucketStore } from './rate-limit-store';

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

/** The interceptor factory; `verifiedTokens` says whether a bearer token reaching here was verified (auth on). */
export function rateLimitInterceptor(
  config: RateLimitConfig,
  store: BucketStore,
  verifiedTokens: boolean,
  onStoreError: (err: unknown) => void,
): InterceptorFactory {
  const trusted = new Set(config.trustedProxies);
  return (route) => {
    const limit = routeLimit(route, config);
    if (!config.enabled || !limit) return undefined;
    const perSecond = limit.requestsPerMinute / 60;
    const routeKey = `${route.rpc.service}/${route.rpc.name}`;
    return (next) => async (call) => {
      const caller = (verifiedTokens && subject(call.headers.authorization)) || `ip:${clientAddress(call.metadata, trusted)}`;
      let result;
      try {
        result = await store.take(`${routeKey}|${caller}`, perSecond, limit.burst);
      } catch (err) {
        onStoreError(err);
        if (config.onStoreFailure === 'open') return next(call);
        throw new GatewayError('OVERLOADED', 'rate limits cannot be checked right now; retry later');
      }
      if (!result.allowed) {
        const retryAfter = Math.max(1, Math.ceil(result.retryAfterMs / 1000));
        throw new GatewayError('RATE_LIMITED', `too many requests to ${routeKey}; retry in ${retryAfter} s`, [], {
          'retry-after': String(retryAfter),
          'ratelimit-limit': String(limit.burst),
          'ratelimit-remaining': '0',
          'ratelimit-reset': String(Math.max(1, Math.ceil(result.resetMs / 1000))),
          'ratelimit-policy': `${limit.burst};w=${Math.round(limit.burst / perSecond)}`,
        });
      }
      return next(call);
    };
  };
}

function subject(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!m) return undefined;
  try {
    const sub = decodeJwt(m[1]).sub;
    return typeof sub === 'string' ? `sub:${sub}` : undefined;
  } catch {
    return undefined;
  }
}

/** The gateway appended the socket's address last to x-forwarded-for; trusted proxies are skipped from the right. */
function clientAddress(metadata: readonly (readonly [string, string | Uint8Array])[], trusted: ReadonlySet<string>): string {
  let xff = '';
  for (const [k, v] of metadata) if (k === 'x-forwarded-for' && typeof v === 'string') xff = v;
  const hops = xff
    .split(',')
    .map((h) => h.trim())
    .filter(Boolean);
  let i = hops.length - 1;
  while (i > 0 && trusted.has(hops[i])) i--;
  return hops[i] ?? 'unknown';
}
