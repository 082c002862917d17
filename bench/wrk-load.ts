/**
 * HTTP load with wrk, when it is installed (Debian's `wrk` package). autocannon runs in this
 * Node process and costs about as much CPU per request as the gateway it measures, so on 2 cores
 * it, not the target, sets the ceiling (every target lands near the same req/s). wrk, in C,
 * costs a fraction of that: it is what the figures against Go grpc-gateway were taken
 * with (`wrk -t1 -c32`), and the only fair way to compare against a Go server.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BenchCase } from './bench-cases';
import type { LoadResult } from './direct-load';

/** wrk's path when it is on PATH (or given), else undefined. */
export function findWrk(given?: string): string | undefined {
  const candidate = given ?? 'wrk';
  const probe = spawnSync(candidate, ['--version'], { encoding: 'utf8' });
  // wrk prints its version and usage to stdout and exits 1; a missing binary sets `error`.
  return probe.error ? undefined : candidate;
}

const luaString = (s: string): string => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;

/** A wrk script for the case's request that prints one machine-readable line at the end. */
function scriptFor(c: BenchCase, connectionClose: boolean): string {
  const lines = [`wrk.method = ${luaString(c.http.method)}`];
  if (c.http.body !== undefined) lines.push(`wrk.body = ${luaString(c.http.body)}`);
  for (const [k, v] of Object.entries(c.http.headers ?? {})) lines.push(`wrk.headers[${luaString(k)}] = ${luaString(v)}`);
  // wrk opens a new connection once the server closes one (--connection-close).
  if (connectionClose) lines.push('wrk.headers["Connection"] = "close"');
  lines.push(
    'done = function(summary, latency, requests)',
    '  io.write(string.format("WRK %d %d %d %d %d %d %d %f %f %f %f\\n", summary.requests, summary.duration,',
    '    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout, summary.errors.status,',
    '    latency:percentile(50), latency:percentile(99), latency.max, latency.mean))',
    'end',
  );
  return lines.join('\n') + '\n';
}

const scriptDir = mkdtempSync(path.join(os.tmpdir(), 'bench-wrk-'));
const scripts = new Map<string, string>();

function scriptPath(c: BenchCase, connectionClose: boolean): string {
  const name = `case${c.n}${connectionClose ? '-close' : ''}.lua`;
  let file = scripts.get(name);
  if (!file) {
    file = path.join(scriptDir, name);
    writeFileSync(file, scriptFor(c, connectionClose));
    scripts.set(name, file);
  }
  return file;
}

/** `times` output: "0m0.010s 0m0.002s" for the shell, then for its children (wrk). */
function childCpuUs(times: string): number {
  const line = times.trim().split('\n').at(-1) ?? '';
  let us = 0;
  for (const m of line.matchAll(/(\d+)m([\d.]+)s/g)) us += (Number(m[1]) * 60 + Number(m[2])) * 1e6;
  return Math.round(us);
}

/**
 * Drives `connections` HTTP/1.1 keep-alive connections with one wrk thread for `durationMs`
 * (wrk -t1, as the issue measured; wrk takes whole seconds); with `connectionClose`, a new
 * connection per request. Returns the load and wrk's own CPU time (from the shell's
 * `times`), which stands in for autocannon's in the `client us/req` column.
 */
export function runWrkLoad(
  wrk: string,
  baseUrl: string,
  c: BenchCase,
  connections: number,
  durationMs: number,
  connectionClose = false,
): Promise<LoadResult & { clientCpuUs: number }> {
  const args = [
    '-t1',
    `-c${connections}`,
    `-d${Math.max(1, Math.round(durationMs / 1000))}s`,
    '--timeout',
    '10s',
    '-s',
    scriptPath(c, connectionClose),
    baseUrl + c.http.path,
  ];
  const quoted = args.map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', `${wrk} ${quoted}; echo TIMES; times`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', reject);
    child.on('close', () => {
      const m = /^WRK (.+)$/m.exec(out);
      if (!m) return reject(new Error(`wrk gave no result: ${(out + err).slice(0, 500)}`));
      const [requests, durationUs, connect, read, write, timeout, status, p50, p99, max, mean] = m[1]!.split(' ').map(Number) as number[];
      resolve({
        requests: requests!,
        errors: connect! + read! + write! + timeout! + status!,
        durationS: durationUs! / 1e6,
        latencyMs: { p50: p50! / 1000, p99: p99! / 1000, max: max! / 1000, mean: mean! / 1000 },
        clientCpuUs: childCpuUs(out.slice(out.indexOf('TIMES'))),
      });
    });
  });
}
