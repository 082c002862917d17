/**
 * The gateway's Prometheus metrics (prom-client, its own registry), served at `GET /metrics`.
 * Labels are bounded by construction: route templates (never raw paths), the HTTP methods the
 * routes declare, status codes, service and method names from the descriptors, gRPC codes.
 * Per-request work is a few map lookups and counter increments; label children are cached.
 *
 * Where each number is taken: HTTP requests when the response closes (whatever wrote it:
 * Fastify's reply or a stream writer), upstream attempts in the innermost interceptor (one per
 * attempt, inside the retries), refusals (open breaker, full bulkhead) in the outermost one,
 * breaker state and bulkhead occupancy from the guards at scrape time.
 */
import type { ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { grpcCodeName, type SpanExportStats } from '../../shared-kit';
import type { InterceptorFactory } from '../pipeline';
import { GatewayError, type Route } from '../transcode';
import type { UpstreamGuard } from '../upstream/resilience';
import { CallError } from '../upstream/transport';
import { HotHistogram, type HotChild } from './hot-histogram';

const UNMATCHED = '(unmatched)';
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
// Seconds; from 1 ms (a cached answer on loopback) to 10 s (a deadline).
const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const BREAKER_STATES = ['closed', 'open', 'half-open', 'off'] as const;

/** One request between its start and the close of its response. */
class Timing {
  route: Route | undefined = undefined;
  /** A plain HTTP route's pattern (proxy/), when the request matched one. */
  template: string | undefined = undefined;

  constructor(
    /** performance.now() at the request. */
    readonly start: number,
    readonly method: string,
  ) {}
}

/**
 * Where a request's Timing hangs: a symbol-keyed property of its headers object, the one
 * thing both the Fastify hooks and the pipeline's Call hold (for-in, Object.keys and JSON skip
 * symbol keys, so no header loop or log sees it). Not a WeakMap: an entry per request (a
 * fresh key each time: set, get, delete) measured ~1 µs on this machine against ~20 ns for a
 * property, plus the collector's ephemeron work.
 */
const TIMING = Symbol('gateway metrics timing');
type Timed = { [TIMING]?: Timing };
const timingOf = (headers: object): Timing | undefined => (headers as Timed)[TIMING];

export interface GatewayMetrics {
  readonly registry: Registry;
  /** Hooks for the scope holding the transcoding routes: request count, latency, in flight (runs `onRequest`). */
  hooks(scope: FastifyInstance): void;
  /** A request's start (its `method`, its headers object, its response): timed until the response closes. */
  onRequest(method: string, headers: object, res: ServerResponse): void;
  /** Outer interceptor: binds the request to its route, counts refusals and open streams. */
  readonly server: InterceptorFactory;
  /** Innermost interceptor (per attempt): upstream latency and result, retries. */
  readonly upstream: InterceptorFactory;
  /** The route a request (by its headers object) matched; undefined before the pipeline or for a 404/405. */
  routeOf(headers: object): Route | undefined;
  /** Labels a request that matched a plain HTTP route with its pattern (`/legacy/**`). */
  proxied(headers: object, template: string): void;
  /** The plain HTTP route pattern a request matched, if any. */
  templateOf(headers: object): string | undefined;
  /** Registers `GET /metrics` on `app` (an ordinary route beside the probes). */
  route(app: FastifyInstance): void;
}

/** The metrics of a gateway guarding `guards`; `spans` when tracing exports. */
export function gatewayMetrics(guards: ReadonlyMap<string, UpstreamGuard>, spans?: Readonly<SpanExportStats>): GatewayMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const duration = new HotHistogram(
    'gateway_http_request_duration_seconds',
    'HTTP request latency, from the request to the close of its response.',
    BUCKETS,
    registry,
  );
  duration.counter('gateway_http_requests_total', 'HTTP requests answered, by route template, method and status.', registry);
  // Counted here and read at scrape time: prom-client's Gauge.inc()/dec() hash their labels on every call.
  let inFlight = 0;
  new Gauge({
    name: 'gateway_http_requests_in_flight',
    help: 'HTTP requests being handled.',
    registers: [registry],
    collect() {
      this.set(inFlight);
    },
  });
  const openStreams = new Gauge({
    name: 'gateway_open_streams',
    help: 'Server streams in progress, by service and method.',
    labelNames: ['service', 'method'],
    registers: [registry],
  });
  const upstreamDuration = new HotHistogram(
    'gateway_upstream_call_duration_seconds',
    'Upstream gRPC call attempts: latency by service, method and gRPC status code name (OK, NotFound…; the count is the calls by result).',
    BUCKETS,
    registry,
  );
  const retries = new Counter({
    name: 'gateway_upstream_retries_total',
    help: 'Upstream attempts after the first (retries), by service and method.',
    labelNames: ['service', 'method'],
    registers: [registry],
  });
  const rejected = new Counter({
    name: 'gateway_upstream_rejected_total',
    help: 'Calls refused before reaching the upstream, by service and reason (CIRCUIT_OPEN, BULKHEAD_FULL).',
    labelNames: ['service', 'reason'],
    registers: [registry],
  });
  const breakerOpened = new Counter({
    name: 'gateway_upstream_breaker_opened_total',
    help: 'Times the circuit breaker of a service opened.',
    labelNames: ['service'],
    registers: [registry],
  });
  new Gauge({
    name: 'gateway_upstream_breaker_state',
    help: 'Circuit breaker state per service: 1 for the current state (closed, open, half-open, off), 0 for the others.',
    labelNames: ['service', 'state'],
    registers: [registry],
    collect() {
      for (const [service, guard] of guards) {
        const current = guard.breakerState;
        for (const state of BREAKER_STATES) this.set({ service, state }, state === current ? 1 : 0);
      }
    },
  });
  new Gauge({
    name: 'gateway_upstream_bulkhead_in_flight',
    help: 'Unary and client-streaming calls holding a bulkhead slot, per service.',
    labelNames: ['service'],
    registers: [registry],
    collect() {
      for (const [service, guard] of guards) this.set({ service }, guard.inFlight);
    },
  });
  new Gauge({
    name: 'gateway_upstream_bulkhead_queued',
    help: 'Calls waiting for a bulkhead slot, per service.',
    labelNames: ['service'],
    registers: [registry],
    collect() {
      for (const [service, guard] of guards) this.set({ service }, guard.queued);
    },
  });
  if (spans) {
    new Counter({
      name: 'gateway_trace_spans_total',
      help: 'Finished spans by export result: exported, failed (the collector refused or timed out), dropped (queue full).',
      labelNames: ['result'],
      registers: [registry],
      collect() {
        this.reset();
        this.inc({ result: 'exported' }, spans.exported);
        this.inc({ result: 'failed' }, spans.failed);
        this.inc({ result: 'dropped' }, spans.dropped);
      },
    });
  }
  for (const [service, guard] of guards) guard.breaker?.onBreak(() => breakerOpened.inc({ service }));

  function closed(res: ServerResponse, t: Timing): void {
    inFlight--;
    const seconds = (performance.now() - t.start) / 1000;
    const route = t.route ? t.route.binding.path : (t.template ?? UNMATCHED);
    const method = t.route ? t.route.binding.httpMethod : t.method;
    const status = res.statusCode;
    duration.child(`${route} ${method} ${status}`, () => ({ route, method, status: String(status) })).observe(seconds);
  }

  const onRequest = (method: string, headers: object, res: ServerResponse): void => {
    const t = new Timing(performance.now(), METHODS.has(method) ? method : 'OTHER');
    (headers as Timed)[TIMING] = t;
    inFlight++;
    // A closure, not a WeakMap entry; on, not once (a response closes once; once() wraps per request).
    res.on('close', function (this: ServerResponse) {
      closed(this, t);
    });
  };

  return {
    registry,
    hooks(scope) {
      scope.addHook('onRequest', (request, reply, done) => {
        onRequest(request.method, request.headers, reply.raw);
        done();
      });
    },
    onRequest,
    server: (route) => {
      const { service, name } = route.rpc;
      const streaming = route.rpc.kind === 'server_streaming';
      const streams = openStreams.labels({ service, method: name });
      const refused = (err: unknown): never => {
        if (err instanceof GatewayError && (err.reason === 'CIRCUIT_OPEN' || err.reason === 'BULKHEAD_FULL')) rejected.inc({ service, reason: err.reason });
        throw err;
      };
      if (streaming) {
        return (next) => async (call) => {
          const t = timingOf(call.headers);
          if (t !== undefined) t.route = route;
          streams.inc();
          try {
            return await next(call);
          } catch (err) {
            return refused(err);
          } finally {
            streams.dec();
          }
        };
      }
      // No async frame per call (~0.2 us each here): the result passes through one then().
      return (next) => (call) => {
        const t = timingOf(call.headers);
        if (t !== undefined) t.route = route;
        try {
          return next(call).then(undefined, refused);
        } catch (err) {
          return Promise.reject(err).then(undefined, refused);
        }
      };
    },
    upstream: (route) => {
      const { service, name } = route.rpc;
      const retried = retries.labels({ service, method: name });
      const byCode: HotChild[] = [];
      const childOf = (code: number): HotChild =>
        (byCode[code] ??= upstreamDuration.child(`${service}/${name} ${code}`, () => ({ service, method: name, code: grpcCodeName(code) })));
      return (next) => async (call) => {
        if (call.attempt !== undefined && call.attempt > 1) retried.inc();
        const start = performance.now();
        let code = 0;
        try {
          const result = await next(call);
          if ('status' in result) code = result.status.code;
          return result;
        } catch (err) {
          code = err instanceof CallError ? err.status.code : err instanceof GatewayError ? err.code : 2;
          throw err;
        } finally {
          childOf(code).observe((performance.now() - start) / 1000);
        }
      };
    },
    routeOf: (headers) => timingOf(headers)?.route,
    proxied: (headers, template) => {
      const t = timingOf(headers);
      if (t !== undefined) t.template = template;
    },
    templateOf: (headers) => timingOf(headers)?.template,
    route(app) {
      app.get('/metrics', async (_request, reply) => {
        const text = await registry.metrics();
        return reply.header('content-type', registry.contentType).send(text);
      });
    },
  };
}

/**
 * Open streams against their total cap (http/stream-slots.ts), read at scrape time: HTTP
 * server, client and bidi streams and WebSocket calls together, beside `gateway_open_streams`
 * (server streams by method, from the pipeline).
 */
export function streamSlotMetrics(registry: Registry, slots: { readonly open: number; readonly maxTotal: number }): void {
  new Gauge({
    name: 'gateway_stream_slots_open',
    help: 'Open streams of all clients (HTTP streams and WebSocket calls), counted against limits.maxOpenStreams.',
    registers: [registry],
    collect() {
      this.set(slots.open);
    },
  });
  new Gauge({
    name: 'gateway_stream_slots_max',
    help: 'limits.maxOpenStreams: open streams the gateway takes at most (0 = no cap); past it 503 STREAMS_FULL.',
    registers: [registry],
    collect() {
      this.set(slots.maxTotal);
    },
  });
}
