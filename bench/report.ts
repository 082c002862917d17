/**
 * Turns measured windows into the results: medians per (case, connections, target), ratios
 * to the references, the h2 vs grpc-js comparison, the pass/fail of the project's targets,
 * and the printed table.
 */
import type { RouteBenchResult } from './route-match-bench';
import type { TargetName } from './bench-options';

/** One measured window of one target. */
export interface WindowRecord {
  caseN: number;
  caseId: string;
  connections: number;
  target: TargetName;
  rep: number;
  requests: number;
  errors: number;
  durationS: number;
  latencyMs: { p50: number; p99: number; max: number; mean: number };
  messagesPerCall: number;
  /** CPU of the process in the middle (gateway or proxy; with workers, primary + workers) over the window, µs; undefined for direct. */
  serverCpuUs?: number;
  /** Peak sampled RSS of the process in the middle (with workers, the sum of each one's peak), bytes. */
  serverPeakRssBytes?: number;
  /** Its V8 heap (total) and external memory at the window's end, bytes. */
  serverHeapTotalBytes?: number;
  /** What its peak RSS sample was made of (process-stats.ts WindowStats peak*), bytes. */
  serverPeak?: { fileBytes: number; heapTotalBytes: number; heapUsedBytes: number; arrayBuffersBytes: number };
  serverExternalBytes?: number;
  backendCpuUs: number;
  /** CPU of the load generator over the window, µs (autocannon, or the direct client). */
  clientCpuUs: number;
}

/** Medians over the reps of one (case, connections, target). */
export interface ResultRow {
  caseN: number;
  caseId: string;
  connections: number;
  target: TargetName;
  reps: number;
  requestsPerSec: number;
  /** Streamed messages per second (case 4), else equal to requestsPerSec. */
  messagesPerSec: number;
  latencyMs: { p50: number; p99: number; max: number };
  /** Failed requests (socket errors, timeouts, non-2xx), summed over reps. */
  errors: number;
  /** CPU of the gateway/proxy process per request, µs (median); undefined for direct. */
  cpuUsPerRequest?: number;
  /** Same, per streamed message (case 4). */
  cpuUsPerMessage?: number;
  /** Backend CPU per request, µs: equal across targets when the comparison is fair. */
  backendCpuUsPerRequest: number;
  /** The load generator's CPU per request, µs: it shares the cores with the servers. */
  clientCpuUsPerRequest: number;
  /** The proxy's CPU per request over this target's: > 1 means cheaper than the proxy. */
  cpuVsProxy?: number;
  /** Highest peak RSS of the gateway/proxy process over the reps, MB. */
  peakRssMb?: number;
  /** requestsPerSec over the proxy's and the direct client's at the same case and concurrency. */
  vsProxy?: number;
  vsDirect?: number;
  /** requestsPerSec over Go grpc-gateway's (with --peers), same case and concurrency. */
  vsGrpcGateway?: number;
}

export interface TargetCheck {
  what: string;
  target: string;
  actual: string;
  pass: boolean;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const r1 = (x: number): number => Math.round(x * 10) / 10;
const r2 = (x: number): number => Math.round(x * 100) / 100;

/** Medians per (case, connections, target), in run order, with ratios to the references. */
export function aggregate(windows: WindowRecord[]): ResultRow[] {
  const groups = new Map<string, WindowRecord[]>();
  for (const w of windows) {
    const key = `${w.caseN}|${w.connections}|${w.target}`;
    groups.set(key, [...(groups.get(key) ?? []), w]);
  }
  const rows: ResultRow[] = [];
  for (const ws of groups.values()) {
    const w0 = ws[0];
    const rps = median(ws.map((w) => w.requests / w.durationS));
    const hasCpu = ws.every((w) => w.serverCpuUs !== undefined);
    const cpuPerReq = hasCpu ? median(ws.map((w) => w.serverCpuUs! / Math.max(1, w.requests))) : undefined;
    rows.push({
      caseN: w0.caseN,
      caseId: w0.caseId,
      connections: w0.connections,
      target: w0.target,
      reps: ws.length,
      requestsPerSec: Math.round(rps),
      messagesPerSec: Math.round(rps * w0.messagesPerCall),
      latencyMs: {
        p50: r2(median(ws.map((w) => w.latencyMs.p50))),
        p99: r2(median(ws.map((w) => w.latencyMs.p99))),
        max: r2(median(ws.map((w) => w.latencyMs.max))),
      },
      errors: ws.reduce((a, w) => a + w.errors, 0),
      cpuUsPerRequest: cpuPerReq === undefined ? undefined : r1(cpuPerReq),
      cpuUsPerMessage: cpuPerReq === undefined || w0.messagesPerCall === 1 ? undefined : r2(cpuPerReq / w0.messagesPerCall),
      backendCpuUsPerRequest: r1(median(ws.map((w) => w.backendCpuUs / Math.max(1, w.requests)))),
      clientCpuUsPerRequest: r1(median(ws.map((w) => w.clientCpuUs / Math.max(1, w.requests)))),
      peakRssMb: hasCpu ? r1(Math.max(...ws.map((w) => w.serverPeakRssBytes ?? 0)) / 2 ** 20) : undefined,
    });
  }
  for (const row of rows) {
    const ref = (t: TargetName): ResultRow | undefined => rows.find((r) => r.caseN === row.caseN && r.connections === row.connections && r.target === t);
    const proxy = ref('proxy');
    const direct = ref('direct');
    const goGateway = ref('grpc-gateway');
    if (goGateway && goGateway.requestsPerSec > 0) row.vsGrpcGateway = r2(row.requestsPerSec / goGateway.requestsPerSec);
    if (proxy && proxy.requestsPerSec > 0) row.vsProxy = r2(row.requestsPerSec / proxy.requestsPerSec);
    if (direct && direct.requestsPerSec > 0) row.vsDirect = r2(row.requestsPerSec / direct.requestsPerSec);
    if (proxy?.cpuUsPerRequest && row.cpuUsPerRequest) row.cpuVsProxy = r2(proxy.cpuUsPerRequest / row.cpuUsPerRequest);
  }
  return rows;
}

/** The project's performance targets, checked against the results (gateway rows only). */
export function checkTargets(rows: ResultRow[], routes: RouteBenchResult | undefined): TargetCheck[] {
  const checks: TargetCheck[] = [];
  const proxyOf = (r: ResultRow): ResultRow | undefined => rows.find((p) => p.target === 'proxy' && p.caseN === r.caseN && p.connections === r.connections);
  for (const r of rows) {
    if (!r.target.startsWith('gateway')) continue;
    const proxy = proxyOf(r);
    const where = `case ${r.caseN} @${r.connections} ${r.target}`;
    if ((r.caseN === 1 || r.caseN === 2) && proxy) {
      checks.push({ what: `${where}: req/s vs proxy`, target: '>= 2.0x', actual: `${r.vsProxy}x (CPU eff ${r.cpuVsProxy}x)`, pass: (r.vsProxy ?? 0) >= 2 });
      checks.push({
        what: `${where}: p99 vs proxy`,
        target: `<= ${proxy.latencyMs.p99} ms`,
        actual: `${r.latencyMs.p99} ms`,
        pass: r.latencyMs.p99 <= proxy.latencyMs.p99,
      });
    }
    if (r.caseN === 1 || r.caseN === 2) {
      checks.push({ what: `${where}: CPU per request`, target: '< 80 us', actual: `${r.cpuUsPerRequest} us`, pass: (r.cpuUsPerRequest ?? Infinity) < 80 });
    }
    const goGateway = rows.find((g) => g.target === 'grpc-gateway' && g.caseN === r.caseN && g.connections === r.connections);
    if (goGateway && (r.caseN === 1 || r.caseN === 2)) {
      checks.push({ what: `${where}: req/s vs grpc-gateway`, target: '>= 1.0x', actual: `${r.vsGrpcGateway}x`, pass: (r.vsGrpcGateway ?? 0) >= 1 });
      checks.push({
        what: `${where}: p99 vs grpc-gateway`,
        target: `<= ${goGateway.latencyMs.p99} ms`,
        actual: `${r.latencyMs.p99} ms`,
        pass: r.latencyMs.p99 <= goGateway.latencyMs.p99,
      });
    }
    if (goGateway) {
      // The Go backend's CPU per call behind us against behind grpc-go: what our client costs the service.
      checks.push({
        what: `${where}: backend CPU per request vs behind grpc-gateway`,
        target: `<= ${goGateway.backendCpuUsPerRequest} us`,
        actual: `${r.backendCpuUsPerRequest} us`,
        pass: r.backendCpuUsPerRequest <= goGateway.backendCpuUsPerRequest,
      });
    }
    if (r.caseN === 3 && proxy) {
      checks.push({ what: `${where}: req/s vs proxy`, target: '>= 1.5x', actual: `${r.vsProxy}x (CPU eff ${r.cpuVsProxy}x)`, pass: (r.vsProxy ?? 0) >= 1.5 });
    }
  }
  // The memory target holds for the gateway as deployed: with workers, primary and workers together.
  for (const t of ['gateway-h2', 'gateway-grpc-js', 'gateway-h2-w2', 'gateway-h2-w2-cluster']) {
    const at256 = rows.filter((r) => r.target === t && r.connections === 256 && r.peakRssMb !== undefined);
    if (at256.length === 0) continue;
    const peak = Math.max(...at256.map((r) => r.peakRssMb!));
    checks.push({ what: `${t}: peak RSS at 256 connections`, target: '< 120 MB', actual: `${peak} MB`, pass: peak < 120 });
  }
  if (routes) {
    checks.push({
      what: 'route matching at 10k routes',
      target: '>= 1,000,000/s',
      actual: `${routes.routes10k.lookupsPerSec.toLocaleString('en-US')}/s`,
      pass: routes.routes10k.lookupsPerSec >= 1e6,
    });
    checks.push({ what: 'route matching 10k vs 10 routes', target: '<= 2x slower', actual: `${routes.slowdown}x`, pass: routes.slowdown <= 2 });
  }
  return checks;
}

/** h2 vs grpc-js through the gateway, per case and concurrency. */
export function transportComparison(
  rows: ResultRow[],
): Array<{ caseN: number; connections: number; rpsRatio: number; cpuRatio?: number; p99H2: number; p99GrpcJs: number }> {
  const out = [];
  for (const h2 of rows.filter((r) => r.target === 'gateway-h2')) {
    const gj = rows.find((r) => r.target === 'gateway-grpc-js' && r.caseN === h2.caseN && r.connections === h2.connections);
    if (!gj || gj.requestsPerSec === 0) continue;
    out.push({
      caseN: h2.caseN,
      connections: h2.connections,
      rpsRatio: r2(h2.requestsPerSec / gj.requestsPerSec),
      cpuRatio: h2.cpuUsPerRequest && gj.cpuUsPerRequest ? r2(h2.cpuUsPerRequest / gj.cpuUsPerRequest) : undefined,
      p99H2: h2.latencyMs.p99,
      p99GrpcJs: gj.latencyMs.p99,
    });
  }
  return out;
}

/** A plain-text table: the first `leftCols` columns left-aligned, the rest right-aligned. */
export function table(header: string[], rows: string[][], leftCols = 1): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i < leftCols ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** A number with thousands separators and `digits` decimals; '-' when undefined. */
export const fmt = (x: number | undefined, digits = 0): string =>
  x === undefined ? '-' : x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** The main results table. */
export function resultsTable(rows: ResultRow[]): string {
  return table(
    [
      'case',
      'conns',
      'target',
      'req/s',
      'msg/s',
      'p50 ms',
      'p99 ms',
      'max ms',
      'errors',
      'CPU us/req',
      'CPU us/msg',
      'backend us/req',
      'client us/req',
      'peak RSS MB',
      'x proxy',
      'x direct',
      'CPU eff x proxy',
      'x grpc-gw',
    ],
    rows.map((r) => [
      String(r.caseN),
      String(r.connections),
      r.target,
      fmt(r.requestsPerSec),
      r.caseId === 'stream-1000' || r.caseId.startsWith('ws-') || r.caseId === 'http-bidi-echo' ? fmt(r.messagesPerSec) : '',
      fmt(r.latencyMs.p50, 2),
      fmt(r.latencyMs.p99, 2),
      fmt(r.latencyMs.max, 2),
      String(r.errors),
      fmt(r.cpuUsPerRequest, 1),
      fmt(r.cpuUsPerMessage, 2),
      fmt(r.backendCpuUsPerRequest, 1),
      fmt(r.clientCpuUsPerRequest, 1),
      fmt(r.peakRssMb, 1),
      r.vsProxy === undefined ? '-' : `${r.vsProxy.toFixed(2)}x`,
      r.vsDirect === undefined ? '-' : `${r.vsDirect.toFixed(2)}x`,
      r.cpuVsProxy === undefined ? '-' : `${r.cpuVsProxy.toFixed(2)}x`,
      r.vsGrpcGateway === undefined ? '-' : `${r.vsGrpcGateway.toFixed(2)}x`,
    ]),
    3,
  );
}

export function checksTable(checks: TargetCheck[]): string {
  return table(
    ['check', 'target', 'actual', ''],
    checks.map((c) => [c.what, c.target, c.actual, c.pass ? 'PASS' : 'FAIL']),
    1,
  );
}

export function transportTable(cmp: ReturnType<typeof transportComparison>): string {
  return table(
    ['case', 'conns', 'h2/grpc-js req/s', 'h2/grpc-js CPU', 'p99 h2 ms', 'p99 grpc-js ms'],
    cmp.map((c) => [
      String(c.caseN),
      String(c.connections),
      `${c.rpsRatio.toFixed(2)}x`,
      c.cpuRatio === undefined ? '-' : `${c.cpuRatio.toFixed(2)}x`,
      fmt(c.p99H2, 2),
      fmt(c.p99GrpcJs, 2),
    ]),
    2,
  );
}

export function routesTable(r: RouteBenchResult): string {
  return table(
    ['routes', 'build ms', 'lookups/s', 'ns/lookup', 'lookups/CPU s', 'CPU ns/lookup'],
    [r.routes10, r.routes10k].map((c) => [
      String(c.routes),
      fmt(c.buildMs, 2),
      fmt(c.lookupsPerSec),
      fmt(c.nsPerLookup, 1),
      fmt(c.lookupsPerCpuSec),
      fmt(c.cpuNsPerLookup, 1),
    ]),
    1,
  );
}

/**
 * Same-run A/B (--baseline): gateway-h2 against gateway-h2-base, paired by rep (the two windows
 * of a rep run back to back), as ratios this/base. On a loaded machine the per-rep ratios of CPU
 * per request are what to read; req/s moves with the neighbours' load.
 */
export function baselineComparison(windows: WindowRecord[]): Array<{
  caseN: number;
  connections: number;
  cpuUsA: number;
  cpuUsB: number;
  cpuRatios: number[];
  cpuRatio: number;
  rpsRatio: number;
  /** Highest peak RSS over the reps, MB. */
  peakRssMbA: number;
  peakRssMbB: number;
}> {
  const out = [];
  const perReq = (w: WindowRecord): number => (w.serverCpuUs ?? 0) / Math.max(1, w.requests);
  const keys = new Set(windows.map((w) => `${w.caseN}|${w.connections}`));
  for (const key of keys) {
    const ws = windows.filter((w) => `${w.caseN}|${w.connections}` === key);
    const pairs: Array<[WindowRecord, WindowRecord]> = [];
    for (const b of ws.filter((w) => w.target === 'gateway-h2')) {
      const a = ws.find((w) => w.target === 'gateway-h2-base' && w.rep === b.rep);
      if (a && a.requests > 0 && b.requests > 0) pairs.push([a, b]);
    }
    if (pairs.length === 0) continue;
    const cpuRatios = pairs.map(([a, b]) => r2(perReq(b) / perReq(a)));
    out.push({
      caseN: ws[0].caseN,
      connections: ws[0].connections,
      cpuUsA: r1(median(pairs.map(([a]) => perReq(a)))),
      cpuUsB: r1(median(pairs.map(([, b]) => perReq(b)))),
      cpuRatios,
      cpuRatio: r2(median(cpuRatios)),
      rpsRatio: r2(median(pairs.map(([a, b]) => b.requests / b.durationS / (a.requests / a.durationS)))),
      peakRssMbA: r1(Math.max(...pairs.map(([a]) => a.serverPeakRssBytes ?? 0)) / 2 ** 20),
      peakRssMbB: r1(Math.max(...pairs.map(([, b]) => b.serverPeakRssBytes ?? 0)) / 2 ** 20),
    });
  }
  return out;
}

export function baselineTable(cmp: ReturnType<typeof baselineComparison>): string {
  return table(
    ['case', 'conns', 'CPU us/req base', 'CPU us/req this', 'this/base CPU (median)', 'per rep', 'this/base req/s', 'peak RSS MB base', 'this'],
    cmp.map((c) => [
      String(c.caseN),
      String(c.connections),
      fmt(c.cpuUsA, 1),
      fmt(c.cpuUsB, 1),
      `${c.cpuRatio.toFixed(2)}x`,
      c.cpuRatios.map((x) => x.toFixed(2)).join(' '),
      `${c.rpsRatio.toFixed(2)}x`,
      fmt(c.peakRssMbA, 1),
      fmt(c.peakRssMbB, 1),
    ]),
    2,
  );
}
