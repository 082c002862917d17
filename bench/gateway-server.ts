/**
 * The gateway under test, in its own process: `--backend host:port --transport h2|grpc-js
 * [--workers N [--worker-balancing reuseport|cluster]] [--descriptor api.binpb --package pkg.v1] [--stream-buffer-bytes N]`
 * (--descriptor and --package for the Go peers' bench.v1, by default our own descriptor and acme.echo.v1;
 * --stream-buffer-bytes sets limits.streamBufferBytes, for the slow-reader bench). Auth off and no request logging (the hand-written proxy logs nothing either),
 * rate limits on but out of reach, everything else at its defaults. Reports build time and its port, then answers window-stats
 * requests. With N > 1 this process is the primary of N workers (gateway-worker.ts) and
 * its window stats are its own plus theirs, added up (sumWindowStats).
 */
import * as path from 'node:path';
import { resolveConfig, type GatewayConfig, type WorkerBalancing } from '../gateway/config';
import { startGateway } from '../gateway/main';
import { startWorkers } from '../gateway/workers';
import { startTelemetry } from '../shared-kit';
import { announceReady, argValue, IpcPeer, serveRequests } from './ipc';
import { sumWindowStats, windowStatsHandlers, type WindowStats } from './process-stats';

async function main(): Promise<void> {
  const backend = argValue('backend');
  const transport = argValue('transport') as 'h2' | 'grpc-js' | undefined;
  if (!backend || !transport) throw new Error('usage: gateway-server --backend host:port --transport h2|grpc-js [--workers N]');
  // Tracing as `npm run gateway` has it: on when OTEL_* configures an exporter (bench tracing on/off).
  startTelemetry({ defaultServiceName: 'acme-gateway', warn: (msg) => console.error(`gateway-server: ${msg}`) });
  const start = performance.now();
  const descriptor = argValue('descriptor');
  const config = resolveConfig({
    port: 0,
    ...(descriptor ? { descriptor } : {}),
    // acme.conformance.v1.ShapesService: its bidi Chat, for the WebSocket bench (case 8).
    upstreams: argValue('package') ? { [argValue('package')!]: backend } : { 'acme.echo.v1': backend, 'acme.conformance.v1.ShapesService': backend },
    transport,
    auth: { mode: 'off' },
    // Rate limiting stays on (its cost per request is measured) with a limit no bench reaches:
    // all load comes from one loopback caller, which the default (6,000/min) would answer 429.
    rateLimit: { requestsPerMinute: 1_000_000_000, burst: 1_000_000_000 },
    workers: Number(argValue('workers') ?? 1),
    ...(argValue('worker-balancing') ? { workerBalancing: argValue('worker-balancing') as WorkerBalancing } : {}),
    // Open streams per client likewise: the stream cases' 256 sockets all come from 127.0.0.1,
    // and the default (32) answered 224 of them 429 TOO_MANY_STREAMS.
    limits: {
      maxStreamsPerClient: 1_000_000,
      ...(argValue('stream-buffer-bytes') ? { streamBufferBytes: Number(argValue('stream-buffer-bytes')) } : {}),
    },
  });
  if (config.workers > 1) return serveWithWorkers(config, start);
  const gateway = await startGateway(config, false, { releaseStartupGarbage: true });
  const buildMs = performance.now() - start;
  serveRequests(windowStatsHandlers(), () => gateway.close());
  announceReady({ port: gateway.port, buildMs: Math.round(buildMs * 10) / 10 });
}

async function serveWithWorkers(config: GatewayConfig, start: number): Promise<void> {
  const pool = await startWorkers(config, {
    entry: path.join(__dirname, 'gateway-worker.js'),
    log: (level, msg) => {
      if (level !== 'INFO') console.error(`gateway-server: ${msg}`);
    },
    onFatal: () => process.exit(1),
  });
  const buildMs = performance.now() - start;
  // A worker replaced mid-run would not be measured: its peer rejects and the bench stops.
  const workers = pool.workers().map((w) => new IpcPeer(`gateway worker ${w.id}`, w.process));
  const own = windowStatsHandlers();
  const ask = <T>(op: string): Promise<T[]> => Promise.all(workers.map((w) => w.request<T>(op)));
  serveRequests(
    {
      'window-start': async () => {
        own['window-start']();
        await ask('window-start');
        return true;
      },
      'window-end': async () => sumWindowStats([own['window-end']() as WindowStats, ...(await ask<WindowStats>('window-end'))]),
    },
    () => pool.close(),
  );
  const workersRss = (await ask<number>('rss')).reduce((a, b) => a + b, 0);
  announceReady({ port: pool.port, buildMs: Math.round(buildMs * 10) / 10, rssBytes: process.memoryUsage.rss() + workersRss });
}

main().catch((err: unknown) => {
  console.error('gateway-server:', err);
  process.exit(1);
});
