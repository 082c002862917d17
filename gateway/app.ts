/**
 * Assembles the gateway from its config: descriptors → compiled routes → upstream pool →
 * each route's pipeline (edge auth → deadline → resilience → upstream call, or a local
 * handler for a `local` service) → the Fastify adapter plugin (and the WebSocket adapter on
 * the same routes), with the probes beside it. Everything that can fail does so here, at start.
 */
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { create, fromBinary, toBinary, toJson, type DescMessage } from '@bufbuild/protobuf';
import type { JSONWebKeySet } from 'jose';
import { activeTelemetry, probePort } from '../shared-kit';
import { BUILTIN_DESCRIPTOR, routeOptions, type GatewayConfig } from './config';
import { loadDescriptors } from './descriptors';
import type { JwksFetcher } from './edge';
import { registerCors } from './edge/cors';
import { createBucketStore, createLimiter, rateLimitInterceptor } from './edge/rate-limiting';
import { createBodyReader } from './http/body-reader';
import { registerProbes } from './http/probes';
import { AcceptSockets } from './http/accept-sockets';
import { applyServerLimits, serverLimitOptions } from './http/server-limits';
import { StreamSlots } from './http/stream-slots';
import { transcodingPlugin } from './http/transcoding-plugin';
import { UnaryAnswers } from './http/unary-answer';
import { UnaryFastPath } from './http/unary-fast-path';
import { registerWebSocket } from './http/websocket-plugin';
import { gatewayMetrics, streamSlotMetrics } from './observability/metrics';
import { requestId, requestLog } from './observability/request-log';
import { compileRouteHandlers, type InterceptorFactory } from './pipeline';
import { compileProxyHandler, compileProxyRoutes, PROXY_METHODS, proxyPlugin, UpstreamHealth, type ProxyHandler, type ProxyRoute } from './proxy';
import { compileRoutes, type RouteTable } from './transcode';
import { deadlineInterceptor } from './upstream/deadline';
import { createH2Transport } from './upstream/h2';
import { HealthWatch } from './upstream/health-watch';
import { MetadataMapper } from './upstream/metadata';
import { Readiness, type HealthSource, type ReadinessReport } from './upstream/readiness';
import { createGuards, resilienceInterceptor, UpstreamGuard } from './upstream/resilience';
import type { TransportFactory } from './upstream/transport';
import { upstreamHandlers } from './upstream/upstream-call';
import { UpstreamPool } from './upstream/upstream-pool';

/** A built, not yet listening, gateway. */
export interface Gateway {
  readonly app: FastifyInstance;
  readonly routes: RouteTable;
  /** The unary fast path (tests read `served`); undefined with tracing on. */
  readonly fastPath: UnaryFastPath | undefined;
  /** The breaker, bulkhead and retry budget of each served service. */
  readonly guards: ReadonlyMap<string, UpstreamGuard>;
  /** Starts listening; resolves to the bound port. */
  listen(): Promise<number>;
  /**
   * Begins shutdown: /readyz answers 503 from now on (so load balancers stop sending),
   * while every route keeps serving until close().
   */
  drain(): void;
  /** What /readyz reports, without an HTTP request. */
  readiness(): ReadinessReport;
  close(): Promise<void>;
}

// @grpc/grpc-js and jose are loaded only when configured (~10 MB of RSS each otherwise).
const TRANSPORTS: Record<GatewayConfig['transport'], TransportFactory> = {
  'grpc-js': (target) => {
    const { GrpcJsTransport } = require('./upstream/grpc-js-transport') as typeof import('./upstream/grpc-js-transport');
    return new GrpcJsTransport(target);
  },
  h2: (target) => createH2Transport(target),
};

const NO_QUERY = Object.freeze({});
const noQuery = (): Record<string, never> => NO_QUERY;

/** Builds the gateway described by `config`. */
export async function buildGateway(config: GatewayConfig, logger: boolean | object = { level: config.logLevel }): Promise<Gateway> {
  const { files, registry } = loadDescriptors(config.descriptor, BUILTIN_DESCRIPTOR);
  const upstreams = new UpstreamPool(files, config.upstreams, TRANSPORTS[config.transport]);
  const routes = compileRoutes(files, upstreams.services, config.json, routeOptions(config));
  const app = Fastify({
    logger,
    // One line per request, written by observability/request-log.ts; the id is the client's x-request-id when sane.
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: requestId,
    bodyLimit: config.bodyLimit,
    // Paths are matched by our own trie and queries read by the route's plan from the raw URL;
    // Fastify's router only hands every request over, so it need not parse the query too.
    routerOptions: { maxParamLength: 64 * 1024, querystringParser: noQuery },
    exposeHeadRoutes: false,
    return503OnClosing: true,
    ...serverLimitOptions(config.limits),
  });
  const requestLimits = applyServerLimits(app, config.limits);
  // With `cluster` balancing the primary accepts and hands sockets over: nothing to add.
  const clustered = config.workers > 1 && config.workerBalancing === 'cluster';
  const acceptSockets = new AcceptSockets(app.server, clustered ? 1 : config.limits.acceptSockets);
  app.addHook('preClose', async () => acceptSockets.close());

  for (const warning of routes.warnings) app.log.warn(`route: ${warning}`);

  const serviceNames = upstreams.remote.map((s) => s.typeName);
  const guards = createGuards(serviceNames, config.resilience, (s) => upstreams.get(s), app.log);
  // Plain HTTP routes (proxy/): one breaker and bulkhead each, named http:<route>; undici reconnects by itself.
  const proxyRoutes = compileProxyRoutes(config.httpRoutes, routes);
  const proxyGuards = new Map<string, UpstreamGuard>();
  for (const r of proxyRoutes) proxyGuards.set(r.service, new UpstreamGuard(r.service, { ...r.config, streamTimeoutMs: 0 }, { reconnect() {} }, app.log));
  const allGuards = new Map([...guards, ...proxyGuards]);

  // The pipeline, outermost first: the edge policies (every route), then the upstream side
  // (routes to remote services, and the upstream calls of local handlers); see pipeline/README.md.
  // Tracing (observability/tracing.ts) is loaded and composed only when telemetry exports.
  const telemetry = activeTelemetry();
  const tracing = telemetry.enabled
    ? (require('./observability/tracing') as typeof import('./observability/tracing')).gatewayTracing(telemetry.tracer, {
        grpcJs: config.transport === 'grpc-js',
      })
    : undefined;
  const metrics = gatewayMetrics(allGuards, telemetry.enabled ? telemetry.stats : undefined);
  const edge: InterceptorFactory[] = tracing ? [tracing.server, metrics.server] : [metrics.server];
  let authorize: import('./edge').Authorize | undefined;
  if (config.auth.mode === 'off') {
    app.log.warn('auth is OFF: bearer tokens are forwarded unchecked (services still verify them). Use only for local development.');
  } else {
    const { createAuthorizer, authInterceptor } = require('./edge') as typeof import('./edge');
    authorize = createAuthorizer(config.auth, rpcJwksFetcher(config.auth.jwks, upstreams, files));
    const auth = authInterceptor(authorize);
    edge.push(tracing ? tracing.stage('auth', auth) : auth);
  }
  // Rate limits after auth, so an authenticated caller is counted by its verified subject.
  const bucketStore = createBucketStore(config.rateLimit);
  const onStoreError = (err: unknown): void => app.log.warn({ err }, `rate-limit store failed; failing ${config.rateLimit.onStoreFailure}`);
  edge.push(rateLimitInterceptor(config.rateLimit, bucketStore, config.auth.mode === 'jwt', onStoreError));
  {
    // Requests that break their buf.validate rules are refused here, before any upstream work.
    const { validationInterceptor } = require('./edge/request-validation') as typeof import('./edge/request-validation');
    const skip = config.skipValidation;
    edge.push(validationInterceptor(registry, (s) => skip.some((k) => s === k || s.startsWith(`${k}.`))));
  }
  edge.push(deadlineInterceptor(config.resilience));
  const upstreamSide: InterceptorFactory[] = [resilienceInterceptor(config.resilience, guards)];
  if (tracing) upstreamSide.push(tracing.client);
  upstreamSide.push(metrics.upstream);
  const local = new Set(upstreams.local.map((s) => s.typeName));
  const remoteRoutes = routes.routes.filter((r) => !local.has(r.rpc.service));
  const handlers = new Map(compileRouteHandlers(remoteRoutes, [...edge, ...upstreamSide], upstreamHandlers(upstreams)));
  if (local.size > 0) {
    // Local services (gateway/bff/): the same edge policies; their innermost handler answers
    // in-process and calls upstream methods through the upstream side of the pipeline.
    const { LOCAL_SERVICES, localHandlers, upstreamRpcs } = require('./bff') as typeof import('./bff');
    const rpcs = upstreamRpcs(compileRouteHandlers(remoteRoutes, upstreamSide, upstreamHandlers(upstreams)), config.resilience, app.log);
    const last = localHandlers(upstreams.local, routes.routes, LOCAL_SERVICES, { rpcs, registry, config, log: app.log });
    const localRoutes = routes.routes.filter((r) => local.has(r.rpc.service));
    for (const [route, handler] of compileRouteHandlers(localRoutes, edge, last)) handlers.set(route, handler);
  }
  const proxyPolicies = {
    authorize,
    limiter: config.rateLimit.enabled ? createLimiter(config.rateLimit, bucketStore, config.auth.mode === 'jwt', onStoreError) : undefined,
    rateLimit: config.rateLimit,
  };
  const proxyHandlers = new Map<ProxyRoute, ProxyHandler>(proxyRoutes.map((r) => [r, compileProxyHandler(r, proxyPolicies, proxyGuards.get(r.service)!)]));

  const watches = new Map<string, HealthWatch>();
  for (const service of serviceNames) {
    watches.set(
      service,
      new HealthWatch(upstreams.get(service), service, (w, previous) => {
        const level = w.serving ? 'info' : 'warn';
        app.log[level]({ service, health: w.status, previous }, `upstream ${service} is ${w.status}`);
      }),
    );
  }
  const proxyHealth = new Map<string, UpstreamHealth>();
  for (const r of proxyRoutes) {
    proxyHealth.set(
      r.service,
      new UpstreamHealth(r, (h, previous) => {
        app.log[h.serving ? 'info' : 'warn']({ service: r.service, health: h.status, previous }, `upstream ${r.service} is ${h.status}`);
      }),
    );
  }
  const optional = config.optionalUpstreams;
  const optionalRoutes = new Set(proxyRoutes.filter((r) => r.config.optional).map((r) => r.service));
  const readiness = new Readiness(
    new Map<string, HealthSource>([...watches, ...proxyHealth]),
    allGuards,
    (s) => optionalRoutes.has(s) || optional.some((k) => s === k || s.startsWith(`${k}.`)),
  );

  registerProbes(app, readiness);
  // Open streams per client and in total: HTTP streams and WebSocket connections share the limits.
  const streamSlots = new StreamSlots(config.limits.maxStreamsPerClient, config.limits.maxOpenStreams);
  streamSlotMetrics(metrics.registry, streamSlots);
  const metadata = new MetadataMapper(config.forwardedHeaders, config.responseHeaderPrefix, config.trailerHeaderPrefix, config.permanentHeaderPrefix);
  const transcoding = {
    table: routes,
    registry,
    metadata,
    bodyLimit: config.bodyLimit,
    reader: createBodyReader(config.bodyLimit, config.limits.maxBufferedBodyBytes),
    answers: new UnaryAnswers(app.server, routes.routes, handlers, metadata, registry),
    maxStreamsPerClient: config.limits.maxStreamsPerClient,
    streamSlots,
    streamBufferBytes: config.limits.streamBufferBytes,
    sseKeepAliveMs: config.limits.sseKeepAliveMs,
    sseRetryMs: config.limits.sseRetryMs,
    streamIdleTimeoutMs: config.limits.streamIdleTimeoutMs,
    handlers,
    streamFormat: config.streamFormat,
  };
  // Unary requests served without Fastify's per-request machinery (http/unary-fast-path.ts),
  // running the same per-request work as the scope's hooks below; not with tracing (its hooks
  // wrap Fastify's reply), nor when the scope has a hook it does not run (it then stays off).
  let fastPath: UnaryFastPath | undefined;
  metrics.route(app);
  // Observability hooks in a scope around the transcoding routes only (not the probes, not /metrics).
  void app.register(async (scope) => {
    tracing?.hooks(scope);
    metrics.hooks(scope);
    const logStart = requestLog(scope, metrics.routeOf, metrics.templateOf);
    // After the log and metrics hooks (a preflight is a request too), before the catch-all route could answer 405.
    const cors = registerCors(scope, config.cors, (path) => {
      if (proxyRoutes.some((r) => r.serves(path))) return PROXY_METHODS;
      // '' is no route's method: the walk collects every method routed for the path.
      const match = routes.trie.match('', path);
      return match.kind === 'method-not-allowed' ? match.allow : undefined;
    });
    // WebSocket upgrades on the same routes, through the same pipeline (http/websocket-plugin.ts).
    const websocketHandler = config.websocket.enabled ? await registerWebSocket(scope, { ...transcoding, config: config.websocket }) : undefined;
    if (!tracing) {
      const starts = { limits: requestLimits, metrics: metrics.onRequest, log: logStart, cors };
      fastPath = new UnaryFastPath({ table: routes, metadata, reader: transcoding.reader, answers: transcoding.answers, starts, log: app.log });
    }
    await scope.register(transcodingPlugin, { ...transcoding, websocketHandler, fastPath });
    if (proxyRoutes.length > 0) {
      await scope.register(proxyPlugin, {
        routes: proxyRoutes,
        handlers: proxyHandlers,
        registry,
        trustedProxies: config.rateLimit.trustedProxies,
        onMatch: (headers, method, route) => {
          metrics.proxied(headers, route.template);
          return tracing?.proxied(headers, method, route.template, route.service);
        },
      });
    }
  });
  app.addHook('onReady', () => {
    for (const w of watches.values()) w.start();
    for (const h of proxyHealth.values()) h.start();
  });
  app.addHook('onClose', () => bucketStore.close());
  app.addHook('onClose', () => {
    for (const w of watches.values()) w.stop();
    for (const h of proxyHealth.values()) h.stop();
    return upstreams.close();
  });
  if (config.docs) {
    const { buildOpenApiDocument, openApiOptions } = require('./openapi') as typeof import('./openapi');
    const { registerDocs } = require('./http/docs-plugin') as typeof import('./http/docs-plugin');
    try {
      await registerDocs(app, buildOpenApiDocument(routes, registry, openApiOptions(config, routes)), routes);
    } catch (err) {
      await app.close(); // a start-up error: release the upstream pool and the bucket store before saying why
      throw err;
    }
  }

  return {
    app,
    routes,
    get fastPath() {
      return fastPath;
    },
    guards,
    async listen() {
      // workers > 1 only reaches a gateway in a worker (the primary builds none): with
      // `reuseport` each worker holds its own listening socket on the port (workers.ts);
      // limits.acceptSockets > 1 adds more to the group (http/accept-sockets.ts).
      const workersShare = config.workers > 1 && config.workerBalancing === 'reuseport';
      const reusePort = workersShare || acceptSockets.reusePort;
      // A port held by someone else (with SO_REUSEPORT too) fails the start rather than being
      // shared: probed as workers.ts's primary does for its workers.
      const port = reusePort && !workersShare ? await probePort(config.host, config.port, 'gateway') : config.port;
      await app.listen({ host: config.host, port, ...(reusePort ? { reusePort } : {}) });
      await acceptSockets.open();
      const address = app.server.address();
      return typeof address === 'object' && address ? address.port : config.port;
    },
    drain: () => readiness.drain(),
    readiness: () => readiness.report(),
    close: () => app.close(),
  };
}

/** For `rpc:/pkg.Service/Method` JWKS sources: calls the method and reads its JSON as a JWKS. */
function rpcJwksFetcher(source: string, upstreams: UpstreamPool, files: ReturnType<typeof loadDescriptors>['files']): JwksFetcher | undefined {
  if (!source.startsWith('rpc:')) return undefined;
  const [, serviceName, methodName] = source.slice(4).split('/');
  const service = files.getService(serviceName);
  const method = service?.methods.find((m) => m.name === methodName);
  if (!service || !method) throw new Error(`auth.jwks: ${source} names no method in the descriptor set`);
  if (!upstreams.remote.includes(service)) {
    throw new Error(`auth.jwks: ${source} needs an upstream for ${service.typeName}; configure one, or pass --jwks <url> or --auth off`);
  }
  const transport = upstreams.get(service.typeName);
  const input: DescMessage = method.input;
  return async () => {
    const reply = await transport.unary(`/${service.typeName}/${method.name}`, toBinary(input, create(input)), {
      metadata: [],
      deadline: Date.now() + 5000,
    });
    return toJson(method.output, fromBinary(method.output, reply.message)) as unknown as JSONWebKeySet;
  };
}
