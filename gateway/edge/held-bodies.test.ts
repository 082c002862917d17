/**
 * Slow clients against a gateway process of its own: held bodies, dribbled headers (slowloris),
 * idle keep-alive sockets and the connection cap. Held bodies (issue 12, item 4: 250 slow clients holding
 * ~4 MiB each took the gateway from 495 MB to 1,089 MB RSS, which stayed after they closed).
 * The gateway runs compiled, with the node flags it is deployed with, in front of an echo
 * backend process; its RSS is read from /proc. Slow clients each send most of a large body and
 * stall, together just past `limits.maxBufferedBodyBytes`; the test asserts that exactly one is
 * refused (503 OVERLOADED), that RSS grows by about what is held and no more, that normal
 * requests keep their latency meanwhile (against a baseline from the same run, generous factor),
 * and that once the clients close, RSS comes back near the baseline within seconds.
 */
import * as net from 'node:net';
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { killAll, NodeProcess } from '../../shared-kit/test-support/node-process';
import { freePort } from '../../shared-kit/free-port';
import { compileProject, type CompiledProject } from '../test-support/compiled-project';

const MiB = 1024 * 1024;
const CAP = 64 * MiB;
const BODY = 4 * MiB;
const HELD = BODY - 256 * 1024;
/** One more holder than fits under the cap: exactly one is refused. */
const HOLDERS = Math.floor(CAP / HELD) + 1;
const ECHO = 'acme.echo.v1.EchoService';
const HEADERS_TIMEOUT_MS = 3000;
const MAX_CONNECTIONS = 100;

let project: CompiledProject;
let gateway: { proc: NodeProcess; port: number };

beforeAll(async () => {
  project = await compileProject(['gateway/test-support/echo-backend-main.ts']);
  const echo = new NodeProcess(path.join(project.dir, 'gateway', 'test-support', 'echo-backend-main.js'), ['--port', '0']);
  const echoPort = Number((await echo.waitFor(/^listening (\d+)$/))[1]);
  const port = await freePort();
  const file = path.join(project.dir, 'held-bodies.json');
  writeFileSync(
    file,
    JSON.stringify({
      port,
      upstreams: { [ECHO]: `127.0.0.1:${echoPort}` },
      auth: { mode: 'off' },
      rateLimit: { enabled: false },
      logLevel: 'warn',
      // Bodies are held until the test lets them go, well inside the request timeout.
      limits: {
        maxBufferedBodyBytes: CAP,
        requestTimeoutMs: 120_000,
        headersTimeoutMs: HEADERS_TIMEOUT_MS,
        keepAliveTimeoutMs: 1000,
        maxConnections: MAX_CONNECTIONS,
      },
    }),
  );
  // As deployed (package.json "gateway", compose.yaml, deploy/k8s).
  const proc = new NodeProcess(path.join(project.dir, 'gateway', 'main.js'), ['--config', file], {
    NODE_OPTIONS: '--max-semi-space-size=8 --max-old-space-size=1024',
    GLIBC_TUNABLES: process.env.HELD_TUNABLES ?? 'glibc.malloc.mmap_threshold=131072',
  });
  const until = Date.now() + 30_000;
  while (
    (await fetch(`http://127.0.0.1:${port}/readyz`).then(
      (r) => r.status,
      () => 0,
    )) !== 200
  ) {
    if (!proc.alive || Date.now() > until) throw new Error(`gateway not ready: ${proc.lines.join('\n')}`);
    await sleep(50);
  }
  gateway = { proc, port };
}, 120_000);

afterAll(async () => {
  await killAll();
  project?.remove();
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mb = (bytes: number): string => `${(bytes / MiB).toFixed(1)} MiB`;

/** `count` sequential normal requests through the gateway; their latencies in ms. */
async function normalLatencies(count: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    const res = await fetch(`http://127.0.0.1:${gateway.port}/v1/echo/${i}`);
    await res.text();
    expect(res.status).toBe(200);
    out.push(performance.now() - t);
  }
  return out;
}

/** A client that sends the head and `held` bytes of a `BODY`-byte body, then stalls; `answer` is what the gateway sent back. */
function holdBody(held: number): Promise<{ socket: net.Socket; written: Promise<void>; answer: Promise<string> }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(gateway.port, '127.0.0.1', () => {
      const head = `POST /v1/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${BODY}\r\n\r\n`;
      const written = new Promise<void>((done) =>
        socket.write(Buffer.concat([Buffer.from(head + '{"message":"'), Buffer.alloc(held - 13, 'x')]), () => done()),
      );
      let out = '';
      // The answer is complete at its Content-Length (the gateway may keep reading and discard the rest).
      const answer = new Promise<string>((done) => {
        socket.on('data', (d) => {
          out += d.toString('latin1');
          const end = out.indexOf('\r\n\r\n');
          const length = /\r\ncontent-length: (\d+)/i.exec(out);
          if (end >= 0 && length && out.length >= end + 4 + Number(length[1])) done(out);
        });
        socket.on('close', () => done(out));
      });
      resolve({ socket, written, answer });
    });
    socket.on('error', (err) => (socket.connecting ? reject(err) : undefined));
  });
}

/** Polls RSS until it has not moved by more than 1 MiB for `quietMs`, or `timeoutMs` pass. */
async function settledRss(timeoutMs: number, quietMs = 600): Promise<number> {
  const until = Date.now() + timeoutMs;
  let last = gateway.proc.rssBytes();
  let since = Date.now();
  while (Date.now() < until) {
    await sleep(100);
    const now = gateway.proc.rssBytes();
    if (Math.abs(now - last) > MiB) {
      last = now;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) return now;
  }
  return gateway.proc.rssBytes();
}

it('held bodies up to the buffered-body cap: one past it refused, normal requests keep their latency, RSS comes back after they close', async () => {
  await normalLatencies(100); // warm-up: JIT, connection pools
  const baselineLatency = median(await normalLatencies(40));
  const baselineRss = await settledRss(5000);

  for (let round = 0; round < 3; round++) {
    const holders = await Promise.all(Array.from({ length: HOLDERS }, () => holdBody(HELD)));
    await Promise.all(holders.map((h) => h.written));
    // Exactly one holder is past the cap: it is answered 503 and its connection closed.
    const refused = await Promise.race(holders.map((h, i) => h.answer.then((raw) => ({ i, raw }))));
    expect(refused.raw).toMatch(/^HTTP\/1.1 503 /);
    expect(refused.raw).toContain('OVERLOADED');
    const heldRss = await settledRss(5000);
    const duringLatency = median(await normalLatencies(40));
    await sleep(200);
    // Nobody else was refused.
    const answered = await Promise.all(holders.map((h) => Promise.race([h.answer.then(() => true), sleep(0).then(() => false)])));
    expect(answered.filter(Boolean)).toHaveLength(1);

    const t = Date.now();
    for (const h of holders) h.socket.destroy();
    // Poll until RSS is back near the baseline, at most 10 s.
    let rss = gateway.proc.rssBytes();
    while (rss > baselineRss + CAP / 4 && Date.now() - t < 10_000) {
      await sleep(250);
      rss = gateway.proc.rssBytes();
    }
    const afterMs = Date.now() - t;
    const afterLatency = median(await normalLatencies(40));
    console.log(
      `round ${round + 1}: ${HOLDERS - 1} x ${mb(HELD)} held: RSS ${mb(baselineRss)} -> ${mb(heldRss)} -> ${mb(rss)} ${afterMs} ms after close; ` +
        `median latency ${baselineLatency.toFixed(2)} / ${duringLatency.toFixed(2)} / ${afterLatency.toFixed(2)} ms`,
    );
    expect(heldRss - baselineRss).toBeGreaterThan(CAP / 2);
    expect(heldRss - baselineRss).toBeLessThan(CAP * 2);
    expect(duringLatency).toBeLessThan(baselineLatency * 10 + 20);
    expect(rss).toBeLessThan(baselineRss + CAP / 4);
  }
}, 120_000);

/** A socket that sends a request line and then one header line every 300 ms, never ending its headers. */
function dribble(): { socket: net.Socket; answer: Promise<{ raw: string; at: number }> } {
  const socket = net.connect(gateway.port, '127.0.0.1');
  let raw = '';
  socket.on('connect', () => socket.write('GET /v1/echo/1 HTTP/1.1\r\nHost: x\r\n'));
  const timer = setInterval(() => socket.writable && socket.write('X-Slow: a\r\n'), 300);
  socket.on('data', (d) => (raw += d.toString('latin1')));
  socket.on('error', () => {});
  const answer = new Promise<{ raw: string; at: number }>((resolve) =>
    socket.on('close', () => {
      clearInterval(timer);
      resolve({ raw, at: Date.now() });
    }),
  );
  return { socket, answer };
}

it('slowloris: dribbled headers are cut at the headers timeout with a 408 Status body, memory flat, normal requests keep their latency', async () => {
  await normalLatencies(50);
  const baselineLatency = median(await normalLatencies(30));
  const baselineRss = await settledRss(3000);
  const started = Date.now();
  const slow = Array.from({ length: 60 }, dribble);
  await sleep(500);
  const duringLatency = median(await normalLatencies(30));
  const duringRss = gateway.proc.rssBytes();
  const answers = await Promise.all(slow.map((s) => s.answer));
  const latest = Math.max(...answers.map((a) => a.at)) - started;
  console.log(
    `slowloris: 60 clients cut after ${latest} ms at most (headers timeout ${HEADERS_TIMEOUT_MS} ms); RSS ${mb(baselineRss)} -> ${mb(duringRss)}; ` +
      `median latency ${baselineLatency.toFixed(2)} / ${duringLatency.toFixed(2)} ms`,
  );
  for (const { raw } of answers) {
    expect(raw).toMatch(/^HTTP\/1.1 408 /);
    expect(raw).toMatch(/\r\nConnection: close\r\n/i);
    expect(JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4))).toMatchObject({ code: 4, details: [{ reason: 'REQUEST_TIMEOUT' }] });
  }
  // Cut within the timeout plus node's checking interval, with room for a loaded machine.
  expect(latest).toBeLessThan(HEADERS_TIMEOUT_MS + 3000);
  expect(duringRss - baselineRss).toBeLessThan(16 * MiB);
  expect(duringLatency).toBeLessThan(baselineLatency * 10 + 20);
}, 60_000);

it('an idle keep-alive socket is closed after the keep-alive timeout', async () => {
  const socket = net.connect(gateway.port, '127.0.0.1');
  let raw = '';
  socket.on('data', (d) => (raw += d.toString('latin1')));
  const t = Date.now();
  socket.write('GET /v1/echo/1 HTTP/1.1\r\nHost: x\r\n\r\n');
  await new Promise((resolve) => socket.on('close', resolve));
  expect(raw).toMatch(/^HTTP\/1.1 200 /);
  expect(raw).toMatch(/\r\nKeep-Alive: timeout=1\r\n/i);
  // 1 s of keep-alive (node adds its keepAliveTimeoutBuffer, 1 s, to the socket's timer), before the headers timeout.
  expect(Date.now() - t).toBeGreaterThanOrEqual(900);
  expect(Date.now() - t).toBeLessThan(HEADERS_TIMEOUT_MS);
});

it('connections past limits.maxConnections are closed at accept; those held keep working, and freed slots serve again', async () => {
  const open = (): Promise<{ socket: net.Socket; closedEarly: Promise<boolean> }> =>
    new Promise((resolve) => {
      const socket = net.connect(gateway.port, '127.0.0.1', () =>
        resolve({
          socket,
          closedEarly: new Promise((done) => {
            socket.on('close', () => done(true));
            setTimeout(() => done(false), 700);
          }),
        }),
      );
      socket.on('error', () => {});
    });
  const sockets = await Promise.all(Array.from({ length: MAX_CONNECTIONS + 10 }, open));
  const closed = await Promise.all(sockets.map((s) => s.closedEarly));
  const refused = closed.filter(Boolean).length;
  // The 10 past the cap (plus any keep-alive connection fetch still held from the tests before).
  expect(refused).toBeGreaterThanOrEqual(10);
  expect(refused).toBeLessThanOrEqual(14);
  // One of the accepted ones still gets an answer.
  const held = sockets.find((_s, i) => !closed[i])!.socket;
  let raw = '';
  held.on('data', (d) => (raw += d.toString('latin1')));
  held.write('GET /v1/echo/1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
  await new Promise((resolve) => held.on('close', resolve));
  expect(raw).toMatch(/^HTTP\/1.1 200 /);
  for (const s of sockets) s.socket.destroy();
  await sleep(200);
  expect((await fetch(`http://127.0.0.1:${gateway.port}/v1/echo/2`)).status).toBe(200);
});
