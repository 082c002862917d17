/**
 * The bench's options, with their defaults in one place. Flags win over environment
 * variables: `--duration=5` / BENCH_DURATION (seconds), and so on; `--quick` is a smoke run.
 */
import * as path from 'node:path';
import { findWrk } from './wrk-load';

/** The targets a run measures unless --targets names others. */
export const TARGETS = ['gateway-h2', 'gateway-grpc-js', 'proxy', 'direct'] as const;
/**
 * Targets measured only when named: `gateway-h2-w2` is gateway-h2 with --workers 2 (a primary
 * and 2 workers, balanced as --workers balances by default: SO_REUSEPORT on Linux),
 * `gateway-h2-w2-cluster` the same with --worker-balancing cluster; `grpc-gateway` is the Go peer (needs --peers, the default there);
 * `gateway-h2-base` is gateway-h2 built from another checkout (needs --baseline, the default there).
 */
export const EXTRA_TARGETS = ['gateway-h2-w2', 'gateway-h2-w2-cluster', 'grpc-gateway', 'gateway-h2-base'] as const;
/** The targets a run with the Go peers measures unless --targets names others. */
export const PEER_TARGETS = ['gateway-h2', 'grpc-gateway'] as const;
/** Targets that need our own backend and acme.echo.v1 (not available with the Go backend). */
const NODE_ONLY_TARGETS = ['proxy', 'direct'];
export type TargetName = (typeof TARGETS)[number] | (typeof EXTRA_TARGETS)[number];

export interface BenchOptions {
  /** Warm-up before each measured window, ms (BENCH_WARMUP, --warmup, seconds). */
  warmupMs: number;
  /** Each measured window, ms (BENCH_DURATION, --duration, seconds). */
  durationMs: number;
  /** Measured windows per (case, connections, target); medians are reported (BENCH_REPS, --reps). */
  reps: number;
  /** Concurrency levels: HTTP connections, or gRPC calls in flight for `direct` (--connections=32,256). */
  connections: number[];
  /** Case numbers to run: 1-4 and 6 (a 1 KiB POST), 7 and 8 (WebSocket), 9 (HTTP/1.1 bidi) (--cases=1,2); case 5, route matching, runs unless --no-routes. */
  cases: number[];
  targets: TargetName[];
  /** Route bench time per table size, ms (--route-ms). */
  routeMs: number;
  routes: boolean;
  /** When set, gateway processes run with --cpu-prof and write their profiles here (--cpu-prof=DIR). */
  cpuProfDir: string | undefined;
  /** Extra node flags for the gateway targets only, e.g. V8 heap sizes (--gateway-node-args="--max-semi-space-size=4"). */
  gatewayNodeArgs: string[];
  /**
   * The Go peers' folder (--peers=DIR, BENCH_PEERS): DIR/bin/echo-backend and
   * DIR/bin/grpc-gateway-peer, DIR/proto/bench/v1/bench.proto, as build-debian.sh lays them out.
   * With it the backend is the Go one (bench.v1) and `grpc-gateway` can be measured.
   */
  peersDir: string | undefined;
  /**
   * Another checkout of the project, built (`npm run build`), to measure against in the same run
   * (--baseline=DIR, BENCH_BASELINE): target `gateway-h2-base` runs DIR/dist/bench/gateway-server.js.
   */
  baselineDir: string | undefined;
  /**
   * The HTTP load generator (--load=wrk|autocannon, BENCH_LOAD): wrk when it is on PATH (or
   * --wrk=PATH is given), autocannon otherwise. autocannon shares this Node process and the
   * cores, so on 2 cores it caps every target near the same req/s; wrk costs a fraction of that.
   */
  load: 'wrk' | 'autocannon';
  /** wrk's binary when `load` is wrk. */
  wrkPath: string | undefined;
  /**
   * Every HTTP request carries `Connection: close`, so each is a new connection
   * (--connection-close, BENCH_CONNECTION_CLOSE=1; wrk only): what accepting and handing out
   * connections costs, e.g. `gateway-h2-w2` (SO_REUSEPORT) against `gateway-h2-w2-cluster`.
   */
  connectionClose: boolean;
  /** Where the JSON results go (--out). */
  out: string;
  /**
   * Also run the slow-reader scenario (--slow-reader) after the cases: 100 MB read at 1 MB/s over
   * HTTP and WebSocket, each transport, ~7 min (bench/slow-reader.ts; standalone there with its own flags).
   */
  slowReader: boolean;
  quick: boolean;
}

const REPO_ROOT = path.resolve(__dirname, '..', '..');

export const USAGE = `usage: npm run bench -- [--quick] [--duration=S] [--warmup=S] [--reps=N]
  [--connections=32,256] [--cases=1,2,3,4,6,7,8,9] [--targets=${TARGETS.join(',')}] (also ${EXTRA_TARGETS.join(',')})
  [--route-ms=MS] [--no-routes] [--cpu-prof=DIR] [--gateway-node-args="FLAGS"] [--out=FILE]
  [--load=wrk|autocannon] [--wrk=PATH]  HTTP load generator (default: wrk when on PATH)
  [--slow-reader]  also the slow-reader scenario (~7 min; --cases= --no-routes for it alone)
  [--connection-close]  a new connection per request (wrk only)
  [--peers=DIR]  Go backend + grpc-gateway peer (targets ${PEER_TARGETS.join(',')}, cases 1,2,3,6)
  [--baseline=DIR]  A/B: gateway-h2 against gateway-h2-base, built in the checkout DIR`;

/** Parses argv and the BENCH_* environment into options. */
export function benchOptions(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): BenchOptions {
  const flags = new Map<string, string>();
  for (const arg of argv) {
    if (!arg.startsWith('--')) throw new Error(`unexpected argument "${arg}"\n${USAGE}`);
    const eq = arg.indexOf('=');
    flags.set(eq === -1 ? arg.slice(2) : arg.slice(2, eq), eq === -1 ? 'true' : arg.slice(eq + 1));
  }
  const known = new Set([
    'quick',
    'duration',
    'warmup',
    'reps',
    'connections',
    'cases',
    'targets',
    'route-ms',
    'no-routes',
    'cpu-prof',
    'gateway-node-args',
    'out',
    'peers',
    'baseline',
    'load',
    'wrk',
    'slow-reader',
    'connection-close',
    'help',
  ]);
  for (const k of flags.keys()) if (!known.has(k)) throw new Error(`unknown flag --${k}\n${USAGE}`);
  if (flags.has('help')) throw new Error(USAGE);

  const quick = flags.has('quick') || env.BENCH_QUICK === '1';
  const num = (flag: string, envName: string, dflt: number): number => {
    const raw = flags.get(flag) ?? env[envName];
    if (raw === undefined) return dflt;
    const v = Number(raw);
    if (!Number.isFinite(v) || v <= 0) throw new Error(`--${flag} must be a positive number, got "${raw}"`);
    return v;
  };
  const list = (flag: string, envName: string, dflt: string): string[] =>
    (flags.get(flag) ?? env[envName] ?? dflt)
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);

  const peersRaw = flags.get('peers') ?? env.BENCH_PEERS;
  const peersDir = peersRaw ? path.resolve(peersRaw) : undefined;
  const baselineRaw = flags.get('baseline') ?? env.BENCH_BASELINE;
  const baselineDir = baselineRaw ? path.resolve(baselineRaw) : undefined;
  const defaultTargets = baselineDir ? ['gateway-h2', 'gateway-h2-base'] : peersDir ? PEER_TARGETS : TARGETS;
  const targets = list('targets', 'BENCH_TARGETS', defaultTargets.join(','));
  const targetNames: readonly string[] = [...TARGETS, ...EXTRA_TARGETS];
  for (const t of targets) if (!targetNames.includes(t)) throw new Error(`unknown target "${t}" (${targetNames.join(', ')})`);
  if (peersDir) {
    for (const t of targets) if (NODE_ONLY_TARGETS.includes(t)) throw new Error(`target "${t}" needs our own backend: not with --peers`);
  } else if (targets.includes('grpc-gateway')) {
    throw new Error('target "grpc-gateway" needs --peers=DIR (or BENCH_PEERS)');
  }
  if (targets.includes('gateway-h2-base') && !baselineDir) throw new Error('target "gateway-h2-base" needs --baseline=DIR (or BENCH_BASELINE)');
  const cases = list('cases', 'BENCH_CASES', peersDir ? '1,2,3,6' : '1,2,3,4,6,7,8,9').map(Number);
  const caseNumbers = peersDir ? [1, 2, 3, 6] : [1, 2, 3, 4, 6, 7, 8, 9];
  for (const c of cases) if (!caseNumbers.includes(c)) throw new Error(`unknown case "${c}" (${caseNumbers.join(', ')})`);

  const loadRaw = flags.get('load') ?? env.BENCH_LOAD;
  if (loadRaw !== undefined && loadRaw !== 'wrk' && loadRaw !== 'autocannon') throw new Error(`--load must be wrk or autocannon, got "${loadRaw}"`);
  const wrkPath = loadRaw === 'autocannon' ? undefined : findWrk(flags.get('wrk') ?? env.BENCH_WRK);
  if (loadRaw === 'wrk' && !wrkPath) throw new Error('--load=wrk: wrk not found (apt-get install wrk, or --wrk=PATH)');
  const connectionClose = flags.has('connection-close') || env.BENCH_CONNECTION_CLOSE === '1';
  if (connectionClose && !wrkPath) throw new Error('--connection-close needs wrk (apt-get install wrk, or --wrk=PATH)');

  return {
    load: wrkPath ? 'wrk' : 'autocannon',
    wrkPath,
    warmupMs: num('warmup', 'BENCH_WARMUP', quick ? 0.5 : 2) * 1000,
    durationMs: num('duration', 'BENCH_DURATION', quick ? 1 : 5) * 1000,
    reps: Math.round(num('reps', 'BENCH_REPS', quick ? 1 : 2)),
    connections: list('connections', 'BENCH_CONNECTIONS', '32,256').map((s) => {
      const n = Number(s);
      if (!Number.isInteger(n) || n <= 0) throw new Error(`bad connection count "${s}"`);
      return n;
    }),
    cases,
    targets: targets as TargetName[],
    routeMs: num('route-ms', 'BENCH_ROUTE_MS', quick ? 200 : 1000),
    routes: !flags.has('no-routes'),
    cpuProfDir: flags.get('cpu-prof') ?? env.BENCH_CPU_PROF,
    gatewayNodeArgs: (flags.get('gateway-node-args') ?? env.BENCH_GATEWAY_NODE_ARGS ?? '').split(/\s+/).filter(Boolean),
    peersDir,
    baselineDir,
    connectionClose,
    out: path.resolve(flags.get('out') ?? env.BENCH_OUT ?? path.join(REPO_ROOT, 'bench', 'results', 'latest.json')),
    quick,
    slowReader: flags.has('slow-reader'),
  };
}
