/**
 * CORS (https://fetch.spec.whatwg.org/#http-cors-protocol) for the transcoded routes: an
 * allow list of origins, preflights answered here (204) before the catch-all route could
 * answer 405, and the headers a browser script may read listed in Access-Control-Expose-Headers.
 * An origin that is not listed gets no Access-Control-* header at all, so the browser refuses.
 * A preflight's Access-Control-Allow-Methods lists the methods routed for its path (the route
 * table's, as Envoy's per-route CORS policy would), within `methods`; a preflight for a path no
 * route serves is answered as the request would be, 404.
 *
 * Not @fastify/cors: it registers its own `OPTIONS *` route, which collides with the
 * transcoding plugin's catch-all for every method, and sets headers on the Fastify reply,
 * which a hijacked server stream (watch over SSE/NDJSON) never writes. Here every header goes
 * on the raw response, as server-limits.ts and the tracing hooks do.
 */
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';

/** Cross-origin access from browsers (config `cors`); off while `origins` is empty. */
export interface CorsConfig {
  /**
   * Origins allowed, exactly as browsers send them (`https://app.example.com`, `http://localhost:3000`),
   * or `*` for any origin (refused with `credentials`). Empty (the default): CORS off, no headers.
   */
  readonly origins: readonly string[];
  /** Send `Access-Control-Allow-Credentials: true`: browsers then send cookies and HTTP auth. */
  readonly credentials: boolean;
  /** Methods a preflight may allow: its answer lists those routed for the path, within these. */
  readonly methods: readonly string[];
  /** Request headers a preflight allows; empty = whatever the preflight asks for (the origin is trusted already). */
  readonly allowedHeaders: readonly string[];
  /** Response headers scripts may read beyond the CORS-safelisted ones. */
  readonly exposedHeaders: readonly string[];
  /** How long a browser may cache a preflight answer (Access-Control-Max-Age), in seconds. */
  readonly maxAgeSeconds: number;
}

export const DEFAULT_CORS: CorsConfig = Object.freeze({
  origins: [],
  credentials: false,
  methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
  allowedHeaders: [],
  exposedHeaders: [
    'x-request-id',
    'x-trace-id',
    'traceresponse',
    'grpc-status',
    'grpc-message',
    'retry-after',
    'ratelimit-limit',
    'ratelimit-remaining',
    'ratelimit-reset',
    'ratelimit-policy',
  ],
  maxAgeSeconds: 600,
});

/** A serialized origin: scheme, host and optional port; no path, no trailing slash. */
const ORIGIN = /^https?:\/\/[a-z0-9.-]+(:[0-9]{1,5})?$|^https?:\/\/\[[0-9a-f:.]+\](:[0-9]{1,5})?$/;

/** Why `cors` is not a valid configuration, or undefined when it is. */
export function corsConfigProblem(cors: CorsConfig): string | undefined {
  for (const o of cors.origins) {
    if (o !== '*' && !ORIGIN.test(o)) return `origin "${o}" is not scheme://host[:port] in lower case, nor "*"`;
  }
  if (cors.credentials && cors.origins.includes('*')) return 'credentials cannot be allowed for any origin ("*"): list the origins';
  if (!Number.isInteger(cors.maxAgeSeconds) || cors.maxAgeSeconds < 0) return 'maxAgeSeconds must be an integer >= 0';
  const names = [...cors.methods, ...cors.allowedHeaders, ...cors.exposedHeaders];
  if (names.some((n) => typeof n !== 'string' || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(n))) return 'methods and header names must be HTTP tokens';
  return undefined;
}

/** The methods routed for a raw path (without the query), or undefined when no route serves it. */
export type RoutedMethods = (path: string) => readonly string[] | undefined;

/**
 * A request's CORS headers, set on `res`; true when it is a preflight to answer 204 (its
 * headers set). `url` is the raw request target.
 */
export type CorsStart = (method: string, headers: IncomingHttpHeaders, url: string, res: ServerResponse) => boolean;

/**
 * Adds the CORS hook to `scope` (the transcoding routes' scope) and returns what it runs per
 * request. Nothing is added (undefined) while `cors.origins` is empty.
 */
export function registerCors(scope: FastifyInstance, cors: CorsConfig, routedMethods: RoutedMethods): CorsStart | undefined {
  if (cors.origins.length === 0) return undefined;
  const any = cors.origins.includes('*');
  const allowed = new Set(cors.origins);
  const allowedMethods = new Set(cors.methods);
  const methodsFor = (path: string): string | undefined =>
    routedMethods(path)
      ?.filter((m) => allowedMethods.has(m))
      .join(', ');
  const allowedHeaders = cors.allowedHeaders.length > 0 ? cors.allowedHeaders.join(', ') : undefined;
  const exposed = cors.exposedHeaders.join(', ');
  const maxAge = String(cors.maxAgeSeconds);

  const start: CorsStart = (method, headers, url, res) => {
    // The answer depends on Origin whoever asks, so caches must key on it.
    if (!any) res.appendHeader('vary', 'Origin');
    const origin = headers.origin;
    if (origin === undefined || !(any || allowed.has(origin))) return false;
    res.setHeader('access-control-allow-origin', any ? '*' : origin);
    if (cors.credentials) res.setHeader('access-control-allow-credentials', 'true');
    const preflight = method === 'OPTIONS' && headers['access-control-request-method'] !== undefined;
    if (!preflight) {
      if (exposed !== '') res.setHeader('access-control-expose-headers', exposed);
      return false;
    }
    const q = url.indexOf('?');
    const methods = methodsFor(q === -1 ? url : url.slice(0, q));
    // No route: the OPTIONS goes on to the catch-all and is answered 404, as the request would be.
    if (methods === undefined) return false;
    // None left within `methods`: no header, so the browser allows only the CORS-safelisted GET, HEAD and POST.
    if (methods !== '') res.setHeader('access-control-allow-methods', methods);
    const asked = headers['access-control-request-headers'];
    if (allowedHeaders !== undefined) res.setHeader('access-control-allow-headers', allowedHeaders);
    else if (asked) {
      res.appendHeader('vary', 'Access-Control-Request-Headers');
      res.setHeader('access-control-allow-headers', asked);
    }
    res.setHeader('access-control-max-age', maxAge);
    return true;
  };
  scope.addHook('onRequest', (request, reply, done) => {
    if (!start(request.method, request.headers, request.raw.url ?? '/', reply.raw)) return done();
    void reply.code(204).header('content-length', '0').send();
  });
  return start;
}
