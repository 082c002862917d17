/**
 * `--workers` end to end: the compiled gateway as its own process, a cluster primary with two
 * workers, in front of the echo backend, all on loopback with port 0. What the test knows of
 * the workers it reads from the process's own log lines: the primary's `worker N (pid P)
 * ready` and `listening at`, and each worker's request log, prefixed `[gateway wN]`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, rmSync } from 'node:fs';
import * as path from 'node:path';
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
const LISTENING = /"level":30,.*"name":"gateway","msg":"listening at http:\/\/127\.0\.0\.1:(\d+) with 2 workers"/;
const SERVED = /"level":30,.*"name":"gateway w(\d+)".*"statusCode":200.*"msg":"request completed"/;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** `count` echo calls, each on a fresh connection so the primary hands each to the next worker. */
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

describe('--workers 2', () => {
  let gateway: GatewayProcess;
  let base = '';
  const workerPids = new Map<number, number>();

  beforeAll(async () => {
    gateway = new GatewayProcess(main, [
      '--workers',
      '2',
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

  it('announces the address once, after both workers are ready', () => {
    expect(gateway.matches(LISTENING)).toHaveLength(1);
    const listeningAt = gateway.lines.findIndex((l) => LISTENING.test(l));
    expect(gateway.lines.slice(0, listeningAt).filter((l) => READY.test(l))).toHaveLength(2);
    expect(workerPids.size).toBe(2);
    for (const pid of workerPids.values()) expect(pid).not.toBe(gateway.pid);
  });

  it('transcodes requests end to end in more than one worker', async () => {
    await echoCalls(base, 8);
    const served = await gateway.until('8 served requests', () => {
      const ids = gateway.matches(SERVED).map((m) => Number(m[1]));
      return ids.length >= 8 ? ids : undefined;
    });
    expect(new Set(served)).toEqual(new Set(workerPids.keys()));
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

    const servedBefore = gateway.matches(SERVED).length;
    await echoCalls(base, 4);
    const served = await gateway.until('4 more served requests', () => {
      const ids = gateway
        .matches(SERVED)
        .slice(servedBefore)
        .map((m) => Number(m[1]));
      return ids.length >= 4 ? ids : undefined;
    });
    expect(served).toContain(Number(newId));
  });

  it('closes the workers and exits 0 on SIGTERM', async () => {
    gateway.kill('SIGTERM');
    expect(await gateway.exit(10_000)).toEqual({ code: 0, signal: null });
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

  it('a bad --workers is a config error, exit 2, before anything is forked', async () => {
    const gateway = new GatewayProcess(main, ['--workers', '0']);
    expect(await gateway.exit(10_000)).toEqual({ code: 2, signal: null });
    expect(gateway.stderr).toContain('option "workers"');
    expect(gateway.lines).toEqual([]);
  });
});
