/**
 * The slow-reader bound, bounded in time: the gateway as its own process (so its RSS is its
 * own), the echo backend streaming ~100 MB (100,000 messages of 1 KB), and a node:http
 * client reading the NDJSON stream at 1 MB/s by pausing its response (bench/slow-read-client.ts).
 * For a few seconds, the messages the upstream has sent but the client has not read must stay
 * within limits.streamBufferBytes + the transport's HTTP/2 window + socket buffers (the
 * upstream is paused, not buffered), and the gateway's RSS must not grow past a bound. With
 * backpressure switched off (a streamBufferBytes the stream never fills) both checks fail:
 * the last test shows it. The full 100 s run, on both framings and transports, is the bench's
 * (bench/slow-reader.ts).
 */
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { readHttpSlowly } from '../../bench/slow-read-client';
import { killAll, NodeProcess } from '../../shared-kit/test-support/node-process';
import { compileProject, type CompiledProject } from '../test-support/compiled-project';
import { startEchoBackend, type EchoBackend } from '../test-support/echo-backend';

const MB = 1e6;
/** ~1 KB per message: the backend sends EchoMessage{name: TEXT, small: i}. */
const TEXT = 'x'.repeat(1000);
const MESSAGE_BYTES = 1006;
const STREAM = `/v1/expand?count=100000&text=${TEXT}`;
/**
 * Gateway default limits.streamBufferBytes (256 KiB) + the h2 transport's stream window (4 MiB) + the
 * kernel's socket buffers between gateway and client (loopback autotuning: the send side up to
 * tcp_wmem's 4 MB, the receive side what a 1 MB/s reader lets grow). Measured: 4.6-8.5 MB.
 */
const GAP_BOUND_MB = 14;
/** RSS the gateway may gain while serving the stream, heap churn included (measured: +5-13 MB). */
const RSS_BOUND_MB = 24;
const WINDOW_MS = 4000;

let project: CompiledProject;
let backend: EchoBackend;
beforeAll(async () => {
  [project, backend] = await Promise.all([compileProject(), startEchoBackend(0)]);
}, 120_000);
afterAll(async () => {
  await killAll();
  await backend?.close();
  project?.remove();
});

/** A gateway process in front of the echo backend; resolves with its base URL once it listens. */
async function startGateway(name: string, transport: 'h2' | 'grpc-js', limits: object = {}): Promise<{ proc: NodeProcess; url: string }> {
  const file = path.join(project.dir, `${name}.json`);
  const config = {
    port: 0,
    transport,
    auth: { mode: 'off' },
    rateLimit: { enabled: false },
    upstreams: { 'acme.echo.v1': `127.0.0.1:${backend.port}` },
    limits,
  };
  writeFileSync(file, JSON.stringify(config));
  // The V8 heap sizing `npm run gateway` ships with (package.json), so RSS is measured as it runs.
  const proc = new NodeProcess(path.join(project.dir, 'gateway', 'main.js'), ['--config', file], { NODE_OPTIONS: '--max-semi-space-size=8' });
  return { proc, url: `http://127.0.0.1:${await proc.port()}` };
}

type Figures = { gapMb: number; rssGrowthMb: number; readMb: number };

/**
 * Reads the stream at 1 MB/s for `windowMs` (or until `enough` says so): the largest gap
 * (messages sent, not read, in upstream bytes) and the gateway's RSS growth, in MB.
 */
async function slowRead(gateway: { proc: NodeProcess; url: string }, windowMs: number, enough = (_: Figures): boolean => false): Promise<Figures> {
  // A short stream first, so start-up allocations (codecs, the upstream connection) are not counted.
  const warm = readHttpSlowly(`${gateway.url}/v1/expand?count=100&text=${TEXT}`, Infinity);
  expect((await warm.done).status).toBe(200);
  const rssBefore = gateway.proc.rssBytes();
  let rssPeak = rssBefore;
  let gap = 0;
  const client = readHttpSlowly(gateway.url + STREAM, MB);
  const figures = (): Figures => ({ gapMb: gap / MB, rssGrowthMb: (rssPeak - rssBefore) / MB, readMb: client.bytes / MB });
  const until = Date.now() + windowMs;
  while (Date.now() < until && !enough(figures())) {
    await new Promise((r) => setTimeout(r, 100));
    gap = Math.max(gap, (backend.expandSent - client.messages) * MESSAGE_BYTES);
    rssPeak = Math.max(rssPeak, gateway.proc.rssBytes());
  }
  client.close();
  await client.done.catch(() => undefined);
  return figures();
}

describe.each(['h2', 'grpc-js'] as const)('slow reader over HTTP/1.1 NDJSON, %s transport', (transport) => {
  it('the upstream is paused, not buffered: sent-not-read stays within the buffer bound, RSS flat', async () => {
    const gateway = await startGateway(`slow-${transport}`, transport);
    const { gapMb, rssGrowthMb, readMb } = await slowRead(gateway, WINDOW_MS);
    console.log(
      `${transport}: read ${readMb.toFixed(1)} MB in ${WINDOW_MS / 1000} s, peak gap ${gapMb.toFixed(2)} MB, gateway RSS +${rssGrowthMb.toFixed(1)} MB`,
    );
    expect(readMb).toBeGreaterThan(1); // the client did read, at its pace
    expect(gapMb).toBeLessThan(GAP_BOUND_MB);
    expect(rssGrowthMb).toBeLessThan(RSS_BOUND_MB);
    await gateway.proc.stop();
  }, 60_000);
});

it('with backpressure off (streamBufferBytes never reached) the same checks fail: the gateway buffers the stream', async () => {
  const gateway = await startGateway('slow-off', 'h2', { streamBufferBytes: Number.MAX_SAFE_INTEGER });
  // Until both bounds are passed (4-16 s measured on the loaded 2-core machine; once more than
  // 30 s at load 15), at most 60 s.
  const over = (f: Figures): boolean => f.gapMb > GAP_BOUND_MB && f.rssGrowthMb > RSS_BOUND_MB;
  const { gapMb, rssGrowthMb } = await slowRead(gateway, 60_000, over);
  console.log(`backpressure off: peak gap ${gapMb.toFixed(2)} MB, gateway RSS +${rssGrowthMb.toFixed(1)} MB`);
  expect(gapMb).toBeGreaterThan(GAP_BOUND_MB);
  expect(rssGrowthMb).toBeGreaterThan(RSS_BOUND_MB);
  await gateway.proc.stop();
}, 90_000);
