/**
 * `--workers` end to end: the compiled gateway as its own process, a primary with two workers,
 * in front of the echo backend, all on loopback with port 0, once per `--worker-balancing`
 * (reuseport: each worker listens itself and the kernel picks one per connection; cluster: the
 * primary hands connections round-robin). What the test knows of the workers it reads from the
 * process's own log lines: the primary's `worker N (pid P) ready` and `listening at`, and each
 * worker's request log, prefixed `[gateway wN]`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import * as path from 'node:path';
import { Agent } from 'undici';
import { compileProject, type CompiledProject } from './test-support/compiled-project';
import { startEchoBackend, type EchoBackend } from './test-support/echo-backend';
import { rawRequest } from './test-support/http-client';

/** Every gateway started, to kill what a failed test leaves running (the backend would wait for it to close). */
const spawned = new Set<GatewayProcess>();

/** The gateway's command line, its output by lines, and its exit. */
class GatewayProcess {
  readonly lines: string[] = [];
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly proc: ChildProcess;
  private readonly waiters = new Set<() => void>();

  constructor(main: string, args: string[]) {
    this.proc = spawn(process.execPath, [main, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    spawned.add(this);
    let partial = '';
    this.proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop()!;
      this.lines.push(...parts);
      for (const wake of this.waiters) wake();
    });
    this.proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    this.exited = new Promise((resolve) => this.proc.once('exit', (code, signal) => resolve({ code, signal })));
  }

  get pid(): number {
    return this.proc.pid!;
  }

  /** Matches of `re` over the lines so far, from line `from` on. */
  matches(re: RegExp, from = 0): RegExpMatchArray[] {
    return this.lines
      .slice(from)
      .map((l) => l.match(re))
      .filter((m): m is RegExpMatchArray => m !== null);
  }

  /** Resolves once `found` returns a value for the lines so far; fails after `timeoutMs` showing the output. */
  until<T>(what: string, found: () => T | undefined, timeoutMs = 10_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const value = found();
        if (value === undefined) return;
        this.waiters.delete(check);
        clearTimeout(timer);
        resolve(value);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`timed out waiting for ${what}; stdout:\n${this.lines.join('\n')}\nstderr:\n${this.stderr}`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  /** The exit, or a failure showing the output if it takes longer than `timeoutMs`. */
  async exit(timeoutMs: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    void this.exited.then((e) => {
      exited = e;
      for (const wake of this.waiters) wake();
    });
    return this.until('the exit', () => exited, timeoutMs);
  }

  kill(signal: NodeJS.Signals): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill(signal);
  }
}

// The process logs pino JSON lines (its stdout is not a terminal).
const READY = /"level":30,.*"name":"gateway","msg":"worker (\d+) \(pid (\d+)\) ready"/;
const LISTENING = /"level":30,.*"name":"gateway","msg":"listening at http:\/\/127\.0\.0\.1:(\d+) with 2 workers \((reuseport|cluster)\)"/;
const SERVED = /"level":30,.*"name":"gateway w(\d+)".*"statusCode":200.*"msg":"request completed"/;

/** Polls `done` every 20 ms; fails after `timeoutMs`. */
async function until(what: string, done: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Which of `pids` hold a socket listening on IPv4 `port`, ascending (from /proc: Linux). */
function listeningPids(port: number, pids: number[]): number[] {
  const inodes = new Set<string>();
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/); // sl local_address rem_address st ... inode
    if (fields.length > 9 && fields[3] === '0A' && parseInt(fields[1].split(':')[1], 16) === port) inodes.add(`socket:[${fields[9]}]`);
  }
  const holds = (pid: number): boolean =>
    readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return inodes.has(readlinkSync(`/proc/${pid}/fd/${fd}`));
      } catch {
        return false; // closed since the listing
      }
    });
  return pids.filter(holds).sort((a, b) => a - b);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * `count` echo calls, each on a fresh connection, so each is a new pick of a worker: the next
 * one with cluster, a hash of the client's port with reuseport (every one of n connections
 * landing on one of 2 workers has odds 2^(1-n)).
 */
async function echoCalls(base: string, count: number): Promise<void> {
  for (let i = 1; i <= count; i++) {
    const res = await rawRequest(`${base}/v1/echo/${i}?name=worker-test&small=${i}`, { headers: { connection: 'close' } });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body.toString('utf8'))).toEqual({ id: String(i), name: 'worker-test', small: i });
  }
}

let build: CompiledProject;
let backend: EchoBackend;
let main: string;

beforeAll(async () => {
  [build, backend] = await Promise.all([compileProject(), startEchoBackend()]);
  main = path.join(build.dir, 'gateway', 'main.js');
}, 60_000);

afterAll(async () => {
  for (const gateway of spawned) gateway.kill('SIGKILL'); // its workers exit when it goes
  await Promise.all([...spawned].map((g) => g.exited));
  await backend?.close();
  build?.remove();
});

/** The worker ids in the request log lines from line `from` on, once there are `count` of them. */
function servedBy(gateway: GatewayProcess, count: number, from = 0): Promise<number[]> {
  return gateway.until(`${count} served requests`, () => {
    const ids = gateway.matches(SERVED, from).map((m) => Number(m[1]));
    return ids.length >= count ? ids : undefined;
  });
}

describe.each(['reuseport', 'cluster'])('--workers 2 --worker-balancing %s', (balancing) => {
  let gateway: GatewayProcess;
  let base = '';
  const workerPids = new Map<number, number>();

  beforeAll(async () => {
    gateway = new GatewayProcess(main, [
      '--workers',
      '2',
      '--worker-balancing',
      balancing,
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--upstream',
      `acme.echo.v1=${backend.target}`,
      '--auth',
      'off',
    ]);
    const port = await gateway.until('the listening line', () => gateway.matches(LISTENING)[0]?.[1], 20_000);
    base = `http://127.0.0.1:${port}`;
    for (const [, id, pid] of gateway.matches(READY)) workerPids.set(Number(id), Number(pid));
  }, 30_000);

  it('announces the address and the balancing once, after both workers are ready', () => {
    expect(gateway.matches(LISTENING).map((m) => m[2])).toEqual([balancing]);
    const listeningAt = gateway.lines.findIndex((l) => LISTENING.test(l));
    expect(gateway.lines.slice(0, listeningAt).filter((l) => READY.test(l))).toHaveLength(2);
    expect(workerPids.size).toBe(2);
    for (const pid of workerPids.values()) expect(pid).not.toBe(gateway.pid);
  });

  it('transcodes requests end to end in more than one worker', async () => {
    await echoCalls(base, 32);
    expect(new Set(await servedBy(gateway, 32))).toEqual(new Set(workerPids.keys()));
  });

  it(`listens on the port ${balancing === 'reuseport' ? 'in each worker' : 'in the primary alone'}`, () => {
    const workers = [...workerPids.values()].sort((a, b) => a - b);
    const listeners = listeningPids(Number(new URL(base).port), [gateway.pid, ...workers]);
    expect(listeners).toEqual(balancing === 'reuseport' ? workers : [gateway.pid]);
  });

  it('replaces a worker that dies, and the replacement serves', async () => {
    const [victimId, victimPid] = [...workerPids][0];
    const before = gateway.lines.length;
    process.kill(victimPid, 'SIGKILL');
    const died = new RegExp(`"level":40,.*"msg":"worker ${victimId} \\(pid ${victimPid}\\) was killed by SIGKILL; replacing it in \\d+ ms`);
    await gateway.until('the death to be noticed', () => gateway.matches(died, before)[0]);
    const [, newId, newPid] = await gateway.until('a replacement', () => gateway.matches(READY, before)[0] ?? undefined);
    expect(Number(newPid)).not.toBe(victimPid);
    expect(isAlive(victimPid)).toBe(false);
    workerPids.delete(victimId);
    workerPids.set(Number(newId), Number(newPid));

    const from = gateway.lines.length;
    await echoCalls(base, 24);
    expect(await servedBy(gateway, 24, from)).toContain(Number(newId));
  });

  it('on SIGTERM, every worker finishes the requests it holds, then all exit and the primary exits 0', async () => {
    const from = gateway.lines.length;
    const slowCalls = () => backend.calls.get('/acme.echo.v1.EchoService/Slow') ?? 0;
    const before = slowCalls();
    // 16 keep-alive connections (fetch's pool keeps them open after their answer, so a worker
    // must close them itself); with reuseport, odds of 2^-15 that they all land on one worker.
    const agent = new Agent({ keepAliveTimeout: 60_000 });
    const pending = Array.from({ length: 16 }, () =>
      fetch(`${base}/v1/slow?delayMs=1500`, { dispatcher: agent } as RequestInit).then(async (r) => ({ status: r.status, body: await r.text() })),
    );
    await until('16 slow calls at the backend', () => slowCalls() - before >= 16);
    const stopAt = Date.now();
    gateway.kill('SIGTERM');
    const answers = await Promise.all(pending);
    expect(answers.map((r) => r.status)).toEqual(Array(16).fill(200));
    expect(new Set(await servedBy(gateway, 16, from))).toEqual(new Set(workerPids.keys()));
    expect(await gateway.exit(10_000)).toEqual({ code: 0, signal: null });
    // Done soon after the requests (1.5 s): idle keep-alive connections are closed, not waited for
    // (the workers took 4.6 s here when they closed with Fastify's close() alone).
    expect(Date.now() - stopAt).toBeLessThan(4_000);
    await agent.close();
    for (const pid of workerPids.values()) expect(isAlive(pid)).toBe(false);
    expect(gateway.stderr).toBe('');
  });
});

describe('--workers start-up failures', () => {
  it('a bad descriptor fails the start once, with the reason and exit 1, instead of forking workers in a loop', async () => {
    const gateway = new GatewayProcess(main, [
      '--workers',
      '2',
      '--port',
      '0',
      '--descriptor',
      path.join(build.dir, 'missing.binpb'),
      '--upstream',
      `acme.echo.v1=${backend.target}`,
    ]);
    expect(await gateway.exit(10_000)).toEqual({ code: 1, signal: null });
    expect(gateway.matches(/"level":50,.*"msg":"cannot start: descriptor set not found: .*missing\.binpb/)).toHaveLength(1);
    expect(gateway.lines.filter((l) => l.includes('replacing it'))).toEqual([]);
  });

  it('gives up with exit 1 when replacements keep dying at start, closing the worker still up', async () => {
    const descriptor = path.join(build.dir, 'vanishing.binpb');
    copyFileSync(path.join(build.dir, 'gen', 'api.binpb'), descriptor);
    const gateway = new GatewayProcess(main, [
      '--workers',
      '2',
      '--port',
      '0',
      '--descriptor',
      descriptor,
      '--upstream',
      `acme.echo.v1=${backend.target}`,
      '--auth',
      'off',
    ]);
    await gateway.until('the listening line', () => gateway.matches(LISTENING)[0], 20_000);
    const [[, , victim], [, , survivor]] = gateway.matches(READY);
    rmSync(descriptor); // every replacement now fails to start
    process.kill(Number(victim), 'SIGKILL');
    expect(await gateway.exit(20_000)).toEqual({ code: 1, signal: null });
    expect(
      gateway.matches(
        /"level":50,.*"msg":"workers keep dying at start \(5 in a row\), giving up; last: worker \d+ \(pid \d+\) failed to start: cannot read descriptor set/,
      ),
    ).not.toHaveLength(0);
    expect(gateway.lines.filter((l) => l.includes('failed to start: cannot read descriptor set') && l.includes('replacing it in'))).toHaveLength(4);
    expect(isAlive(Number(survivor))).toBe(false);
  }, 30_000);

  /** Starts a gateway with `args` on a port held with SO_REUSEPORT by another socket; it must refuse to start. */
  async function expectHeldPortRefused(args: string[]): Promise<GatewayProcess> {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen({ host: '127.0.0.1', port: 0, reusePort: true }, resolve));
    const port = (holder.address() as AddressInfo).port;
    try {
      const gateway = new GatewayProcess(main, [
        ...args,
        '--host',
        '127.0.0.1',
        '--port',
        String(port),
        '--upstream',
        `acme.echo.v1=${backend.target}`,
        '--auth',
        'off',
      ]);
      expect(await gateway.exit(10_000)).toEqual({ code: 1, signal: null });
      expect(gateway.matches(new RegExp(`"level":50,.*"msg":"cannot start: gateway: 127\\.0\\.0\\.1:${port} is already in use`))).toHaveLength(1);
      return gateway;
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  }

  it('with reuseport, a port already held fails the start with exit 1, even when its holder uses SO_REUSEPORT too', async () => {
    // Another pool's worker: without the primary's probe the workers would join it silently.
    const gateway = await expectHeldPortRefused(['--workers', '2', '--worker-balancing', 'reuseport']);
    expect(gateway.matches(READY)).toEqual([]);
  });

  it('one process (limits.acceptSockets: its own sockets join with SO_REUSEPORT) on a port already held with SO_REUSEPORT fails the start with exit 1', async () => {
    await expectHeldPortRefused([]);
  });

  it('a bad --workers is a config error, exit 2, before anything is forked', async () => {
    const gateway = new GatewayProcess(main, ['--workers', '0']);
    expect(await gateway.exit(10_000)).toEqual({ code: 2, signal: null });
    expect(gateway.stderr).toContain('option "workers"');
    expect(gateway.lines).toEqual([]);
  });
});
