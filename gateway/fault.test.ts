/**
 * Fault tests with real processes: echo backends (two services: acme.echo.v1.EchoService and
 * acme.conformance.v1.ShapesService) and the compiled gateway, each its own node process on
 * loopback, under a bounded load (a few concurrent callers, a few seconds). A service is
 * killed with SIGKILL and restarted on its port; a slow method meets its deadline; one of two
 * instances of a service dies. The figures (answers by status and reason, time to open, time
 * to recover) are printed with each test.
 */
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { killAll, NodeProcess } from '../shared-kit/test-support/node-process';
import { compileProject, type CompiledProject } from './test-support/compiled-project';
import { errorReason, type JsonBody } from './test-support/http-client';
import { freePort } from '../shared-kit/free-port';

const ECHO = 'acme.echo.v1.EchoService';
const SHAPES = 'acme.conformance.v1.ShapesService';

let project: CompiledProject;
beforeAll(async () => {
  project = await compileProject(['gateway/test-support/echo-backend-main.ts']);
}, 120_000);
afterAll(async () => {
  await killAll();
  project?.remove();
});

/** An echo backend process; resolves once it listens. */
async function startEcho(name: string, port = 0): Promise<{ proc: NodeProcess; port: number; listeningAt: number }> {
  const proc = new NodeProcess(path.join(project.dir, 'gateway', 'test-support', 'echo-backend-main.js'), ['--port', String(port)]);
  const m = await proc.waitFor(/^listening (\d+)$/);
  return { proc, port: Number(m[1]), listeningAt: Date.now() };
}

/** A gateway process with `config` (a config file); resolves once /readyz is 200. */
async function startGateway(name: string, config: object): Promise<{ proc: NodeProcess; url: string }> {
  const port = await freePort();
  const file = path.join(project.dir, `${name}.json`);
  // One loopback address drives thousands of calls a second here: the per-caller rate limit (on by
  // default) would answer them 429 and hide the resilience behaviour these tests measure.
  const base = { port, auth: { mode: 'off' }, rateLimit: { enabled: false }, logLevel: process.env.FAULT_DEBUG ? 'info' : 'warn' };
  writeFileSync(file, JSON.stringify({ ...base, ...config }));
  const proc = new NodeProcess(path.join(project.dir, 'gateway', 'main.js'), ['--config', file]);
  const url = `http://127.0.0.1:${port}`;
  const until = Date.now() + 20_000;
  for (;;) {
    const status = await fetch(`${url}/readyz`).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) return { proc, url };
    if (!proc.alive || Date.now() > until) throw new Error(`${name} not ready (${status}): ${proc.lines.join('\n')}`);
    await sleep(50);
  }
}

interface Sample {
  readonly target: string;
  readonly status: number;
  readonly reason: string | undefined;
  /** Start and completion times (Date.now()). */
  readonly startedAt: number;
  readonly at: number;
  readonly ms: number;
  readonly body: string;
}

/** `concurrency` callers per target, each calling again as soon as answered, until stop() returns true. */
async function load(url: string, targets: Record<string, (i: number) => string>, concurrency: number, stop: () => boolean, samples: Sample[]): Promise<void> {
  const caller = async (target: string, pathOf: (i: number) => string): Promise<void> => {
    for (let i = 0; !stop(); i++) {
      const startedAt = Date.now();
      const started = performance.now();
      let status = 0;
      let body: string;
      try {
        const res = await fetch(url + pathOf(i));
        status = res.status;
        body = await res.text();
      } catch (err) {
        body = String(err);
      }
      const ms = performance.now() - started;
      let reason: string | undefined;
      if (status !== 200) {
        try {
          reason = errorReason(JSON.parse(body) as JsonBody);
        } catch {
          reason = undefined;
        }
      }
      samples.push({ target, status, reason, startedAt, at: Date.now(), ms, body });
    }
  };
  const callers: Promise<void>[] = [];
  for (const [target, pathOf] of Object.entries(targets)) for (let c = 0; c < concurrency; c++) callers.push(caller(target, pathOf));
  await Promise.all(callers);
}

function tally(samples: readonly Sample[]): string {
  const counts = new Map<string, number>();
  for (const s of samples) {
    const key = `${s.status}${s.reason ? ` ${s.reason}` : ''}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([k, n]) => `${k}: ${n}`).join(', ') || 'none';
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? NaN : sorted[Math.floor(sorted.length / 2)];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function readyz(url: string): Promise<{ status: number; body: JsonBody }> {
  const res = await fetch(`${url}/readyz`);
  return { status: res.status, body: (await res.json()) as JsonBody };
}

describe('fault tests with real processes', () => {
  it('kill -9 one service: fast 503s for it, the other unharmed, /readyz names it; restarted, it is served again within 2 s', async () => {
    const a = await startEcho('echo-a');
    const b = await startEcho('echo-b');
    const gateway = await startGateway('gateway-kill', {
      upstreams: { [ECHO]: `127.0.0.1:${a.port}`, [SHAPES]: `127.0.0.1:${b.port}` },
    });
    const rssBefore = gateway.proc.rssBytes();
    const samples: Sample[] = [];
    let stopped = false;
    const running = load(gateway.url, { a: (i) => `/v1/echo/${i}`, b: (i) => `/v1/dup/n${i}` }, 4, () => stopped, samples);

    await sleep(500);
    a.proc.kill('SIGKILL');
    const killedAt = Date.now();
    let readyzDownAt = 0;
    let downReport: { status: number; body: JsonBody } | undefined;
    while (Date.now() - killedAt < 3000) {
      if (!readyzDownAt) {
        const r = await readyz(gateway.url);
        if (r.status === 503) {
          readyzDownAt = Date.now();
          downReport = r;
        }
      }
      await sleep(25);
    }

    // One caller alone, interleaving the dead service and /healthz (no upstream work at all):
    // the open breaker's answer against the HTTP round trip on this machine right now.
    const probeOpen: number[] = [];
    const probeHealthz: number[] = [];
    for (let i = 0; i < 40; i++) {
      for (const [pathname, into] of [
        ['/v1/echo/p', probeOpen],
        ['/healthz', probeHealthz],
      ] as const) {
        const t = performance.now();
        await (await fetch(gateway.url + pathname)).text();
        into.push(performance.now() - t);
      }
    }

    const lateReport = await readyz(gateway.url);
    const restarted = await startEcho('echo-a2', a.port);
    const listeningAt = restarted.listeningAt;
    const until = Date.now() + 5000;
    while (!samples.some((s) => s.target === 'a' && s.status === 200 && s.at > listeningAt) && Date.now() < until) await sleep(10);
    await sleep(300);
    stopped = true;
    await running;
    // The health watch retries every 500 ms (health-watch.ts): /readyz turns 200 at its next
    // retry after the restart, which a single look 300 ms after the first success can precede.
    let readyAfter = await readyz(gateway.url);
    while (readyAfter.status !== 200 && Date.now() < listeningAt + 2000) {
      await sleep(50);
      readyAfter = await readyz(gateway.url);
    }
    const rssAfter = gateway.proc.rssBytes();

    const before = samples.filter((s) => s.at <= killedAt);
    const outage = samples.filter((s) => s.target === 'a' && s.startedAt > killedAt && s.at < listeningAt);
    const open = outage.filter((s) => s.reason === 'CIRCUIT_OPEN');
    const firstOpen = open.length > 0 ? Math.min(...open.map((s) => s.at)) : NaN;
    const firstBack = Math.min(...samples.filter((s) => s.target === 'a' && s.status === 200 && s.at > listeningAt).map((s) => s.at));
    const other = samples.filter((s) => s.target === 'b');
    console.log(
      [
        'kill -9 of acme.echo.v1.EchoService under load (4 callers per service):',
        `  before the kill: ${tally(before)}`,
        `  killed service during the outage: ${tally(outage)}`,
        `  time to open: ${firstOpen - killedAt} ms; median answer once open: ${median(open.map((s) => s.ms)).toFixed(2)} ms (p90 ${[...open.map((s) => s.ms)].sort((x, y) => x - y)[Math.floor(open.length * 0.9)]?.toFixed(2)} ms)`,
        `  one sequential caller while open: median ${median(probeOpen).toFixed(2)} ms per CIRCUIT_OPEN answer, /healthz ${median(probeHealthz).toFixed(2)} ms`,
        `  /readyz 503 after ${readyzDownAt - killedAt} ms: ${JSON.stringify(downReport?.body.notServing)}; later ${JSON.stringify(lateReport.body.upstreams[ECHO])}`,
        `  other service throughout: ${tally(other)}; median ${median(other.map((s) => s.ms)).toFixed(2)} ms`,
        `  restarted: first success ${firstBack - listeningAt} ms after it listened; /readyz then ${readyAfter.status}`,
        `  gateway RSS ${(rssBefore / 2 ** 20).toFixed(1)} -> ${(rssAfter / 2 ** 20).toFixed(1)} MB`,
      ].join('\n'),
    );

    if (process.env.FAULT_DEBUG) console.log(gateway.proc.lines.filter((l) => /circuit|upstream/.test(l)).join('\n'));
    expect(before.every((s) => s.status === 200)).toBe(true);
    expect(other.length).toBeGreaterThan(100);
    expect(other.every((s) => s.status === 200)).toBe(true);
    expect(outage.length).toBeGreaterThan(0);
    expect(outage.every((s) => s.status === 503 && (s.reason === 'UPSTREAM_UNAVAILABLE' || s.reason === 'CIRCUIT_OPEN'))).toBe(true);
    expect(outage.some((s) => s.body.includes('127.0.0.1'))).toBe(false);
    expect(firstOpen - killedAt).toBeLessThan(2500);
    // The 5 ms target is a speed figure (printed above; timed assertions do not belong in
    // tests on a shared machine): here, only that failing fast beats a real call.
    expect(median(open.map((s) => s.ms))).toBeLessThan(median(other.map((s) => s.ms)));
    expect(downReport?.body.notServing).toEqual([ECHO]);
    expect(downReport?.body.upstreams[ECHO].health).toBe('UNREACHABLE');
    expect(lateReport.status).toBe(503);
    expect(lateReport.body.upstreams[ECHO]).toMatchObject({ health: 'UNREACHABLE', breaker: expect.stringMatching(/open/) });
    expect(firstBack - listeningAt).toBeLessThan(2000);
    expect(readyAfter.status).toBe(200);
    expect(gateway.proc.alive).toBe(true);
    expect(rssAfter - rssBefore).toBeLessThan(64 * 2 ** 20);
  }, 60_000);

  it('a slow method: 504 DEADLINE_EXCEEDED at the configured deadline, and the service sees the cancellation', async () => {
    const a = await startEcho('echo-slow');
    const gateway = await startGateway('gateway-slow', {
      upstreams: { [ECHO]: `127.0.0.1:${a.port}` },
      resilience: { overrides: { [`${ECHO}/Slow`]: { timeoutMs: 300 } } },
    });
    const started = Date.now();
    const res = await fetch(`${gateway.url}/v1/slow?delayMs=5000`);
    const took = Date.now() - started;
    const body = (await res.json()) as JsonBody;
    const cancelled = await a.proc.waitFor(/^cancelled \/acme\.echo\.v1\.EchoService\/Slow$/, 2000).then(() => Date.now() - started);
    console.log(
      `slow method, deadline 300 ms: ${res.status} ${errorReason(body)} after ${took} ms; the service saw the cancellation ${cancelled} ms after the request`,
    );
    expect(res.status).toBe(504);
    expect(errorReason(body)).toBe('DEADLINE_EXCEEDED');
    expect(took).toBeGreaterThanOrEqual(290);
    expect(took).toBeLessThan(1500);
  }, 30_000);

  it.each(['h2', 'grpc-js'])(
    'two instances of one service over %s, kill -9 one: no failed calls to an idempotent method',
    async (transport) => {
      const one = await startEcho(`echo-1-${transport}`);
      const two = await startEcho(`echo-2-${transport}`);
      const gateway = await startGateway(`gateway-pair-${transport}`, {
        transport,
        upstreams: { [ECHO]: `ipv4:127.0.0.1:${one.port},127.0.0.1:${two.port}` },
      });
      const samples: Sample[] = [];
      let stopped = false;
      // GET /v1/echo/{id} is bound to GET: retried on UNAVAILABLE.
      const running = load(gateway.url, { echo: (i) => `/v1/echo/${i}` }, 8, () => stopped, samples);
      await sleep(700);
      one.proc.kill('SIGKILL');
      const killedAt = Date.now();
      await sleep(2000);
      stopped = true;
      await running;
      const after = samples.filter((s) => s.at > killedAt);
      if (process.env.FAULT_DEBUG) console.log(gateway.proc.lines.slice(0, 40).join('\n'));
      console.log(`two instances over ${transport}, one killed (8 callers): before ${tally(samples.filter((s) => s.at <= killedAt))}; after ${tally(after)}`);
      expect(after.length).toBeGreaterThan(50);
      expect(samples.filter((s) => s.status !== 200)).toEqual([]);
      expect(two.proc.alive).toBe(true);
    },
    60_000,
  );
});
