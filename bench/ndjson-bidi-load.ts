/**
 * HTTP/1.1 bidi load (case 9), beside the WebSocket bidi case 8: `connections` node:http
 * connections, each one POST for the window whose chunked NDJSON body is written a line at a
 * time while the NDJSON answer streams back, as grpc-gateway serves bidi. Each socket keeps
 * `inFlight` messages outstanding; every answer line counts as one request (a message round
 * trip) and sends the next line. At the window's end the body ends (half-close), the call
 * ends OK and the response ends.
 */
import * as http from 'node:http';
import type { BenchCase } from './bench-cases';
import type { LoadResult } from './direct-load';
import { loadResult, type Stats } from './ws-load';

/** How an HTTP bidi case drives its connections. */
export interface NdjsonBidiCase {
  /** One request message (an NDJSON line without its newline). */
  readonly message: string;
  /** Messages outstanding per connection. */
  readonly inFlight: number;
}

/** Opens one streamed POST of case `c`: `onLine` per answer line; resolves with the status once the response ends. */
function open(baseUrl: string, c: BenchCase, onLine: (line: string) => void): { req: http.ClientRequest; done: Promise<number> } {
  const req = http.request(baseUrl + c.http.path, {
    method: 'POST',
    agent: false,
    headers: { 'content-type': 'application/x-ndjson', 'transfer-encoding': 'chunked' },
  });
  const done = new Promise<number>((resolve) => {
    req.on('error', () => resolve(0));
    req.on('response', (res) => {
      let partial = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        const lines = (partial + chunk).split('\n');
        partial = lines.pop()!;
        for (const line of lines) onLine(line);
      });
      res.on('error', () => resolve(0));
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
  });
  req.flushHeaders();
  return { req, done };
}

async function worker(baseUrl: string, c: BenchCase, end: number, stats: Stats): Promise<void> {
  const { message, inFlight } = c.httpBidi!;
  const sentAt: number[] = [];
  let ending = false;
  const send = (): void => {
    sentAt.push(performance.now());
    call.req.write(`${message}\n`);
  };
  const call = open(baseUrl, c, (line) => {
    if (!line.startsWith('{"result"')) {
      stats.errors++;
      return;
    }
    const t0 = sentAt.shift();
    if (t0 !== undefined) stats.latencies.push(performance.now() - t0);
    stats.requests++;
    if (performance.now() < end) send();
    else if (!ending && sentAt.length === 0) {
      ending = true;
      call.req.end(); // half-close: the call ends OK
    }
  });
  for (let i = 0; i < inFlight; i++) send();
  const status = await call.done;
  if (status !== 200) stats.errors++;
}

/** Drives `connections` streamed POSTs at `baseUrl` for `durationMs`. */
export async function runNdjsonBidiLoad(baseUrl: string, c: BenchCase, connections: number, durationMs: number): Promise<LoadResult> {
  const stats: Stats = { requests: 0, errors: 0, latencies: [] };
  const start = performance.now();
  await Promise.all(Array.from({ length: connections }, () => worker(baseUrl, c, start + durationMs, stats)));
  return loadResult(stats, start);
}

/**
 * One call of an HTTP bidi case, for the pre-run check: whether the first answer line came
 * back before the request body ended (interleaving), the answer lines and the status.
 */
export async function sampleNdjsonBidi(baseUrl: string, c: BenchCase): Promise<{ lines: unknown[]; status: number; interleaved: boolean }> {
  const lines: unknown[] = [];
  let interleaved = false;
  let ended = false;
  const call = open(baseUrl, c, (line) => {
    lines.push(JSON.parse(line));
    if (!ended) {
      interleaved = true;
      ended = true;
      call.req.end();
    }
  });
  call.req.write(`${c.httpBidi!.message}\n`);
  const status = await call.done;
  return { lines, status, interleaved };
}
