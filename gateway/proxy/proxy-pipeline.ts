/**
 * Each plain HTTP route's chain, composed once at start-up with pipeline/compose.ts, in the
 * order transcoded routes have: auth (edge/auth.ts's authorizer on the route's policy) →
 * rate limit (edge/rate-limit.ts's limiter) → breaker, bulkhead and retries around the
 * forward (proxy-forward.ts). Metrics and tracing are Fastify hooks on the scope that holds
 * both kinds of routes (app.ts). A route pays only for the policies that apply to it.
 */
import type { RateLimitConfig } from '../config';
import type { Authorize } from '../edge';
import type { Limiter } from '../edge/rate-limiting';
import { compose } from '../pipeline';
import type { UpstreamGuard } from '../upstream/resilience';
import type { ProxyHandler, ProxyInterceptor } from './proxy-call';
import { forwardHandler } from './proxy-forward';
import type { ProxyRoute } from './proxy-route';

/** The policies the gateway runs; undefined when off. */
export interface ProxyPolicies {
  readonly authorize: Authorize | undefined;
  readonly limiter: Limiter | undefined;
  readonly rateLimit: RateLimitConfig;
}

/** The limit of `route`: `rateLimit.overrides["http:<name>"]`, then the route's own, then the default; undefined = none. */
export function proxyRouteLimit(route: ProxyRoute, config: RateLimitConfig): { requestsPerMinute: number; burst: number } | undefined {
  const limit = config.overrides[route.service] ?? route.config.rateLimit ?? { requestsPerMinute: config.requestsPerMinute, burst: config.burst };
  return config.enabled && limit.requestsPerMinute > 0 ? limit : undefined;
}

/** The handler of `route`, its policies composed around the guarded forward. */
export function compileProxyHandler(route: ProxyRoute, policies: ProxyPolicies, guard: UpstreamGuard): ProxyHandler {
  const interceptors: ProxyInterceptor[] = [];
  const { authorize, limiter } = policies;
  if (authorize !== undefined) {
    interceptors.push((next) => async (call) => {
      await authorize(route.policy, call.headers);
      return next(call);
    });
  }
  const limit = proxyRouteLimit(route, policies.rateLimit);
  if (limiter !== undefined && limit !== undefined) {
    interceptors.push((next) => async (call) => {
      await limiter(route.service, limit, call.headers, call.forwardedFor);
      return next(call);
    });
  }
  return compose<ProxyHandler>(interceptors, forwardHandler(route, guard));
}
