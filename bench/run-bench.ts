/**
 * `npm run bench`: the gateway against two references on one gRPC echo backend, all on
 * loopback, each server in its own process. See bench/README.md for the columns.
 *
 *   backend      echo-server.ts (grpc-js), shared by every target
 *   gateway-h2   the gateway, lean h2 transport              } gateway-server.ts
 *   gateway-grpc-js  the gateway, @grpc/grpc-js transport   }
 *   gateway-h2-w2    gateway-h2 with --workers 2 (only when named in --targets): a primary
 *                and 2 workers (gateway-worker.ts), CPU and RSS summed over all three,
 *                balanced as --workers is by default (SO_REUSEPORT on Linux)
 *   gateway-h2-w2-cluster  the same with --worker-balancing cluster (round-robin from the primary)
 *   proxy        hand-written Fastify + grpc-js + ts-proto proxy (proxy-server.ts)
 *   direct       the same gRPC calls straight to the backend (direct-load.ts, lean h2 client)
 *   gateway-h2-base  gateway-h2 as built in another checkout (--baseline=DIR): same-run A/B
 *   grpc-gateway the Go peer (--peers=DIR): Go grpc-gateway; the backend is then the Go echo
 *                backend serving bench.v1 for every target (go-peers.ts)
 *
 * HTTP load comes from wrk when it is installed, else autocannon in this process. For each concurrency, case and rep, every
 * target gets a warm-up and then a measured window, in an order that rotates per rep.
 */
import { execSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type BenchCase, benchCases, peerCases } from './bench-cases';
import { type BenchOptions, benchOptions, type TargetName } from './bench-options';
import type { LoadResult } from './direct-load';
import { type MeasuredProcess, peerDescriptor, peerPaths, type PeerPaths, PeerProcess } from './go-peers';
import { checkResponses, runHttpLoad } from './http-load';
import { peakMemory, peakMemoryTable } from './peak-memory';
import { Child } from './ipc';
import { runNdjsonBidiLoad, sampleNdjsonBidi } from './ndjson-bidi-load';
import type { WindowStats } from './process-stats';
import {
  aggregate,
  baselineComparison,
  baselineTable,
  checksTable,
  checkTargets,
  resultsTable,
  routesTable,
  transportComparison,
  transportTable,
  type WindowRecord,
} from './report';
import { type RouteBenchResult, runRouteBench } from './route-match-bench';
import { runSlowReader, slowReaderOptions } from './slow-reader';
import { runWrkLoad } from './wrk-load';
import { runWsLoad, sampleWs } from './ws-load';

interface Target {
  name: TargetName;
  /** The gateway, proxy or grpc-gateway process (absent for direct). */
  server?: MeasuredProcess;
  baseUrl?: string;
}

/** How gateway-server.ts runs each gateway target. */
const GATEWAY_TARGETS: Partial<Record<TargetName, { transport: 'h2' | 'grpc-js'; workers: number; balancing?: 'cluster' }>> = {
  'gateway-h2': { transport: 'h2', workers: 1 },
  'gateway-grpc-js': { transport: 'grpc-js', workers: 1 },
  'gateway-h2-w2': { transport: 'h2', workers: 2 },
  'gateway-h2-w2-cluster': { transport: 'h2', workers: 2, balancing: 'cluster' },
  'gateway-h2-base': { transport: 'h2', workers: 1 },
};

/**
 * The node flags the gateway ships with (V8 heap sizing in package.json's `gateway` script),
 * so the bench measures it as `npm run gateway` runs it. `root`: another checkout's (the
 * --baseline's runs as it ships, so a change of flags is measured by the A/B too).
 */
function shippedNodeFlags(root?: string): string[] {
  return gatewayScriptWords(root).filter((w) => w.startsWith('--'));
}

/** The environment package.json's `gateway` script sets (`NAME=value` before `node`, e.g. GLIBC_TUNABLES). */
function shippedEnv(root?: string): Record<string, string> {
  const words = gatewayScriptWords(root);
  const assignments = words.slice(0, words.indexOf('node')).filter((w) => /^[A-Z_][A-Z0-9_]*=/.test(w));
  return Object.fromEntries(assignments.map((w) => [w.slice(0, w.indexOf('=')), w.slice(w.indexOf('=') + 1)]));
}

function gatewayScriptWords(root = path.join(__dirname, '..', '..')): string[] {
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  return pkg.scripts.gateway.split(/\s+/);
}

/**
 * --cpu-prof flags for a gateway, one profile per case and concurrency (`label`); cluster
 * workers inherit them, so theirs go to a folder of their own under default (per-pid) names.
 */
function cpuProfArgs(dir: string | undefined, name: string, workers: number, label: string): string[] {
  if (!dir) return [];
  return workers > 1
    ? ['--cpu-prof', `--cpu-prof-dir=${path.join(dir, `${name}-${label}`)}`]
    : ['--cpu-prof', `--cpu-prof-dir=${dir}`, `--cpu-prof-name=${name}-${label}.cpuprofile`];
}

/** With --peers: the Go binaries, and our gateway's descriptor of their bench.v1 proto. */
interface Peers extends PeerPaths {
  descriptor: string;
}

async function startTargets(
  options: BenchOptions,
  backendTarget: string,
  label: string,
  peers: Peers | undefined,
): Promise<{ targets: Target[]; direct?: Child }> {
  const targets: Target[] = [];
  let direct: Child | undefined;
  for (const name of options.targets) {
    if (name === 'direct') {
      direct = await Child.start('direct', 'direct-load', ['--backend', backendTarget]);
      targets.push({ name });
      continue;
    }
    let server: MeasuredProcess;
    if (name === 'proxy') {
      server = await Child.start(name, 'proxy-server', ['--backend', backendTarget]);
    } else if (name === 'grpc-gateway') {
      server = await PeerProcess.start(name, peers!.grpcGateway, (port) => ['-addr', `127.0.0.1:${port}`, '-backend', backendTarget]);
    } else {
      const { transport, workers, balancing } = GATEWAY_TARGETS[name]!;
      const args = ['--backend', backendTarget, '--transport', transport, '--workers', String(workers)];
      if (balancing) args.push('--worker-balancing', balancing);
      if (peers) args.push('--descriptor', peers.descriptor, '--package', 'bench.v1');
      const root = name === 'gateway-h2-base' ? options.baselineDir : undefined;
      const execArgv = [...shippedNodeFlags(root), ...options.gatewayNodeArgs, ...cpuProfArgs(options.cpuProfDir, name, workers, label)];
      server = await Child.start(name, 'gateway-server', args, execArgv, root, shippedEnv(root));
    }
    targets.push({ name, server, baseUrl: `http://127.0.0.1:${server.ready.port}` });
  }
  return { targets, direct };
}

async function measureWindow(
  t: Target,
  direct: Child | undefined,
  backend: MeasuredProcess,
  c: BenchCase,
  connections: number,
  options: BenchOptions,
): Promise<Omit<WindowRecord, 'rep'>> {
  const load = (ms: number): Promise<LoadResult> =>
    t.name === 'direct'
      ? direct!.request<LoadResult>('run', { caseN: c.n, connections, durationMs: ms })
      : c.ws
        ? runWsLoad(t.baseUrl!, c, connections, ms)
        : c.httpBidi
          ? runNdjsonBidiLoad(t.baseUrl!, c, connections, ms)
          : options.wrkPath
            ? runWrkLoad(options.wrkPath, t.baseUrl!, c, connections, ms, options.connectionClose)
            : runHttpLoad(t.baseUrl!, c, connections, ms);
  await load(options.warmupMs);
  await Promise.all([backend.request('window-start'), t.server?.request('window-start'), direct?.request('window-start')]);
  const ownCpu = process.cpuUsage(); // autocannon runs in this process; wrk reports its own
  const result: LoadResult & { clientCpuUs?: number } = await load(options.durationMs);
  const ownCpuUs = process.cpuUsage(ownCpu);
  const [backendStats, serverStats, directStats] = await Promise.all([
    backend.request<WindowStats>('window-end'),
    t.server?.request<WindowStats>('window-end'),
    direct?.request<WindowStats>('window-end'),
  ]);
  return {
    caseN: c.n,
    caseId: c.id,
    connections,
    target: t.name,
    requests: result.requests,
    errors: result.errors,
    durationS: result.durationS,
    latencyMs: result.latencyMs,
    messagesPerCall: c.messagesPerCall,
    serverCpuUs: serverStats?.cpuUs,
    serverPeakRssBytes: serverStats?.peakRssBytes,
    serverPeak: serverStats && {
      fileBytes: serverStats.peakFileBytes,
      heapTotalBytes: serverStats.peakHeapTotalBytes,
      heapUsedBytes: serverStats.peakHeapUsedBytes,
      arrayBuffersBytes: serverStats.peakArrayBuffersBytes,
    },
    serverHeapTotalBytes: serverStats?.heapTotalBytes,
    serverExternalBytes: serverStats?.externalBytes,
    backendCpuUs: backendStats.cpuUs,
    clientCpuUs: t.name === 'direct' ? directStats!.cpuUs : (result.clientCpuUs ?? ownCpuUs.user + ownCpuUs.system),
  };
}

/** The targets that run case `c`: WebSocket and bidi cases only on the gateways (and direct, the ceiling, when it can make the call). */
function targetsOf(c: BenchCase, options: BenchOptions): TargetName[] {
  return c.ws || c.httpBidi ? options.targets.filter((t) => (t === 'direct' ? c.grpc !== undefined : GATEWAY_TARGETS[t] !== undefined)) : options.targets;
}

/** One call of a WebSocket case on every target: all frames and a 1000 close, the same frames everywhere. */
async function checkWs(targets: Array<[name: string, baseUrl: string]>, c: BenchCase): Promise<string[]> {
  const problems: string[] = [];
  let reference: { name: string; frames: unknown[] } | undefined;
  for (const [name, url] of targets) {
    try {
      const { frames, close } = await sampleWs(url, c);
      const expected = c.ws!.mode === 'bidi' ? 1 : c.messagesPerCall;
      if (close !== 1000 || frames.length !== expected)
        problems.push(`case ${c.n} ${name}: close ${close}, ${frames.length} frames, expected 1000 and ${expected}`);
      else if (!reference) reference = { name, frames };
      else if (JSON.stringify(frames) !== JSON.stringify(reference.frames)) problems.push(`case ${c.n}: ${name} answers differently from ${reference.name}`);
    } catch (err) {
      problems.push(`case ${c.n} ${name}: ${(err as Error).message}`);
    }
  }
  return problems;
}

/** One call of an HTTP bidi case on every target: an answer line before the body ended, status 200, the same lines everywhere. */
async function checkNdjsonBidi(targets: Array<[name: string, baseUrl: string]>, c: BenchCase): Promise<string[]> {
  const problems: string[] = [];
  let reference: { name: string; lines: unknown[] } | undefined;
  for (const [name, url] of targets) {
    try {
      const { lines, status, interleaved } = await sampleNdjsonBidi(url, c);
      if (status !== 200 || lines.length !== 1 || !interleaved)
        problems.push(`case ${c.n} ${name}: status ${status}, ${lines.length} lines, interleaved ${interleaved}; expected 200, 1, true`);
      else if (!reference) reference = { name, lines };
      else if (JSON.stringify(lines) !== JSON.stringify(reference.lines)) problems.push(`case ${c.n}: ${name} answers differently from ${reference.name}`);
    } catch (err) {
      problems.push(`case ${c.n} ${name}: ${(err as Error).message}`);
    }
  }
  return problems;
}

function gitCommit(): string | undefined {
  try {
    return execSync('git rev-parse --short HEAD', { stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  let options: BenchOptions;
  try {
    options = benchOptions(process.argv.slice(2));
  } catch (err) {
    console.error((err as Error).message);
    process.exit(2);
  }
  const peers: Peers | undefined = options.peersDir ? { ...peerPaths(options.peersDir), descriptor: '' } : undefined;
  if (peers) peers.descriptor = peerDescriptor(peers.protoDir, path.join(__dirname, '..', '..'));
  const cases = (peers ? peerCases() : benchCases()).filter((c) => options.cases.includes(c.n));
  const windowsTotal = options.connections.length * options.reps * cases.reduce((n, c) => n + targetsOf(c, options).length, 0);
  const estimateS = Math.round((windowsTotal * (options.warmupMs + options.durationMs)) / 1000 + (options.routes ? (4 * options.routeMs) / 1000 : 0));
  console.log(`bench: node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'})`);
  if (peers) console.log(`bench: Go peers from ${options.peersDir}: Go echo backend (bench.v1) behind every target`);
  console.log(
    `bench: HTTP load from ${options.wrkPath ? `wrk -t1 (${options.wrkPath})` : 'autocannon (install wrk for figures the load generator does not cap)'}`,
  );
  if (options.connectionClose) console.log('bench: Connection: close on every HTTP request (a new connection each)');
  console.log(`bench: ${windowsTotal} windows of ${options.warmupMs / 1000} s warm-up + ${options.durationMs / 1000} s, ~${Math.ceil(estimateS / 60)} min`);

  // Case 5 first, while the machine is quiet.
  let routes: RouteBenchResult | undefined;
  if (options.routes) {
    routes = runRouteBench({ measureMs: options.routeMs });
    console.log(`\ncase 5: route matching (trie only)\n${routesTable(routes)}\n10k/10 cost ratio: ${routes.slowdown}x\n`);
  }

  const backend: MeasuredProcess = peers
    ? await PeerProcess.start('backend', peers.backend, (port) => ['-addr', `127.0.0.1:${port}`])
    : await Child.start('backend', 'echo-server', []);
  const backendTarget = `127.0.0.1:${backend.ready.port}`;
  let startup: Record<string, { processReadyMs?: number; buildMs?: number; idleRssMb: number }> | undefined;
  const problems: string[] = [];
  const windows: WindowRecord[] = [];
  let done = 0;
  try {
    for (const connections of options.connections) {
      for (const c of cases) {
        // Fresh target processes per case and concurrency: RSS never shrinks, so a shared
        // process would carry an earlier case's peak into every later one.
        const caseOptions = { ...options, targets: targetsOf(c, options) };
        const { targets, direct } = await startTargets(caseOptions, backendTarget, `case${c.n}-c${connections}`, peers);
        try {
          if (startup === undefined) {
            const first = Object.fromEntries(
              targets
                .filter((t) => t.server)
                .map((t) => [t.name, { processReadyMs: t.server!.ready.startupMs, buildMs: t.server!.ready.buildMs, idleRssMb: t.server!.ready.rssMb }]),
            );
            startup = first;
            for (const [name, s] of Object.entries(first)) {
              console.log(
                `${name}: ready ${s.processReadyMs} ms after process start${s.buildMs !== undefined ? ` (build + listen ${s.buildMs} ms)` : ''}, idle RSS ${s.idleRssMb} MB`,
              );
            }
          }
          const httpTargets = targets.filter((t) => t.baseUrl).map((t): [string, string] => [t.name, t.baseUrl!]);
          const found = c.ws ? await checkWs(httpTargets, c) : c.httpBidi ? await checkNdjsonBidi(httpTargets, c) : await checkResponses(httpTargets, c);
          for (const p of found) console.warn(`check: ${p}`);
          problems.push(...found);
          for (let rep = 0; rep < options.reps; rep++) {
            // Rotate the order each rep so no target always runs first (or right after another).
            const order = targets.map((_, i) => targets[(i + rep) % targets.length]);
            for (const t of order) {
              const w = { ...(await measureWindow(t, direct, backend, c, connections, options)), rep };
              windows.push(w);
              done++;
              const rate = (w.requests / w.durationS) * c.messagesPerCall;
              const cpu = w.serverCpuUs === undefined ? '' : `, ${(w.serverCpuUs / Math.max(1, w.requests)).toFixed(1)} us/req`;
              console.log(
                `[${String(done).padStart(3)}/${windowsTotal}] case ${c.n} @${connections} ${t.name.padEnd(15)} rep ${rep + 1}: ` +
                  `${Math.round(rate).toLocaleString('en-US')} ${c.messagesPerCall > 1 ? 'msg' : 'req'}/s, p99 ${w.latencyMs.p99} ms, ${w.errors} errors${cpu}`,
              );
            }
          }
        } finally {
          await Promise.all([...targets.map((t) => t.server?.stop()), direct?.stop()]);
        }
      }
    }
  } finally {
    await backend.stop();
  }

  const rows = aggregate(windows);
  const checks = checkTargets(rows, routes);
  const transports = transportComparison(rows);
  const summed = options.targets.filter((t) => (GATEWAY_TARGETS[t]?.workers ?? 1) > 1);
  console.log(
    `\nresults (medians of ${options.reps} windows of ${options.durationMs / 1000} s; CPU and RSS are the gateway/proxy process's` +
      `${summed.length ? `, for ${summed.join(', ')} summed over the primary and its workers` : ''})\n`,
  );
  console.log(resultsTable(rows));
  if (transports.length) console.log(`\ngateway transports: h2 vs grpc-js\n\n${transportTable(transports)}`);
  const ab = baselineComparison(windows);
  if (ab.length) console.log(`\nA/B: gateway-h2 (this checkout) vs gateway-h2-base (${options.baselineDir})\n\n${baselineTable(ab)}`);
  const memory = peakMemory(windows);
  if (memory.length) console.log(`\nmemory at the peak sample (the window with the highest peak RSS; MB)\n\n${peakMemoryTable(memory)}`);
  if (routes) console.log(`\ncase 5: route matching\n\n${routesTable(routes)}`);
  console.log(`\ntargets\n\n${checksTable(checks)}`);
  if (options.cpuProfDir)
    console.log(
      `\nCPU profiles: ${options.cpuProfDir}/gateway-*-case<N>-c<conns>.cpuprofile${summed.map((t) => `, ${options.cpuProfDir}/${t}-case<N>-c<conns>/*.cpuprofile`).join('')}`,
    );

  const output = {
    meta: {
      date: new Date().toISOString(),
      commit: gitCommit(),
      node: process.version,
      cpus: os.cpus().length,
      cpuModel: os.cpus()[0]?.model,
      directClient: 'gateway lean h2 transport (createH2Transport), static ts-proto codecs',
      backend: peers ? `Go echo backend ${peers.backend} (bench.v1)` : 'echo-server.ts (@grpc/grpc-js)',
      httpLoad: options.wrkPath ? `wrk -t1 (${options.wrkPath}), HTTP/1.1 keep-alive` : `autocannon, HTTP/1.1 keep-alive, pipelining 1`,
      options: { ...options, out: undefined },
    },
    cases: cases.map((c) => ({
      n: c.n,
      id: c.id,
      title: c.title,
      http: { method: c.http.method, path: c.http.path, bodyBytes: c.http.body?.length ?? 0 },
      grpcPath: c.grpc?.path,
      messagesPerCall: c.messagesPerCall,
    })),
    startup,
    routes,
    results: rows,
    transports,
    baseline: ab,
    memory,
    checks,
    problems,
    windows,
  };
  mkdirSync(path.dirname(options.out), { recursive: true });
  writeFileSync(options.out, `${JSON.stringify(output, null, 2)}\n`);
  console.log(`\nwrote ${path.relative(process.cwd(), options.out) || options.out}`);
  if (options.slowReader) await runSlowReader(slowReaderOptions([]));
  if (problems.length) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error('bench failed:', err);
  process.exit(1);
});
