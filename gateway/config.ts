/**
 * The gateway's one options object: every option, its default and its meaning are declared
 * here, and this is the only file that reads argv, the environment or a config file.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_JSON_OPTIONS, NO_SERVICE_RULES, type CompileOptions, type JsonOptions, type ServiceRules } from './transcode';
import { loadServiceConfig, parseYaml } from './service-config';
import { COMPAT_PRESETS, type CompatPreset } from './compat-presets';
import type { StreamFormat } from './http/stream-writer';
import { LOG_FORMATS, parseLogFormat, type LogFormat } from '../shared-kit';
import { DEFAULT_FORWARDED_HEADERS } from './upstream/metadata';
import { corsConfigProblem, DEFAULT_CORS, type CorsConfig } from './edge/cors';

/** How the gateway checks callers' bearer tokens. */
export interface AuthConfig {
  /** `off` forwards tokens unchecked (services still verify them); `jwt` verifies at the edge. */
  readonly mode: 'off' | 'jwt';
  /** Where the JWKS comes from: an http(s) URL, or `rpc:/pkg.Service/Method` returning a JWKS-shaped message. */
  readonly jwks: string;
  /** Required `iss` claim, when set. */
  readonly issuer: string | undefined;
  /** Required `aud` claim, when set. */
  readonly audience: string | undefined;
}

/**
 * Deadline and resilience policy of calls to an upstream service (cockatiel breakers and
 * bulkheads, our retry loop). `resilience` holds the defaults; `resilience.overrides`
 * changes any of them for a package, a service or one method (`pkg.Service/Method`),
 * the most specific key winning, field by field. Breaker and bulkhead exist once per
 * service, so only package and service keys may set them.
 */
export interface ResiliencePolicy {
  /**
   * Deadline of unary and client-streaming calls, in ms: the call gets the smaller of this
   * and the client's grpc-timeout, and the service sees it (grpc-timeout). 0 = none, so a
   * frozen service would hold the request for ever: keep a default.
   */
  readonly timeoutMs: number;
  /** Deadline of server-streaming calls, in ms; 0 (the default) leaves watches open. */
  readonly streamTimeoutMs: number;
  readonly retry: RetryPolicy;
  readonly breaker: BreakerPolicy;
  readonly bulkhead: BulkheadPolicy;
}

/**
 * Retries of failed unary calls, only where safe: methods declared NO_SIDE_EFFECTS or
 * IDEMPOTENT (proto `idempotency_level`) or bound to GET; only on UNAVAILABLE, or on
 * RESOURCE_EXHAUSTED / UNAVAILABLE with a server pushback (`grpc-retry-pushback-ms`, gRFC
 * A6); never past the deadline. Streams are never retried.
 */
export interface RetryPolicy {
  /** Attempts in all, the first included; 1 turns retries off. */
  readonly maxAttempts: number;
  /** Backoff before retry n: random in [0, min(maxBackoffMs, initialBackoffMs * 2^(n-1))] (full jitter). */
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
  /**
   * Retry budget per service, so retries cannot multiply load during an outage: retries
   * may add this fraction of the calls made...
   */
  readonly budgetRatio: number;
  /** ...plus this many per second (a reserve of 10 s worth), so a quiet service can still retry. */
  readonly budgetMinPerSecond: number;
}

/**
 * Circuit breaker per service (cockatiel ConsecutiveBreaker). Counts upstream failures
 * (UNAVAILABLE, DEADLINE_EXCEEDED, INTERNAL, UNKNOWN, connection errors), never the
 * caller's own (INVALID_ARGUMENT, NOT_FOUND, PERMISSION_DENIED...). While open, calls fail
 * at once with 503 CIRCUIT_OPEN and Retry-After.
 */
export interface BreakerPolicy {
  /** Consecutive failures that open the breaker; 0 turns it off. */
  readonly consecutiveFailures: number;
  /** Time open before one trial call is let through (half-open); the transport reconnects then. */
  readonly halfOpenAfterMs: number;
}

/** Bulkhead per service (cockatiel): calls in flight and waiting; past both, 503 BULKHEAD_FULL at once. */
export interface BulkheadPolicy {
  /** Calls in flight at most (unary and client-streaming; streams are not counted); 0 = no bulkhead. */
  readonly maxInFlight: number;
  /** Calls waiting for a slot at most. */
  readonly maxQueued: number;
}

/** A partial policy, as an override gives it. */
export type ResilienceOverride = {
  readonly [K in keyof ResiliencePolicy]?: ResiliencePolicy[K] extends object ? Partial<ResiliencePolicy[K]> : ResiliencePolicy[K];
};

export interface ResilienceConfig extends ResiliencePolicy {
  /** Overrides keyed by package prefix, `pkg.Service` or `pkg.Service/Method`. */
  readonly overrides: Readonly<Record<string, ResilienceOverride>>;
}

/** What the HTTP server refuses and when (see http/server-limits.ts and README "Security"). */
export interface LimitsConfig {
  /** Time to receive a request's headers; a client that dribbles them gets 408. */
  readonly headersTimeoutMs: number;
  /**
   * Time to receive a request's body, from its headers: a body that stalls half-way gets 408
   * and the socket closes (http/request-timeout.ts; node's own whole-request timeout is off).
   * Client- and bidi-streaming bodies are exempt: `streamIdleTimeoutMs` governs them.
   */
  readonly requestTimeoutMs: number;
  /** An idle keep-alive socket (between requests) closes after this. */
  readonly keepAliveTimeoutMs: number;
  /** A socket with no traffic either way closes after this (0 = none; streams send keep-alive). */
  readonly idleTimeoutMs: number;
  /** Open client connections at most; more are refused at accept. */
  readonly maxConnections: number;
  /**
   * Listening sockets on the port (SO_REUSEPORT) feeding the one HTTP server (per worker):
   * node accepts one connection per socket per event-loop iteration, so at saturation a burst
   * of new connections waited seconds in the accept queue (http/accept-sockets.ts). 32 on Linux,
   * 1 (the server's own only) elsewhere; ignored with `workerBalancing: cluster` (the primary accepts).
   */
  readonly acceptSockets: number;
  /** Bytes of request bodies being received at once, across all requests; beyond it 503 OVERLOADED. */
  readonly maxBufferedBodyBytes: number;
  /**
   * Open streams per client address at once: HTTP server, client and bidi streams and
   * WebSocket calls together; beyond it 429 TOO_MANY_STREAMS (RESOURCE_EXHAUSTED).
   */
  readonly maxStreamsPerClient: number;
  /**
   * Open streams of all clients together (the same kinds), 0 = no cap; beyond it 503
   * STREAMS_FULL (UNAVAILABLE: the gateway is full, not the caller over its quota), WebSocket
   * close 4014. Below `maxConnections`, so watches cannot take every connection from unary
   * traffic; each stream may hold `streamBufferBytes` plus a transport window.
   */
  readonly maxOpenStreams: number;
  /**
   * Response bytes one stream may hold unsent for a slow reader before its upstream is paused
   * (HTTP/2 flow control: no window goes back until the reader catches up). A stream's memory
   * is bounded by this plus the transport's receive window per stream (h2: 4 MiB).
   */
  readonly streamBufferBytes: number;
  /**
   * An open SSE stream gets a `: keep-alive` comment line this often, so proxies and clients
   * that time out idle connections keep a quiet stream open (0 = none).
   */
  readonly sseKeepAliveMs: number;
  /** The `retry:` advice at the start of every SSE stream: how long EventSource waits before reconnecting. */
  readonly sseRetryMs: number;
  /**
   * A stream (HTTP server, client or bidi stream, WebSocket call) with no message either way
   * for this long ends with DEADLINE_EXCEEDED `STREAM_IDLE_TIMEOUT` and its upstream call is
   * cancelled (Envoy's stream_idle_timeout, whose default this is). SSE keep-alive comments,
   * WebSocket pings and blank NDJSON lines are not messages. 0 = none. Quiet watches that must
   * stay open longer need a larger value (or 0); clients of SSE reconnect on their own.
   */
  readonly streamIdleTimeoutMs: number;
}

/**
 * WebSocket access to the transcoded routes (http/websocket-plugin.ts; README "WebSocket").
 * Each connection is one call and holds one of the client's `limits.maxStreamsPerClient`;
 * a slow reader pauses the upstream past `limits.streamBufferBytes`, as for HTTP streams.
 */
export interface WebSocketConfig {
  /** Accept WebSocket upgrades on the routes' templates. */
  readonly enabled: boolean;
  /** A ping is sent this often; a peer that has not answered the previous one is cut (0 = no pings). */
  readonly pingIntervalMs: number;
  /** Largest message (frame payload, after reassembly) accepted; a larger one closes with 1009. */
  readonly maxMessageBytes: number;
  /** Sustained request messages per second per connection (token bucket; 0 = unlimited); past it 4008. */
  readonly maxMessagesPerSecond: number;
  /** Request messages a connection may send at once above the sustained rate (bucket size). */
  readonly messageBurst: number;
}

/** Token-bucket rate limits per caller (see edge/rate-limit.ts). */
export interface RateLimitConfig {
  /** Off: no limits at all. */
  readonly enabled: boolean;
  /** Default sustained rate per caller and route, when the proto sets none (0 = unlimited). */
  readonly requestsPerMinute: number;
  /** Default bucket size (requests at once). */
  readonly burst: number;
  /** Per service, package or method (`pkg.Service/Method`) overrides; the proto option wins over the default, these win over both. */
  readonly overrides: Readonly<Record<string, { requestsPerMinute: number; burst: number }>>;
  /** Proxies whose X-Forwarded-For is believed (exact addresses); the client is then the last address before them. */
  readonly trustedProxies: readonly string[];
  /** `memory` (this process) or `redis` (shared by every gateway instance). */
  readonly store: 'memory' | 'redis';
  /** redis://host:port for the redis store. */
  readonly redisUrl: string;
  /** When Redis cannot be reached: `open` lets requests through, `closed` answers 503. */
  readonly onStoreFailure: 'open' | 'closed';
}

/** The aggregation endpoints the gateway serves itself (gateway/bff/, package acme.bff.v1 mapped to `local`). */
export interface BffConfig {
  /**
   * Deadline of each part of an aggregated answer (the user, the posts, a count), in ms, within
   * the request's own: a part gets the smallest of this, its upstream method's timeoutMs and
   * the request's deadline less a reserve to answer in. A secondary part past it is reported
   * in `partial_failures` (DEADLINE_EXCEEDED) and the answer is still 200.
   */
  readonly partTimeoutMs: number;
}

/**
 * Plain HTTP routes beside the transcoded ones (the "Zuul seed", gateway/proxy/): a path
 * prefix forwarded to one or more HTTP services with @fastify/reply-from (undici), through
 * the same edge policies as transcoded routes: auth, rate limits, breaker, bulkhead, retries,
 * metrics, tracing. Each route is named; `http:<name>` labels it in metrics, /readyz and errors.
 */
export interface HttpRoutesConfig {
  /** Global prefix of every route's path ('' = none), e.g. `/api` (Zuul's `zuul.prefix`). */
  readonly prefix: string;
  /** Remove the global prefix from the path sent upstream (Zuul's `zuul.stripPrefix`). Default true. */
  readonly stripPrefix: boolean;
  /** The `sensitiveHeaders` of routes that set none. Default `cookie`, `set-cookie`, `authorization`. */
  readonly sensitiveHeaders: readonly string[];
  /** The routes, by name (letters, digits, `.`, `_`, `-`). */
  readonly routes: Readonly<Record<string, HttpRoute>>;
}

/** One plain HTTP route, its defaults filled in. */
export interface HttpRoute {
  /**
   * What it serves, under the global prefix: `/legacy/**` (`/legacy` and every path below it)
   * or one exact path (`/legacy/ping`). Literal segments only; the longest prefix wins, and a
   * transcoded route under it stops the start.
   */
  readonly path: string;
  /**
   * `http(s)://host:port[/base/path]`, one or more (a string or a list), used in turn
   * (round-robin); while one passes its health check, those failing it are skipped.
   */
  readonly upstreams: readonly string[];
  /** Remove the route's own prefix (`/legacy`) from the path sent upstream. Default true (Zuul's default). */
  readonly stripPrefix: boolean;
  /**
   * Headers never forwarded, either way: request headers by these names are dropped, and so
   * are response headers (`set-cookie`). Default: `httpRoutes.sensitiveHeaders`; a route opts
   * in to forwarding e.g. `authorization` by listing the others only (`[cookie, set-cookie]`),
   * or `[]` for none. Hop-by-hop headers (RFC 9110 §7.6.1) and `proxy-authorization` never pass.
   */
  readonly sensitiveHeaders: readonly string[];
  /**
   * The Host header sent upstream: `rewrite` (default) the upstream URL's host:port, as
   * virtual-hosted servers expect; `preserve` the client's own. The client's Host travels
   * in X-Forwarded-Host either way (when `forwardedHeaders`).
   */
  readonly host: 'rewrite' | 'preserve';
  /**
   * Set X-Forwarded-For (the client address appended to the chain), X-Forwarded-Proto,
   * X-Forwarded-Host and X-Forwarded-Prefix (what was stripped). Incoming X-Forwarded-Host and
   * -Proto are believed only from `rateLimit.trustedProxies`. Default true; false passes the
   * client's own X-Forwarded-* unchanged and adds none.
   */
  readonly forwardedHeaders: boolean;
  /** No bearer token needed (one that is sent is still verified). Default false: with auth on, a valid token is required. */
  readonly public: boolean;
  /** With auth on, the token's `role` must be one of these; [] (default) = any valid token. */
  readonly roles: readonly string[];
  /** Per-caller limit on this route; unset (default) = `rateLimit`'s default (`rateLimit.overrides["http:<name>"]` wins). */
  readonly rateLimit: { readonly requestsPerMinute: number; readonly burst: number } | undefined;
  /**
   * Time to the upstream's response headers per attempt, in ms (0 = none); past it 504
   * DEADLINE_EXCEEDED. Default `resilience.timeoutMs`. A streamed response body is then
   * governed by `idleTimeoutMs`, never by a total time.
   */
  readonly timeoutMs: number;
  /** Longest pause between response body chunks, in ms (0 = none); past it the response is cut. Default 60000. */
  readonly idleTimeoutMs: number;
  /** Time to open a connection, in ms; past it the attempt fails as unavailable. Default 5000. */
  readonly connectTimeoutMs: number;
  /**
   * Retries (default `resilience.retry`): only idempotent methods (GET, HEAD, OPTIONS, TRACE,
   * PUT, DELETE; RFC 9110 §9.2.2) sent without a body (bodies are streamed, not kept), on a
   * connection refused or dropped before an answer, or an upstream 502/503/504; each retry
   * goes to the next upstream. POST and PATCH are never retried.
   */
  readonly retry: RetryPolicy;
  /** Circuit breaker of the route (default `resilience.breaker`): counts connection failures, timeouts and upstream 5xx. */
  readonly breaker: BreakerPolicy;
  /** Requests in flight and queued on the route (default `resilience.bulkhead`). */
  readonly bulkhead: BulkheadPolicy;
  /** Health check: '' (default) = a TCP connect to each upstream; a path = GET it, healthy below 500. */
  readonly healthPath: string;
  /** Time between health checks, in ms. Default 5000. */
  readonly healthIntervalMs: number;
  /** /readyz reports this route but does not turn 503 while no upstream is healthy. Default false. */
  readonly optional: boolean;
}

/** A route as a config file gives it: `path` and `upstreams` required, the rest optional. */
export type HttpRouteInput = Omit<Mutable<HttpRoute>, 'upstreams' | 'retry' | 'breaker' | 'bulkhead'> & {
  upstreams?: string | readonly string[];
  retry?: Partial<RetryPolicy>;
  breaker?: Partial<BreakerPolicy>;
  bulkhead?: Partial<BulkheadPolicy>;
};

export interface GatewayConfig {
  /** Server timeouts and caps; see LimitsConfig. */
  readonly limits: LimitsConfig;
  /** Rate limits; see RateLimitConfig. */
  readonly rateLimit: RateLimitConfig;
  /** Cross-origin access from browsers; off (no origins) by default. See edge/cors.ts CorsConfig. */
  readonly cors: CorsConfig;
  /** WebSocket access; see WebSocketConfig. */
  readonly websocket: WebSocketConfig;
  /** Address to listen on (loopback by default). */
  readonly host: string;
  /** Port to listen on; 0 picks a free one. */
  readonly port: number;
  /** Path to a binary FileDescriptorSet (`buf build -o`), with imports. */
  readonly descriptor: string;
  /**
   * Upstream target per fully-qualified service name or package prefix (`acme.user.v1`). The
   * target `local` serves the service from inside the gateway (acme.bff.v1, see gateway/bff/).
   */
  readonly upstreams: Readonly<Record<string, string>>;
  /** gRPC client implementation: `h2` (lean, own HTTP/2 session) or `grpc-js` (@grpc/grpc-js). */
  readonly transport: 'h2' | 'grpc-js';
  readonly auth: AuthConfig;
  /** Proto3 JSON mapping options. */
  readonly json: JsonOptions;
  /** Largest request body accepted, in bytes; larger answers 413. */
  readonly bodyLimit: number;
  /** Request headers forwarded as metadata unchanged (besides Grpc-Metadata-*). */
  readonly forwardedHeaders: readonly string[];
  /** Prefix of response headers carrying upstream response headers. */
  readonly responseHeaderPrefix: string;
  /** Prefix of response headers carrying upstream trailers. */
  readonly trailerHeaderPrefix: string;
  /** Deadlines, retries, circuit breakers and bulkheads per upstream service (see ResiliencePolicy). */
  readonly resilience: ResilienceConfig;
  /**
   * Services (or package prefixes) /readyz does not wait for: their health is reported, but
   * their not serving does not make the gateway unready. Every other served service is required.
   */
  readonly optionalUpstreams: readonly string[];
  /** Log level: fatal, error, warn, info, debug. */
  readonly logLevel: string;
  /** Log lines: `auto` (pretty on a terminal, JSON otherwise), `pretty` or `json` (pino). */
  readonly logFormat: LogFormat;
  /**
   * On SIGTERM/SIGINT, how long in-flight requests may take to finish, in ms; after it the
   * remaining connections are cut and the process exits.
   */
  readonly shutdownGraceMs: number;
  /**
   * Gateway processes sharing the port (forked with node:cluster, see workers.ts). 1 serves from this
   * process alone; more makes it a primary that forks that many workers. `auto` in a config
   * file or on the command line means os.availableParallelism(), at most MAX_WORKERS.
   */
  readonly workers: number;
  /**
   * How connections reach the workers when `workers` > 1. `reuseport`: each worker listens on
   * the port itself with SO_REUSEPORT and the kernel spreads new connections over them by a
   * hash of the addresses; the primary only forks, configures and replaces workers. `cluster`:
   * node:cluster, the primary accepts every connection and hands it to the next worker
   * (round-robin) over IPC. Default: `reuseport` on Linux, `cluster` elsewhere (reusePort
   * is a Linux/BSD socket option).
   */
  readonly workerBalancing: WorkerBalancing;
  /**
   * Start-up warnings are fatal. Without it, a binding that cannot be served (a bad template,
   * a binding naming no field...), a method+path bound twice (the last wins) and a
   * bidi-streaming method (answered 501) are logged as warnings naming the proto method and
   * the rest is served. For CI: `--strict`.
   */
  readonly strict: boolean;
  /**
   * Serve the OpenAPI 3.1 document of the served routes at /openapi.json and /openapi.yaml,
   * and Swagger UI over it at /docs (from node_modules, no CDN). `--no-docs` turns them off.
   */
  readonly docs: boolean;
  /**
   * Services or packages whose requests are NOT checked against their `buf.validate` rules at
   * the gateway (they are for every other upstream whose messages carry rules). Config file only.
   */
  readonly skipValidation: readonly string[];
  /**
   * A google.api.Service configuration file (YAML) whose `http: rules:` are merged with the
   * annotations, for protos you cannot edit, and whose `acme_gateway: methods:` (success
   * status, public, roles, timeout) and `backend: rules:` (deadline) set our method options
   * (see service-config.ts). Relative to the config file when given there.
   */
  readonly serviceConfig: string;
  /** What `serviceConfig` holds, read at start (derived; not an input). */
  readonly serviceRules: ServiceRules;
  /**
   * PATCH with `body: "<field>"` on a request with a `google.protobuf.FieldMask update_mask`
   * the client did not send: fill the mask from the JSON body's keys, as grpc-gateway does
   * by default. false turns it off.
   */
  readonly patchFieldMask: boolean;
  /**
   * Answer as a grpc-gateway v2 deployment (`grpc-gateway`) or Envoy's transcoder (`envoy`)
   * with their defaults would: sets the defaults of the options below and of `json` and
   * `trailerHeaderPrefix` (see compat-presets.ts); options given explicitly still win.
   */
  readonly compat: CompatPreset;
  /**
   * A path-bound field given again in the body or query: `reject-conflicts` (400 unless it is
   * the path's value) or `path-wins` (ignored, as grpc-gateway and Envoy do).
   */
  readonly pathRepeats: 'reject-conflicts' | 'path-wins';
  /** Read request bodies of any content type as JSON (grpc-gateway, Envoy) instead of 415. */
  readonly anyContentTypeAsJson: boolean;
  /** Also pass grpc-gateway's permanent HTTP headers as `<prefix><name>` metadata ('' = no). */
  readonly permanentHeaderPrefix: string;
  /**
   * JSON server streams: `ndjson` (`{"result":…}` lines, application/x-ndjson), `ndjson-json`
   * (the same as application/json, grpc-gateway) or `json-array` (one array, Envoy).
   */
  readonly streamFormat: StreamFormat;
  /** Aggregation endpoints (acme.bff.v1); see BffConfig. */
  readonly bff: BffConfig;
  /** Plain HTTP routes forwarded to HTTP services (see HttpRoutesConfig); none by default. */
  readonly httpRoutes: HttpRoutesConfig;
}

/** See GatewayConfig.workerBalancing. */
export type WorkerBalancing = 'reuseport' | 'cluster';
export const WORKER_BALANCINGS: readonly WorkerBalancing[] = ['reuseport', 'cluster'];

/** Upper bound on `workers`: beyond the cores, workers only add memory and context switches. */
export const MAX_WORKERS = 64;

/** Our own descriptor set (all of proto/ plus google.api/google.rpc), built by `npm run gen`. */
export const BUILTIN_DESCRIPTOR = path.resolve(__dirname, findGenDir(), 'api.binpb');

export const DEFAULT_CONFIG: GatewayConfig = Object.freeze({
  host: '127.0.0.1',
  port: 8080,
  descriptor: BUILTIN_DESCRIPTOR,
  limits: {
    headersTimeoutMs: 10_000,
    requestTimeoutMs: 30_000,
    keepAliveTimeoutMs: 5_000,
    idleTimeoutMs: 0,
    maxConnections: 10_000,
    acceptSockets: process.platform === 'linux' ? 32 : 1,
    maxBufferedBodyBytes: 256 * 1024 * 1024,
    maxStreamsPerClient: 32,
    maxOpenStreams: 4_096,
    streamBufferBytes: 256 * 1024,
    sseKeepAliveMs: 15_000,
    sseRetryMs: 3_000,
    streamIdleTimeoutMs: 300_000,
  },
  rateLimit: {
    enabled: true,
    requestsPerMinute: 6_000,
    burst: 200,
    overrides: {},
    trustedProxies: [],
    store: 'memory',
    redisUrl: 'redis://127.0.0.1:6379',
    onStoreFailure: 'open',
  },
  cors: DEFAULT_CORS,
  websocket: {
    enabled: true,
    pingIntervalMs: 30_000,
    maxMessageBytes: 1024 * 1024,
    maxMessagesPerSecond: 1_000,
    messageBurst: 2_000,
  },
  upstreams: {},
  transport: 'h2',
  auth: { mode: 'jwt', jwks: 'rpc:/acme.user.v1.UserService/GetJwks', issuer: 'acme-user', audience: 'acme' },
  json: DEFAULT_JSON_OPTIONS,
  bodyLimit: 4 * 1024 * 1024,
  forwardedHeaders: DEFAULT_FORWARDED_HEADERS,
  responseHeaderPrefix: 'Grpc-Metadata-',
  trailerHeaderPrefix: 'Grpc-Metadata-',
  resilience: {
    timeoutMs: 30_000,
    streamTimeoutMs: 0,
    retry: { maxAttempts: 3, initialBackoffMs: 25, maxBackoffMs: 1_000, budgetRatio: 0.2, budgetMinPerSecond: 10 },
    breaker: { consecutiveFailures: 5, halfOpenAfterMs: 1_000 },
    bulkhead: { maxInFlight: 1_000, maxQueued: 1_000 },
    overrides: {},
  },
  optionalUpstreams: [],
  logLevel: 'info',
  logFormat: 'auto',
  shutdownGraceMs: 10_000,
  workers: 1,
  workerBalancing: process.platform === 'linux' ? 'reuseport' : 'cluster',
  strict: false,
  docs: true,
  skipValidation: [],
  serviceConfig: '',
  serviceRules: NO_SERVICE_RULES,
  patchFieldMask: true,
  compat: 'none',
  pathRepeats: 'reject-conflicts',
  anyContentTypeAsJson: false,
  permanentHeaderPrefix: '',
  streamFormat: 'ndjson',
  bff: { partTimeoutMs: 3_000 },
  httpRoutes: { prefix: '', stripPrefix: true, sensitiveHeaders: ['cookie', 'set-cookie', 'authorization'], routes: {} },
} satisfies GatewayConfig);

/** The defaults of a plain HTTP route besides those taken from `resilience` and `httpRoutes`. */
export const HTTP_ROUTE_DEFAULTS = Object.freeze({
  stripPrefix: true,
  host: 'rewrite',
  forwardedHeaders: true,
  public: false,
  roles: [],
  rateLimit: undefined,
  idleTimeoutMs: 60_000,
  connectTimeoutMs: 5_000,
  healthPath: '',
  healthIntervalMs: 5_000,
  optional: false,
} as const);

/** A config problem, reported at start with the option's name. */
export class ConfigError extends Error {}

/** A partial config, as from a file or a caller; nested objects may be partial too. */
type Mutable<T> = { -readonly [K in keyof T]?: T[K] };
export type ConfigInput = Mutable<
  Omit<GatewayConfig, 'auth' | 'json' | 'workers' | 'resilience' | 'serviceRules' | 'limits' | 'rateLimit' | 'cors' | 'websocket' | 'bff' | 'httpRoutes'>
> & {
  bff?: Mutable<BffConfig>;
  httpRoutes?: Mutable<Omit<HttpRoutesConfig, 'routes'>> & { routes?: Readonly<Record<string, HttpRouteInput>> };
  limits?: Mutable<LimitsConfig>;
  cors?: Mutable<CorsConfig>;
  rateLimit?: Mutable<RateLimitConfig>;
  websocket?: Mutable<WebSocketConfig>;
  auth?: Mutable<AuthConfig>;
  resilience?: ResilienceOverride & { overrides?: Record<string, ResilienceOverride> };
  json?: Mutable<JsonOptions>;
  workers?: number | 'auto';
};

/** Fills defaults and validates. */
export function resolveConfig(input: ConfigInput = {}): GatewayConfig {
  const known = new Set(Object.keys(DEFAULT_CONFIG));
  known.delete('serviceRules');
  for (const key of Object.keys(input)) if (!known.has(key)) throw new ConfigError(`unknown option "${key}"`);
  input = withServiceConfig(input);
  expect(input.compat === undefined || input.compat in COMPAT_PRESETS, 'compat', '"none", "grpc-gateway" or "envoy"');
  const preset = COMPAT_PRESETS[input.compat ?? 'none'];
  const merged = {
    ...DEFAULT_CONFIG,
    ...preset,
    ...stripUndefined(input),
    auth: { ...DEFAULT_CONFIG.auth, ...stripUndefined(input.auth ?? {}) },
    json: { ...DEFAULT_CONFIG.json, ...preset.json, ...stripUndefined(input.json ?? {}) },
    limits: { ...DEFAULT_CONFIG.limits, ...stripUndefined(input.limits ?? {}) },
    rateLimit: { ...DEFAULT_CONFIG.rateLimit, ...stripUndefined(input.rateLimit ?? {}) },
    cors: { ...DEFAULT_CONFIG.cors, ...stripUndefined(input.cors ?? {}) },
    websocket: { ...DEFAULT_CONFIG.websocket, ...stripUndefined(input.websocket ?? {}) },
    bff: { ...DEFAULT_CONFIG.bff, ...stripUndefined(input.bff ?? {}) },
    resilience: {
      ...mergePolicy(DEFAULT_CONFIG.resilience, input.resilience ?? {}),
      overrides: input.resilience?.overrides ?? {},
    },
    ...(input.workers === 'auto' ? { workers: Math.min(availableParallelism(), MAX_WORKERS) } : {}),
  } as GatewayConfig;
  (merged as { httpRoutes: HttpRoutesConfig }).httpRoutes = resolveHttpRoutes(input.httpRoutes, merged.resilience);
  expect(typeof merged.host === 'string' && merged.host !== '', 'host', 'a non-empty string');
  expect(Number.isInteger(merged.port) && merged.port >= 0 && merged.port < 65536, 'port', 'an integer 0-65535');
  expect(typeof merged.descriptor === 'string' && merged.descriptor !== '', 'descriptor', 'a file path');
  expect(isStringRecord(merged.upstreams), 'upstreams', 'an object of service or package name to "host:port"');
  expect(merged.transport === 'h2' || merged.transport === 'grpc-js', 'transport', '"h2" or "grpc-js"');
  expect(merged.auth.mode === 'off' || merged.auth.mode === 'jwt', 'auth.mode', '"off" or "jwt"');
  expect(typeof merged.auth.jwks === 'string', 'auth.jwks', 'a URL or rpc:/pkg.Service/Method');
  expect(Number.isInteger(merged.bodyLimit) && merged.bodyLimit > 0, 'bodyLimit', 'a positive integer (bytes)');
  expect(Array.isArray(merged.forwardedHeaders) && merged.forwardedHeaders.every((h) => typeof h === 'string'), 'forwardedHeaders', 'a list of header names');
  checkPolicyKeys(input.resilience ?? {}, 'resilience', true);
  checkPolicy(merged.resilience, 'resilience');
  const overrides = merged.resilience.overrides;
  expect(
    overrides !== null && typeof overrides === 'object' && !Array.isArray(overrides),
    'resilience.overrides',
    'an object of package, service or method name to a policy',
  );
  for (const [key, override] of Object.entries(overrides)) {
    const where = `resilience.overrides.${key}`;
    expect(override !== null && typeof override === 'object', where, 'an object');
    checkPolicyKeys(override, where, false);
    checkPolicy(mergePolicy(merged.resilience, override), where);
    if (key.includes('/')) {
      expect(override.breaker === undefined && override.bulkhead === undefined, where, 'free of breaker and bulkhead (they are per service)');
    }
  }
  expect(
    Array.isArray(merged.optionalUpstreams) && merged.optionalUpstreams.every((h) => typeof h === 'string'),
    'optionalUpstreams',
    'a list of service or package names',
  );
  for (const [k, v] of Object.entries(merged.limits)) {
    expect(k in DEFAULT_CONFIG.limits && Number.isInteger(v) && v >= 0, `limits.${k}`, 'a known option, an integer >= 0');
  }
  const rl = merged.rateLimit;
  for (const k of Object.keys(rl)) expect(k in DEFAULT_CONFIG.rateLimit, `rateLimit.${k}`, 'a known option');
  expect(typeof rl.enabled === 'boolean', 'rateLimit.enabled', 'true or false');
  expect(Number.isInteger(rl.requestsPerMinute) && rl.requestsPerMinute >= 0, 'rateLimit.requestsPerMinute', 'an integer >= 0');
  expect(Number.isInteger(rl.burst) && rl.burst >= 1, 'rateLimit.burst', 'an integer >= 1');
  expect(rl.store === 'memory' || rl.store === 'redis', 'rateLimit.store', '"memory" or "redis"');
  expect(rl.onStoreFailure === 'open' || rl.onStoreFailure === 'closed', 'rateLimit.onStoreFailure', '"open" or "closed"');
  expect(Array.isArray(rl.trustedProxies) && rl.trustedProxies.every((h) => typeof h === 'string'), 'rateLimit.trustedProxies', 'a list of addresses');
  const cors = merged.cors;
  for (const k of Object.keys(cors)) expect(k in DEFAULT_CONFIG.cors, `cors.${k}`, 'a known option');
  expect(typeof cors.credentials === 'boolean', 'cors.credentials', 'true or false');
  for (const k of ['origins', 'methods', 'allowedHeaders', 'exposedHeaders'] as const) {
    expect(Array.isArray(cors[k]) && cors[k].every((h) => typeof h === 'string'), `cors.${k}`, 'a list of strings');
  }
  const corsProblem = corsConfigProblem(cors);
  if (corsProblem) throw new ConfigError(`option "cors": ${corsProblem}`);
  for (const [k, v] of Object.entries(merged.websocket)) {
    const ok = k === 'enabled' ? typeof v === 'boolean' : k in DEFAULT_CONFIG.websocket && Number.isInteger(v) && (v as number) >= 0;
    expect(ok, `websocket.${k}`, k === 'enabled' ? 'true or false' : 'a known option, an integer >= 0');
  }
  expect(merged.websocket.maxMessageBytes > 0, 'websocket.maxMessageBytes', 'an integer > 0 (bytes)');
  expect(merged.websocket.messageBurst >= 1, 'websocket.messageBurst', 'an integer >= 1');
  for (const k of Object.keys(merged.bff)) expect(k in DEFAULT_CONFIG.bff, `bff.${k}`, 'a known option');
  expect(Number.isInteger(merged.bff.partTimeoutMs) && merged.bff.partTimeoutMs > 0, 'bff.partTimeoutMs', 'an integer number of ms > 0');
  expect(typeof merged.strict === 'boolean', 'strict', 'true or false');
  expect(typeof merged.docs === 'boolean', 'docs', 'true or false');
  expect(
    Array.isArray(merged.skipValidation) && merged.skipValidation.every((s) => typeof s === 'string'),
    'skipValidation',
    'a list of service or package names',
  );
  expect(typeof merged.patchFieldMask === 'boolean', 'patchFieldMask', 'true or false');
  expect(merged.pathRepeats === 'reject-conflicts' || merged.pathRepeats === 'path-wins', 'pathRepeats', '"reject-conflicts" or "path-wins"');
  expect(typeof merged.anyContentTypeAsJson === 'boolean', 'anyContentTypeAsJson', 'true or false');
  expect(
    typeof merged.permanentHeaderPrefix === 'string' && /^[0-9a-z_.-]*$/.test(merged.permanentHeaderPrefix),
    'permanentHeaderPrefix',
    'a lower-case metadata name prefix, or ""',
  );
  expect(['ndjson', 'ndjson-json', 'json-array'].includes(merged.streamFormat), 'streamFormat', '"ndjson", "ndjson-json" or "json-array"');
  expect(LOG_FORMATS.includes(merged.logFormat), 'logFormat', `one of ${LOG_FORMATS.join(', ')}`);
  expect(Number.isInteger(merged.shutdownGraceMs) && merged.shutdownGraceMs >= 0, 'shutdownGraceMs', 'a number of ms >= 0');
  expect(Number.isInteger(merged.workers) && merged.workers >= 1 && merged.workers <= MAX_WORKERS, 'workers', `an integer 1-${MAX_WORKERS}, or "auto"`);
  expect(WORKER_BALANCINGS.includes(merged.workerBalancing), 'workerBalancing', '"reuseport" or "cluster"');
  for (const [k, v] of Object.entries(merged.json)) {
    expect(k in DEFAULT_JSON_OPTIONS && typeof v === 'boolean', `json.${k}`, 'a known boolean option');
  }
  return Object.freeze(merged);
}

/** `httpRoutes` with every default filled in and checked: a bad route stops the start naming its option. */
function resolveHttpRoutes(input: ConfigInput['httpRoutes'], resilience: ResiliencePolicy): HttpRoutesConfig {
  const defaults = DEFAULT_CONFIG.httpRoutes;
  if (input === undefined) return defaults;
  expect(input !== null && typeof input === 'object' && !Array.isArray(input), 'httpRoutes', 'an object');
  for (const key of Object.keys(input)) if (!(key in defaults)) throw new ConfigError(`unknown option "httpRoutes.${key}"`);
  const prefix = input.prefix ?? defaults.prefix;
  expect(prefix === '' || (typeof prefix === 'string' && LITERAL_PATH.test(prefix)), 'httpRoutes.prefix', '"" or a literal path like /api');
  const stripPrefix = input.stripPrefix ?? defaults.stripPrefix;
  expect(typeof stripPrefix === 'boolean', 'httpRoutes.stripPrefix', 'true or false');
  const sensitiveHeaders = input.sensitiveHeaders ?? defaults.sensitiveHeaders;
  expect(isHeaderList(sensitiveHeaders), 'httpRoutes.sensitiveHeaders', 'a list of header names');
  const routesInput = input.routes ?? {};
  expect(routesInput !== null && typeof routesInput === 'object' && !Array.isArray(routesInput), 'httpRoutes.routes', 'an object of route name to route');
  const routes: Record<string, HttpRoute> = {};
  for (const [name, route] of Object.entries(routesInput)) {
    const where = `httpRoutes.routes.${name}`;
    expect(/^[A-Za-z0-9._-]+$/.test(name), where, 'named with letters, digits, ".", "_" or "-"');
    routes[name] = resolveHttpRoute(route, where, sensitiveHeaders, resilience);
  }
  return { prefix, stripPrefix, sensitiveHeaders: sensitiveHeaders.map((h) => h.toLowerCase()), routes };
}

const LITERAL_PATH = /^(\/[A-Za-z0-9._~!$&'()+,;=:@%-]+)+$/;
const HTTP_ROUTE_KEYS = ['path', 'upstreams', 'sensitiveHeaders', 'timeoutMs', 'retry', 'breaker', 'bulkhead', ...Object.keys(HTTP_ROUTE_DEFAULTS)];

function resolveHttpRoute(input: HttpRouteInput, where: string, sensitiveHeaders: readonly string[], resilience: ResiliencePolicy): HttpRoute {
  expect(input !== null && typeof input === 'object' && !Array.isArray(input), where, 'an object');
  for (const key of Object.keys(input)) if (!HTTP_ROUTE_KEYS.includes(key)) throw new ConfigError(`unknown option "${where}.${key}"`);
  const { path: routePath } = input;
  expect(
    typeof routePath === 'string' && (routePath === '/**' || LITERAL_PATH.test(routePath.endsWith('/**') ? routePath.slice(0, -3) : routePath)),
    `${where}.path`,
    'a literal path, or one ending in /** (e.g. /legacy/**)',
  );
  const upstreams = typeof input.upstreams === 'string' ? [input.upstreams] : input.upstreams;
  expect(
    Array.isArray(upstreams) && upstreams.length > 0 && upstreams.every(isUpstreamUrl),
    `${where}.upstreams`,
    'one or more http(s)://host:port[/path] URLs',
  );
  const override = stripUndefined({ timeoutMs: input.timeoutMs, retry: input.retry, breaker: input.breaker, bulkhead: input.bulkhead });
  checkPolicyKeys(override, where, false);
  const policy = mergePolicy(resilience, override);
  checkPolicy(policy, where);
  const route: HttpRoute = {
    ...HTTP_ROUTE_DEFAULTS,
    ...stripUndefined(input),
    path: routePath as string,
    upstreams: upstreams as readonly string[],
    sensitiveHeaders: (input.sensitiveHeaders ?? sensitiveHeaders).map((h) => h.toLowerCase()),
    timeoutMs: policy.timeoutMs,
    retry: policy.retry,
    breaker: policy.breaker,
    bulkhead: policy.bulkhead,
  };
  expect(isHeaderList(route.sensitiveHeaders), `${where}.sensitiveHeaders`, 'a list of header names');
  for (const k of ['stripPrefix', 'forwardedHeaders', 'public', 'optional'] as const) expect(typeof route[k] === 'boolean', `${where}.${k}`, 'true or false');
  expect(route.host === 'rewrite' || route.host === 'preserve', `${where}.host`, '"rewrite" or "preserve"');
  expect(Array.isArray(route.roles) && route.roles.every((r) => typeof r === 'string'), `${where}.roles`, 'a list of role names');
  const rl = route.rateLimit;
  expect(
    rl === undefined || (Number.isInteger(rl.requestsPerMinute) && rl.requestsPerMinute >= 0 && Number.isInteger(rl.burst) && rl.burst >= 1),
    `${where}.rateLimit`,
    '{ requestsPerMinute: integer >= 0, burst: integer >= 1 }',
  );
  for (const k of ['idleTimeoutMs', 'connectTimeoutMs', 'healthIntervalMs'] as const) {
    expect(Number.isInteger(route[k]) && route[k] >= (k === 'idleTimeoutMs' ? 0 : 1), `${where}.${k}`, 'a number of ms');
  }
  expect(route.healthPath === '' || (typeof route.healthPath === 'string' && route.healthPath.startsWith('/')), `${where}.healthPath`, '"" or a path');
  return route;
}

function isHeaderList(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((h) => typeof h === 'string' && /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(h));
}

function isUpstreamUrl(v: unknown): boolean {
  if (typeof v !== 'string') return false;
  try {
    const url = new URL(v);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.search === '' && url.hash === '' && url.username === '' && url.password === '';
  } catch {
    return false;
  }
}

/** Reads a JSON or YAML config file (by extension; YAML is a superset of JSON). */
export function readConfigFile(file: string): ConfigInput {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`);
  }
  const data: unknown = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new ConfigError(`config file ${file} must hold an object`);
  const input = data as ConfigInput;
  // A relative descriptor path in a file is relative to the file, not to the working directory.
  if (typeof input.descriptor === 'string') input.descriptor = path.resolve(path.dirname(file), input.descriptor);
  if (typeof input.serviceConfig === 'string' && input.serviceConfig !== '') input.serviceConfig = path.resolve(path.dirname(file), input.serviceConfig);
  return input;
}

/**
 * Reads `input.serviceConfig` into `serviceRules`, and turns its per-method timeouts into
 * `resilience.overrides` (`pkg.Service/Method`, or `pkg.Service` for `pkg.Service.*`, or the
 * default for `*`) where the config itself sets none.
 */
function withServiceConfig(input: ConfigInput): ConfigInput {
  const file = input.serviceConfig;
  if (file === undefined || file === '') return input;
  expect(typeof file === 'string', 'serviceConfig', 'a file path');
  let rules: ServiceRules;
  try {
    rules = loadServiceConfig(file);
  } catch (err) {
    throw new ConfigError(`option "serviceConfig": ${(err as Error).message}`);
  }
  const resilience = { ...(input.resilience ?? {}), overrides: { ...(input.resilience?.overrides ?? {}) } };
  for (const m of rules.methods) {
    if (m.timeoutMs === undefined) continue;
    if (m.selector === '*') {
      if (input.resilience?.timeoutMs === undefined) resilience.timeoutMs = m.timeoutMs;
      continue;
    }
    const key = m.selector.endsWith('.*')
      ? m.selector.slice(0, -2)
      : `${m.selector.slice(0, m.selector.lastIndexOf('.'))}/${m.selector.slice(m.selector.lastIndexOf('.') + 1)}`;
    if (input.resilience?.overrides?.[key]?.timeoutMs === undefined) resilience.overrides[key] = { ...resilience.overrides[key], timeoutMs: m.timeoutMs };
  }
  return { ...input, resilience, serviceRules: rules } as ConfigInput;
}

/** The route compilation options a config implies (app and OpenAPI document alike). */
export function routeOptions(config: GatewayConfig): CompileOptions {
  return {
    strict: config.strict,
    rules: config.serviceRules,
    autoFieldMask: config.patchFieldMask,
    pathRepeats: config.pathRepeats,
    anyContentTypeAsJson: config.anyContentTypeAsJson,
  };
}

/** `--help`: printed on stdout. */
export const USAGE = `usage: gateway [options]   (npm run gateway -- [options])

  --config <file>             JSON or YAML config file (every option, see gateway/config.ts)
  --descriptor <file>         binary FileDescriptorSet with imports (default: gen/api.binpb)
  --upstream <name>=<h:p>     upstream for a service or package, e.g. acme.user.v1=127.0.0.1:50051 (repeatable);
                              acme.bff.v1=local serves the aggregation endpoints from the gateway itself
  --host <addr>               listen address (default 127.0.0.1; env GATEWAY_HOST)
  --port <n>                  listen port, 0 for any free one (default 8080; env GATEWAY_PORT)
  --transport h2|grpc-js      upstream gRPC client (default h2)
  --auth off|jwt              verify bearer JWTs at the edge (default jwt)
  --jwks <url|rpc:/pkg.Svc/M> where the JWKS comes from (default rpc:/acme.user.v1.UserService/GetJwks)
  --workers <n|auto>          gateway processes on the one port (default 1)
  --worker-balancing <b>      reuseport (kernel, SO_REUSEPORT; default on Linux) or cluster (primary round-robin)
  --log-level <level>         fatal, error, warn, info, debug (default info; env LOG_LEVEL)
  --log-format <f>            auto (pretty on a terminal), pretty or json (env LOG_FORMAT)
  --shutdown-grace-ms <ms>    how long requests may finish on SIGTERM (default 10000)
  --strict                    a route that cannot be served stops the start (default: a warning)
  --no-docs                   no /openapi.json and /docs
  --service-config <file>     gRPC service config (per-method timeouts, http rules), YAML or JSON
  --no-patch-field-mask       PATCH without updateMask does not derive one from the body
  --compat none|grpc-gateway|envoy   defaults that behave like grpc-gateway or Envoy (see README)
  -h, --help                  this text`;

/** `--help` was asked for: not an error, the caller prints USAGE and exits 0. */
export class HelpRequested extends ConfigError {
  constructor() {
    super(USAGE);
  }
}

const FLAGS = {
  config: { type: 'string' },
  descriptor: { type: 'string' },
  upstream: { type: 'string', multiple: true },
  host: { type: 'string' },
  port: { type: 'string' },
  transport: { type: 'string' },
  auth: { type: 'string' },
  jwks: { type: 'string' },
  workers: { type: 'string' },
  'worker-balancing': { type: 'string' },
  'log-level': { type: 'string' },
  'log-format': { type: 'string' },
  'shutdown-grace-ms': { type: 'string' },
  strict: { type: 'boolean' },
  'no-docs': { type: 'boolean' },
  'service-config': { type: 'string' },
  'no-patch-field-mask': { type: 'boolean' },
  compat: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Parses command-line flags (over an optional --config file and the environment) into a config. */
export function configFromArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  let values;
  try {
    ({ values } = parseArgs({ args: [...argv], options: FLAGS, strict: true, allowPositionals: false }));
  } catch (err) {
    throw new ConfigError(`${(err as Error).message}\n${USAGE}`);
  }
  if (values.help) throw new HelpRequested();
  const input: ConfigInput = values.config !== undefined ? readConfigFile(values.config) : {};
  const upstreams: Record<string, string> = {};
  for (const spec of values.upstream ?? []) {
    const eq = spec.indexOf('=');
    if (eq <= 0) throw new ConfigError(`--upstream takes <service-or-package>=<host:port>, got "${spec}"`);
    upstreams[spec.slice(0, eq)] = spec.slice(eq + 1);
  }
  const number = (v: string | undefined): number | undefined => (v === undefined ? undefined : v === '' ? NaN : Number(v));
  const logFormat = values['log-format'] ?? env.LOG_FORMAT;
  const flags: ConfigInput = {
    descriptor: values.descriptor !== undefined ? path.resolve(values.descriptor) : undefined,
    host: values.host ?? (env.GATEWAY_HOST || undefined),
    port: number(values.port ?? (env.GATEWAY_PORT || undefined)),
    transport: values.transport as GatewayConfig['transport'] | undefined,
    workers: values.workers === 'auto' ? 'auto' : number(values.workers),
    workerBalancing: values['worker-balancing'] as WorkerBalancing | undefined,
    logLevel: values['log-level'] ?? (env.LOG_LEVEL || undefined),
    logFormat: logFormat === undefined || logFormat === '' ? undefined : (parseLogFormat(logFormat) ?? (logFormat as LogFormat)),
    shutdownGraceMs: number(values['shutdown-grace-ms']),
    strict: values.strict,
    docs: values['no-docs'] ? false : undefined,
    serviceConfig: values['service-config'] !== undefined ? path.resolve(values['service-config']) : undefined,
    patchFieldMask: values['no-patch-field-mask'] ? false : undefined,
    compat: values.compat as CompatPreset | undefined,
  };
  return resolveConfig({
    ...input,
    ...stripUndefined(flags),
    upstreams: { ...(input.upstreams ?? {}), ...upstreams },
    auth: { ...(input.auth ?? {}), ...stripUndefined({ mode: values.auth as AuthConfig['mode'] | undefined, jwks: values.jwks }) },
  });
}

function findGenDir(): string {
  // Works from gateway/ (ts-jest) and from dist/gateway/ (compiled): gen/ sits at the repo root.
  const fromSource = path.resolve(__dirname, '..', 'gen');
  const fromDist = path.resolve(__dirname, '..', '..', 'gen');
  try {
    readFileSync(path.join(fromSource, 'api.binpb'), { flag: 'r' });
    return fromSource;
  } catch {
    return fromDist;
  }
}

function expect(ok: boolean, option: string, what: string): void {
  if (!ok) throw new ConfigError(`option "${option}" must be ${what}`);
}

function isStringRecord(v: unknown): boolean {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string' && x !== '');
}

/**
 * The policy of `service` (fully-qualified) or of one of its methods: the defaults, then
 * every override whose key covers it, least specific first (package prefixes by length,
 * the service, the method).
 */
export function resiliencePolicyFor(config: ResilienceConfig, service: string, method?: string): ResiliencePolicy {
  const keys = Object.keys(config.overrides)
    .filter((k) => k === service || service.startsWith(`${k}.`) || (method !== undefined && k === `${service}/${method}`))
    .sort((a, b) => a.length - b.length);
  let policy: ResiliencePolicy = config;
  for (const key of keys) policy = mergePolicy(policy, config.overrides[key]);
  return policy;
}

const POLICY_KEYS: Record<string, readonly string[] | null> = {
  timeoutMs: null,
  streamTimeoutMs: null,
  retry: Object.keys(DEFAULT_CONFIG.resilience.retry),
  breaker: Object.keys(DEFAULT_CONFIG.resilience.breaker),
  bulkhead: Object.keys(DEFAULT_CONFIG.resilience.bulkhead),
};

/** Rejects option names a policy does not have (a typo must not silently keep a default). */
function checkPolicyKeys(input: object, where: string, allowOverrides: boolean): void {
  for (const [key, value] of Object.entries(input)) {
    if (allowOverrides && key === 'overrides') continue;
    if (!(key in POLICY_KEYS)) throw new ConfigError(`unknown option "${where}.${key}"`);
    const sub = POLICY_KEYS[key];
    if (sub === null) continue;
    expect(value !== null && typeof value === 'object' && !Array.isArray(value), `${where}.${key}`, 'an object');
    for (const k of Object.keys(value as object)) if (!sub.includes(k)) throw new ConfigError(`unknown option "${where}.${key}.${k}"`);
  }
}

/** `base` with the fields `override` sets (nested objects field by field). */
export function mergePolicy(base: ResiliencePolicy, override: ResilienceOverride): ResiliencePolicy {
  return {
    timeoutMs: override.timeoutMs ?? base.timeoutMs,
    streamTimeoutMs: override.streamTimeoutMs ?? base.streamTimeoutMs,
    retry: { ...base.retry, ...stripUndefined(override.retry ?? {}) },
    breaker: { ...base.breaker, ...stripUndefined(override.breaker ?? {}) },
    bulkhead: { ...base.bulkhead, ...stripUndefined(override.bulkhead ?? {}) },
  };
}

function checkPolicy(p: ResiliencePolicy, where: string): void {
  const ms = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v) && v >= 0;
  const count = (v: unknown, min = 0): boolean => Number.isInteger(v) && (v as number) >= min;
  expect(ms(p.timeoutMs), `${where}.timeoutMs`, 'a number of ms >= 0');
  expect(ms(p.streamTimeoutMs), `${where}.streamTimeoutMs`, 'a number of ms >= 0');
  expect(count(p.retry.maxAttempts, 1), `${where}.retry.maxAttempts`, 'an integer >= 1');
  expect(ms(p.retry.initialBackoffMs), `${where}.retry.initialBackoffMs`, 'a number of ms >= 0');
  expect(ms(p.retry.maxBackoffMs), `${where}.retry.maxBackoffMs`, 'a number of ms >= 0');
  expect(ms(p.retry.budgetRatio), `${where}.retry.budgetRatio`, 'a number >= 0');
  expect(ms(p.retry.budgetMinPerSecond), `${where}.retry.budgetMinPerSecond`, 'a number >= 0');
  expect(count(p.breaker.consecutiveFailures), `${where}.breaker.consecutiveFailures`, 'an integer >= 0');
  expect(ms(p.breaker.halfOpenAfterMs), `${where}.breaker.halfOpenAfterMs`, 'a number of ms >= 0');
  expect(count(p.bulkhead.maxInFlight), `${where}.bulkhead.maxInFlight`, 'an integer >= 0');
  expect(count(p.bulkhead.maxQueued), `${where}.bulkhead.maxQueued`, 'an integer >= 0');
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
