/**
 * Pipeline micro-benchmark: the CPU a route's compiled interceptor chain (default policies:
 * deadline, then resilience with its cockatiel breaker and bulkhead, and the retry loop on
 * GET-bound routes) adds per call, against the bare last handler, for the routes of bench
 * cases 1 (GET, retryable) and 2 (POST); and the whole default chain as app.ts composes it
 * with auth off and no buf.validate rules (metrics, rate limit, deadline, resilience,
 * upstream metrics), each call timed by the metrics hook as a request would be. The last handler answers at once with a resolved
 * promise, so only the pipeline is measured; what a deadline costs in the transport (a timer
 * and a grpc-timeout header) is in `npm run bench`. One process, a few seconds; not part of
 * `npm run bench`. Alternates bare and default rounds; prints the median of each.
 *
 *   npx tsc -p tsconfig.build.json && node dist/bench/pipeline-bench.js [--ms=1000]
 */
import { BUILTIN_DESCRIPTOR, DEFAULT_CONFIG } from '../gateway/config';
import { loadDescriptors } from '../gateway/descriptors';
import { compileRouteHandlers, type Call, type Handler, type Result } from '../gateway/pipeline';
import { compileRoutes, DEFAULT_JSON_OPTIONS, type Route } from '../gateway/transcode';
import { deadlineInterceptor } from '../gateway/upstream/deadline';
import { createGuards, resilienceInterceptor } from '../gateway/upstream/resilience';
import { Cancellation, type Transport } from '../gateway/upstream/transport';
import { gatewayMetrics } from '../gateway/observability/metrics';
import { memoryBucketStore, rateLimitInterceptor } from '../gateway/edge/rate-limiting';
import type { ServerResponse } from 'node:http';
import { EventEmitter } from 'node:events';

const ROUNDS = 7;
const SERVICE = 'acme.echo.v1.EchoService';
const RESULT: Result = { message: new Uint8Array(0), headers: [], trailers: [] };
const answered = Promise.resolve(RESULT);
const last = (): Handler => () => answered;
const silent = { warn: () => undefined, info: () => undefined };

function newCall(route: Route): Call {
  return {
    route,
    headers: {},
    metadata: [['x-forwarded-for', '127.0.0.1']],
    deadline: undefined,
    signal: new Cancellation(),
    values: ['1'],
    rawQuery: '',
    body: undefined,
    contentType: undefined,
    request: undefined,
    input: undefined,
    messages: undefined,
    sink: undefined,
  };
}

/**
 * CPU nanoseconds (user + system) per call of `handler` on `route`, over about `ms` of wall
 * time, calls made one after another. CPU time, not wall time: on a shared machine the
 * process is descheduled for part of the window.
 */
async function nsPerCall(handler: Handler, route: Route, ms: number): Promise<number> {
  let calls = 0;
  const start = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  const budget = BigInt(ms) * 1_000_000n;
  while (process.hrtime.bigint() - start < budget) {
    for (let i = 0; i < 1000; i++) await handler(newCall(route));
    calls += 1000;
  }
  const used = process.cpuUsage(cpu);
  return ((used.user + used.system) * 1000) / calls;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const ms = Number(process.argv.find((a) => a.startsWith('--ms='))?.slice(5) ?? 1000);
  const { files } = loadDescriptors(BUILTIN_DESCRIPTOR, BUILTIN_DESCRIPTOR);
  const service = files.getService(SERVICE)!;
  const table = compileRoutes(files, [service], DEFAULT_JSON_OPTIONS);
  const find = (method: string, path: string): Route => table.routes.find((r) => r.binding.httpMethod === method && r.binding.path === path)!;
  const cases: Array<[string, Route]> = [
    ['case 1: GET /v1/echo/{id} (retryable)', find('GET', '/v1/echo/{id}')],
    ['case 2: POST /v1/echo', find('POST', '/v1/echo')],
  ];
  const transport = { reconnect: () => undefined } as unknown as Transport;
  const config = DEFAULT_CONFIG.resilience;
  const guards = createGuards([SERVICE], config, () => transport, silent);
  const routes = cases.map(([, r]) => r);
  const bare = compileRouteHandlers(routes, [], last);
  const full = compileRouteHandlers(routes, [deadlineInterceptor(config), resilienceInterceptor(config, guards)], last);
  const metrics = gatewayMetrics(guards);
  const rateLimit = { ...DEFAULT_CONFIG.rateLimit, requestsPerMinute: 1e9, burst: 1e9 };
  const chain = [
    metrics.server,
    rateLimitInterceptor(rateLimit, memoryBucketStore(), false, () => undefined),
    deadlineInterceptor(config),
    resilienceInterceptor(config, guards),
    metrics.upstream,
  ];
  const all = compileRouteHandlers(routes, chain, last);
  // The metrics hook's part of a request: timed from its start to its response's close.
  const timed =
    (handler: Handler): Handler =>
    async (call) => {
      const res = new EventEmitter() as unknown as ServerResponse;
      res.statusCode = 200;
      metrics.onRequest(call.route.binding.httpMethod, call.headers, res);
      const result = await handler(call);
      res.emit('close');
      return result;
    };
  for (const [name, route] of cases) {
    const b: number[] = [];
    const f: number[] = [];
    const a: number[] = [];
    const whole = timed(all.get(route)!);
    await nsPerCall(full.get(route)!, route, ms / 2); // warm-up
    await nsPerCall(whole, route, ms / 2);
    for (let round = 0; round < ROUNDS; round++) {
      b.push(await nsPerCall(bare.get(route)!, route, ms));
      f.push(await nsPerCall(full.get(route)!, route, ms));
      a.push(await nsPerCall(whole, route, ms));
    }
    const added = median(f) - median(b);
    console.log(`${name}: bare ${median(b).toFixed(0)} ns/call, default policies ${median(f).toFixed(0)} ns/call: +${(added / 1000).toFixed(2)} us per call`);
    console.log(
      `${name}: whole default chain with metrics and rate limit ${median(a).toFixed(0)} ns/call: +${((median(a) - median(b)) / 1000).toFixed(2)} us per call`,
    );
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
