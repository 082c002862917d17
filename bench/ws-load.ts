/**
 * WebSocket load with the `ws` client, in the bench process as autocannon is: `connections`
 * sockets to a gateway target for a window.
 * - `server-stream`: each socket is one call (an upgrade to the case's path); the call counts
 *   when all its `messagesPerCall` result frames and a 1000 close arrived, then a new socket
 *   opens (as a keep-alive HTTP client sends its next request).
 * - `bidi`: each socket stays open for the window with `inFlight` messages outstanding; every
 *   echoed frame counts as one request (a message round trip) and sends the next message.
 */
import WebSocket from 'ws';
import type { BenchCase } from './bench-cases';
import type { LoadResult } from './direct-load';

/** How a WebSocket case drives its sockets. */
export interface WsCase {
  readonly mode: 'server-stream' | 'bidi';
  /** Bidi: the text frame sent per message. */
  readonly message?: string;
  /** Bidi: messages outstanding per socket. */
  readonly inFlight?: number;
}

/** Drives `connections` WebSocket connections at `baseUrl` (http://…) for `durationMs`. */
export async function runWsLoad(baseUrl: string, c: BenchCase, connections: number, durationMs: number): Promise<LoadResult> {
  const url = baseUrl.replace(/^http/, 'ws') + c.http.path;
  const stats = { requests: 0, errors: 0, latencies: [] as number[] };
  const start = performance.now();
  const end = start + durationMs;
  const worker = c.ws!.mode === 'bidi' ? bidiWorker : streamWorker;
  await Promise.all(Array.from({ length: connections }, () => worker(url, c, end, stats)));
  return loadResult(stats, start);
}

/** Counts of a streaming load: round trips (or calls), errors, and each one's latency in ms. */
export type Stats = { requests: number; errors: number; latencies: number[] };

/** A streaming load's result: its counts and latency percentiles over the window that began at `start`. */
export function loadResult(stats: Stats, start: number): LoadResult {
  const durationS = (performance.now() - start) / 1000;
  const sorted = stats.latencies.sort((a, b) => a - b);
  const at = (q: number): number => (sorted.length ? Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] * 100) / 100 : 0);
  const mean = sorted.length ? sorted.reduce((a, b) => a + b, 0) / sorted.length : 0;
  return {
    requests: stats.requests,
    errors: stats.errors,
    durationS,
    latencyMs: { p50: at(0.5), p99: at(0.99), max: at(1), mean: Math.round(mean * 100) / 100 },
  };
}

async function streamWorker(url: string, c: BenchCase, end: number, stats: Stats): Promise<void> {
  while (performance.now() < end) {
    const t0 = performance.now();
    const ok = await new Promise<boolean>((resolve) => {
      const socket = new WebSocket(url, { perMessageDeflate: false });
      let frames = 0;
      socket.on('message', () => frames++);
      socket.on('error', () => resolve(false));
      socket.on('close', (code) => resolve(code === 1000 && frames === c.messagesPerCall));
    });
    stats.latencies.push(performance.now() - t0);
    if (ok) stats.requests++;
    else stats.errors++;
  }
}

function bidiWorker(url: string, c: BenchCase, end: number, stats: Stats): Promise<void> {
  const { message = '{}', inFlight = 1 } = c.ws!;
  return new Promise((resolve) => {
    const socket = new WebSocket(url, { perMessageDeflate: false });
    const sentAt: number[] = [];
    let ending = false;
    const send = (): void => {
      sentAt.push(performance.now());
      socket.send(message);
    };
    socket.on('open', () => {
      for (let i = 0; i < inFlight; i++) send();
    });
    socket.on('message', () => {
      const t0 = sentAt.shift();
      if (t0 !== undefined) stats.latencies.push(performance.now() - t0);
      stats.requests++;
      if (performance.now() < end) send();
      else if (!ending && sentAt.length === 0) {
        ending = true;
        socket.send(''); // half-close: the call ends OK
      }
    });
    socket.on('error', () => {
      stats.errors++;
    });
    socket.on('close', (code) => {
      if (code !== 1000) stats.errors++;
      resolve();
    });
  });
}

/** One call of a WebSocket case, for the pre-run check: the result frames and the close code. */
export function sampleWs(baseUrl: string, c: BenchCase): Promise<{ frames: unknown[]; close: number }> {
  const url = baseUrl.replace(/^http/, 'ws') + c.http.path;
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url);
    const frames: unknown[] = [];
    socket.on('open', () => {
      if (c.ws!.mode === 'bidi') {
        socket.send(c.ws!.message ?? '{}');
        socket.send('');
      }
    });
    socket.on('message', (data: Buffer) => frames.push(JSON.parse(data.toString('utf8'))));
    socket.on('error', reject);
    socket.on('close', (close) => resolve({ frames, close }));
  });
}
