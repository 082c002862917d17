/**
 * Route lookup benchmark: start-up cost (parse + build) and lookups/s of the route trie with
 * 10 and with 10,000 routes. The trie's lookup cost should follow the path's length, not the
 * number of routes: the target is >= 1,000,000 lookups/s at 10k routes, within 2x of 10.
 *
 *   npx tsc -p tsconfig.build.json && node dist/bench/route-match-bench.js
 *
 * A larger suite imports runRouteBench(). Imports are by file (the trie's builder is not part
 * of gateway/transcode's index).
 */
import { parsePathTemplate } from '../gateway/transcode/path-template';
import { type RouteTrie, RouteTrieBuilder } from '../gateway/transcode/route-trie';

/** Figures for one table size. */
export interface RouteBenchCase {
  routes: number;
  /** Parsing every template and building the frozen trie, in milliseconds. */
  buildMs: number;
  lookupsPerSec: number;
  nsPerLookup: number;
  /**
   * The same per CPU second of this thread (process.threadCpuUsage): on a loaded machine the
   * wall-clock figures fall with the time the thread waits for a core, these barely move.
   */
  lookupsPerCpuSec: number;
  cpuNsPerLookup: number;
}

export interface RouteBenchResult {
  routes10: RouteBenchCase;
  routes10k: RouteBenchCase;
  buildMs: { routes10: number; routes10k: number };
  /** nsPerLookup at 10k routes over nsPerLookup at 10 routes (target: <= 2). */
  slowdown: number;
}

/** Options, mostly for quick runs from tests or a larger suite. */
export interface RouteBenchOptions {
  /** Time spent measuring each case, in ms (after warm-up). Default 1000. */
  measureMs?: number;
}

const ROUTES_PER_SERVICE = 5;
const PATH_COUNT = 4096;

/** Templates of one service: the realistic mix of literal, `*`, multi-segment, verb and `**` routes. */
function serviceRoutes(i: number): Array<[method: string, template: string]> {
  return [
    ['GET', `/v1/svc${i}/things/{id}`],
    ['POST', `/v1/svc${i}/things/{id}:verb`],
    ['GET', `/v1/{name=svc${i}/*/items/*}`],
    ['POST', `/v1/svc${i}/things`],
    ['GET', `/v1/svc${i}/files/{path=**}`],
  ];
}

/** Request paths across all services: mostly hits, some 405s and 404s, a few percent-encoded. */
function requests(services: number): Array<[method: string, path: string]> {
  let seed = 42;
  const next = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const out: Array<[string, string]> = [];
  for (let k = 0; k < PATH_COUNT; k++) {
    const i = next(services);
    const id = `item-${next(1_000_000)}`;
    switch (next(10)) {
      case 0:
      case 1:
      case 2:
        out.push(['GET', `/v1/svc${i}/things/${id}`]);
        break;
      case 3:
        out.push(['POST', `/v1/svc${i}/things/${id}:verb`]);
        break;
      case 4:
      case 5:
        out.push(['GET', `/v1/svc${i}/shelf-${next(100)}/items/${id}`]);
        break;
      case 6:
        out.push(['POST', `/v1/svc${i}/things`]);
        break;
      case 7:
        out.push(['GET', `/v1/svc${i}/files/dir%20${next(10)}/sub/${id}.txt`]);
        break;
      case 8:
        out.push(['DELETE', `/v1/svc${i}/things/${id}`]); // 405
        break;
      default:
        out.push(['GET', `/v2/svc${i}/nothing/${id}`]); // 404
    }
  }
  return out;
}

function build(services: number): { trie: RouteTrie<string>; buildMs: number } {
  const start = process.hrtime.bigint();
  const builder = new RouteTrieBuilder<string>();
  for (let i = 0; i < services; i++) {
    for (const [method, template] of serviceRoutes(i)) builder.add(method, parsePathTemplate(template), template);
  }
  const trie = builder.build();
  return { trie, buildMs: Number(process.hrtime.bigint() - start) / 1e6 };
}

/** Keeps results alive so the JIT cannot drop the lookups. */
let sink = 0;

function lookups(trie: RouteTrie<string>, reqs: Array<[string, string]>, rounds: number): void {
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < reqs.length; k++) {
      const [method, path] = reqs[k];
      const result = trie.match(method, path);
      sink += result.kind === 'match' ? result.bindings.length + 1 : result.kind.length;
    }
  }
}

function measure(routes: number, measureMs: number): RouteBenchCase {
  const services = Math.max(1, Math.round(routes / ROUTES_PER_SERVICE));
  const { trie, buildMs } = build(services);
  const reqs = requests(services);
  lookups(trie, reqs, 50); // warm-up: let the JIT settle
  let count = 0;
  let elapsedNs = 0;
  const cpuStart = process.threadCpuUsage();
  const start = process.hrtime.bigint();
  while (elapsedNs < measureMs * 1e6) {
    lookups(trie, reqs, 10);
    count += reqs.length * 10;
    elapsedNs = Number(process.hrtime.bigint() - start);
  }
  const cpu = process.threadCpuUsage(cpuStart);
  const cpuNs = Math.max(1, (cpu.user + cpu.system) * 1000);
  return {
    routes: services * ROUTES_PER_SERVICE,
    buildMs: round(buildMs, 2),
    lookupsPerSec: Math.round((count * 1e9) / elapsedNs),
    nsPerLookup: round(elapsedNs / count, 1),
    lookupsPerCpuSec: Math.round((count * 1e9) / cpuNs),
    cpuNsPerLookup: round(cpuNs / count, 1),
  };
}

const round = (x: number, digits: number): number => Number(x.toFixed(digits));

/** Runs both cases and returns the figures; prints nothing. */
export function runRouteBench(options: RouteBenchOptions = {}): RouteBenchResult {
  const measureMs = options.measureMs ?? 1000;
  const routes10 = measure(10, measureMs);
  const routes10k = measure(10_000, measureMs);
  return {
    routes10,
    routes10k,
    buildMs: { routes10: routes10.buildMs, routes10k: routes10k.buildMs },
    slowdown: round(routes10k.nsPerLookup / routes10.nsPerLookup, 2),
  };
}

function printTable(result: RouteBenchResult): void {
  const rows = [result.routes10, result.routes10k];
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(8) : c.padStart(14))).join(' ');
  console.log(line(['routes', 'build ms', 'lookups/s', 'ns/lookup', 'lookups/CPU s', 'CPU ns/lookup']));
  for (const r of rows) {
    console.log(
      line([
        String(r.routes),
        r.buildMs.toFixed(2),
        r.lookupsPerSec.toLocaleString('en-US'),
        r.nsPerLookup.toFixed(1),
        r.lookupsPerCpuSec.toLocaleString('en-US'),
        r.cpuNsPerLookup.toFixed(1),
      ]),
    );
  }
  console.log(`10k/10 cost ratio: ${result.slowdown}x (target <= 2x); sink ${sink % 10}`);
}

if (require.main === module) printTable(runRouteBench());
