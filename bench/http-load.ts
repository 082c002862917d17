/**
 * HTTP load with autocannon's programmatic API, and a one-shot response check so every
 * HTTP target is known to answer each case identically before it is measured.
 */
import { isDeepStrictEqual } from 'node:util';
import type { BenchCase } from './bench-cases';
import type { LoadResult } from './direct-load';

interface AutocannonResult {
  requests: { total: number };
  latency: { p50: number; p99: number; max: number; mean: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  duration: number;
}
type Autocannon = (opts: Record<string, unknown>, cb: (err: Error | null, result: AutocannonResult) => void) => unknown;
// autocannon ships no types and @types/autocannon is not a dependency.
const autocannon = require('autocannon') as Autocannon;

/** Drives `connections` HTTP/1.1 keep-alive connections at `baseUrl` for `durationMs`. */
export function runHttpLoad(baseUrl: string, c: BenchCase, connections: number, durationMs: number): Promise<LoadResult & { non2xx: number }> {
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: baseUrl + c.http.path,
        method: c.http.method,
        body: c.http.body,
        headers: c.http.headers,
        connections,
        pipelining: 1,
        duration: durationMs / 1000,
        timeout: 10,
      },
      (err, r) => {
        if (err) return reject(err);
        resolve({
          requests: r.requests.total,
          errors: r.errors + r.non2xx,
          non2xx: r.non2xx,
          durationS: r.duration,
          latencyMs: { p50: r.latency.p50, p99: r.latency.p99, max: r.latency.max, mean: r.latency.mean },
        });
      },
    );
  });
}

/** Fetches one response and returns it in a comparable form (parsed JSON, or parsed NDJSON lines). */
export async function sampleResponse(baseUrl: string, c: BenchCase): Promise<{ status: number; body: unknown }> {
  const res = await fetch(baseUrl + c.http.path, { method: c.http.method, body: c.http.body, headers: c.http.headers });
  const text = await res.text();
  const body = c.grpc?.streaming
    ? text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as unknown)
    : (JSON.parse(text) as unknown);
  return { status: res.status, body };
}

/**
 * JSON with every key in lowerCamelCase: Go grpc-gateway v1 writes proto field names
 * (`page_size`), the proto3 JSON mapping and our gateway write `pageSize`; same data.
 */
function camelKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(camelKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase()), camelKeys(v)]));
}

/** Compares one response of each target to the first's (keys in either JSON naming); returns the problems found. */
export async function checkResponses(targets: Array<[name: string, baseUrl: string]>, c: BenchCase): Promise<string[]> {
  const problems: string[] = [];
  let reference: { name: string; body: unknown } | undefined;
  for (const [name, url] of targets) {
    let sample;
    try {
      sample = await sampleResponse(url, c);
    } catch (err) {
      problems.push(`case ${c.n} ${name}: ${(err as Error).message}`);
      continue;
    }
    if (sample.status !== 200) problems.push(`case ${c.n} ${name}: HTTP ${sample.status} ${JSON.stringify(sample.body).slice(0, 200)}`);
    else if (c.grpc?.streaming && (sample.body as unknown[]).length !== c.messagesPerCall) {
      problems.push(`case ${c.n} ${name}: ${(sample.body as unknown[]).length} NDJSON lines, expected ${c.messagesPerCall}`);
    } else if (!reference) reference = { name, body: camelKeys(sample.body) };
    else if (!isDeepStrictEqual(reference.body, camelKeys(sample.body))) {
      problems.push(`case ${c.n}: ${name} answers differently from ${reference.name}`);
    }
  }
  return problems;
}
