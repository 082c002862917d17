/**
 * Plain HTTP routes compiled at start-up from config `httpRoutes`: where each is served, the
 * path it sends upstream, its auth and rate-limit policy, and its upstreams taken in turn.
 * Built once; a request only slices its path and takes the next upstream.
 */
import type { HttpRoute, HttpRoutesConfig } from '../config';
import type { MethodPolicy, RouteTable } from '../transcode';

/** One upstream of a route: where to send, and whether its last health check passed. */
export interface ProxyUpstream {
  /** `http://host:port`. */
  readonly origin: string;
  /** The URL's path without a trailing `/` ('' for none): prepended to every forwarded path. */
  readonly basePath: string;
  /** Set by the health check (true until a check fails). */
  healthy: boolean;
}

/** A compiled plain HTTP route. */
export class ProxyRoute {
  /** `http:<name>`: how metrics, /readyz, logs and errors name the route. */
  readonly service: string;
  /** The served pattern, global prefix included (`/api/legacy/**`): the metrics and log label. */
  readonly template: string;
  /** The literal path served (`/api/legacy`); with `prefix` also everything below it. */
  readonly mount: string;
  /** True for `/**` routes: the mount and every path below it. */
  readonly prefix: boolean;
  /** The path kept between the upstream's base path and the rest (the parts not stripped). */
  private readonly kept: string;
  /** What is stripped from the client's path (X-Forwarded-Prefix), '' for nothing. */
  readonly stripped: string;
  /** Auth and rate-limit policy, in the shape transcoded methods have it. */
  readonly policy: MethodPolicy;
  readonly upstreams: readonly ProxyUpstream[];
  private cursor = 0;

  constructor(
    readonly name: string,
    readonly config: HttpRoute,
    global: Pick<HttpRoutesConfig, 'prefix' | 'stripPrefix'>,
  ) {
    this.service = `http:${name}`;
    this.prefix = config.path.endsWith('/**');
    const own = this.prefix ? config.path.slice(0, -3) : config.path;
    this.mount = global.prefix + own;
    this.template = global.prefix + config.path;
    const parts = [global.stripPrefix ? '' : global.prefix, config.stripPrefix ? '' : own];
    this.kept = parts.join('');
    this.stripped = (global.stripPrefix ? global.prefix : '') + (config.stripPrefix ? own : '');
    this.policy = { successStatus: 200, public: config.public, roles: config.roles, rateLimit: config.rateLimit };
    this.upstreams = config.upstreams.map((u) => {
      const url = new URL(u);
      return { origin: url.origin, basePath: url.pathname.replace(/\/+$/, ''), healthy: true };
    });
  }

  /** The next upstream in turn, skipping those failing their health check while another passes. */
  next(): ProxyUpstream {
    const n = this.upstreams.length;
    for (let i = 0; i < n; i++) {
      const upstream = this.upstreams[this.cursor++ % n];
      if (upstream.healthy) return upstream;
    }
    return this.upstreams[this.cursor++ % n];
  }

  /** Whether this route serves the raw `path` (no query), as its Fastify routes match it (proxy-plugin.ts). */
  serves(path: string): boolean {
    return path === (this.mount === '' ? '/' : this.mount) || (this.prefix && path.startsWith(`${this.mount}/`));
  }

  /** The path sent to `upstream` for the client's `path` (no query; it is under the mount). */
  upstreamPath(upstream: ProxyUpstream, path: string): string {
    const sent = upstream.basePath + this.kept + path.slice(this.mount.length);
    return sent === '' ? '/' : sent.startsWith('/') ? sent : `/${sent}`;
  }
}

/** Compiles `config`; a transcoded route under an HTTP route, or two HTTP routes on one path, stop the start. */
export function compileProxyRoutes(config: HttpRoutesConfig, transcoded: RouteTable): readonly ProxyRoute[] {
  const routes = Object.entries(config.routes).map(([name, route]) => new ProxyRoute(name, route, config));
  const seen = new Map<string, string>();
  for (const route of routes) {
    const key = `${route.prefix ? 'prefix' : 'exact'} ${route.mount}`;
    const other = seen.get(key);
    if (other !== undefined) throw new Error(`httpRoutes: routes "${other}" and "${route.name}" both serve ${route.template}`);
    seen.set(key, route.name);
    for (const t of transcoded.routes) {
      const literal = literalPrefix(t.binding.path);
      const under = route.prefix ? literal === route.mount || literal.startsWith(`${route.mount}/`) || route.mount === '' : literal === route.mount;
      if (under) {
        throw new Error(
          `httpRoutes.routes.${route.name}: ${route.template} covers ${t.binding.httpMethod} ${t.binding.path} of ${t.rpc.service}.${t.rpc.name}; give one of them another path`,
        );
      }
    }
  }
  return routes;
}

/** The literal segments of a path template before its first variable or wildcard. */
function literalPrefix(template: string): string {
  const cut = template.search(/[{*:]/);
  const head = cut === -1 ? template : template.slice(0, cut);
  return cut === -1 ? head : head.slice(0, head.lastIndexOf('/'));
}
