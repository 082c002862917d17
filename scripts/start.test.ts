/**
 * `npm start`'s launcher as it runs for a user: the compiled scripts/start.js (not via npm),
 * which starts the user service, the content service and the gateway as three child
 * processes, on ports chosen at run time and a fresh data directory. What the test knows
 * of the processes it reads from the launcher's output (JSON lines, as when stdout is not a
 * terminal): each child's lines carry its name and pid.
 *
 * Bounded: every wait has a deadline, and afterAll kills whatever a failed test leaves.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as http from 'node:http';
import * as path from 'node:path';
import { compileProject, type CompiledProject } from '../gateway/test-support/compiled-project';
import { tempDir } from '../services/test-support';
import { servicesMetricsPorts } from './start';

/** Shutdown grace of every piece in these tests (the default is 10 s). */
const GRACE_MS = 4000;

interface LogLine {
  level?: number;
  name?: string;
  pid?: number;
  msg?: string;
  raw: string;
}

const spawned = new Set<NodeProcess>();

/** A node process of ours: its stdout lines (parsed when JSON), stderr, exit. */
class NodeProcess {
  readonly lines: LogLine[] = [];
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  private readonly proc: ChildProcess;
  private readonly waiters = new Set<() => void>();

  constructor(script: string, args: string[], env: Record<string, string> = {}) {
    this.proc = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    spawned.add(this);
    let partial = '';
    this.proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop()!;
      for (const raw of parts) this.lines.push(parse(raw));
      this.wake();
    });
    this.proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk;
      this.wake();
    });
    this.exited = new Promise((resolve) => this.proc.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })));
    void this.exited.then(() => this.wake());
  }

  get pid(): number {
    return this.proc.pid!;
  }

  get stdout(): string {
    return this.lines.map((l) => l.raw).join('\n');
  }

  /** The first line from `from` on that `match` accepts. */
  find(match: (l: LogLine) => boolean, from = 0): LogLine | undefined {
    return this.lines.slice(from).find(match);
  }

  /** Resolves once `found` returns a value; fails after `timeoutMs` showing the output. */
  until<T>(what: string, found: () => T | undefined, timeoutMs: number): Promise<T> {
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
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; stdout:\n${this.stdout}\nstderr:\n${this.stderr}`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  line(what: string, match: (l: LogLine) => boolean, timeoutMs: number, from = 0): Promise<LogLine> {
    return this.until(what, () => this.find(match, from), timeoutMs);
  }

  kill(signal: NodeJS.Signals): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill(signal);
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }
}

function parse(raw: string): LogLine {
  if (!raw.startsWith('{')) return { raw };
  try {
    return { ...(JSON.parse(raw) as object), raw };
  } catch {
    return { raw };
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** A request answered by node:http, body read to the end. */
function request(url: string, init: { method?: string; headers?: http.OutgoingHttpHeaders; body?: string } = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: init.method ?? 'GET', headers: init.headers }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

const json = (token?: string): http.OutgoingHttpHeaders => ({ 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) });

let build: CompiledProject;
let launcherJs = '';
let gatewayJs = '';

beforeAll(async () => {
  build = await compileProject();
  launcherJs = path.join(build.dir, 'scripts', 'start.js');
  gatewayJs = path.join(build.dir, 'gateway', 'main.js');
}, 120_000);

afterAll(async () => {
  for (const p of spawned) p.kill('SIGKILL');
  await Promise.all([...spawned].map((p) => p.exited));
  build?.remove();
});

describe('command lines', () => {
  it.each([
    ['the launcher --help', () => launcherJs, ['--help'], /^usage: npm start/],
    ['the gateway --help', () => gatewayJs, ['--help'], /^usage: gateway/],
    ['the gateway -h', () => gatewayJs, ['-h'], /--upstream <name>=<h:p>/],
  ])('%s prints usage on stdout and exits 0', async (_name, script, args, usage) => {
    const p = new NodeProcess(script(), args);
    expect(await p.exited).toMatchObject({ code: 0 });
    expect(p.stdout).toMatch(usage);
    expect(p.stderr).toBe('');
  });

  it('the gateway without an upstream says exactly that, without a stack', async () => {
    const p = new NodeProcess(gatewayJs, ['--port', '0']);
    expect(await p.exited).toMatchObject({ code: 1 });
    const error = p.find((l) => l.level === 50);
    expect(error?.msg).toMatch(/^cannot start: no upstream configured/);
    expect(p.stdout).not.toMatch(/JWKS|jwks|\n\s+at /);
  });

  it('the gateway with a missing descriptor says exactly that', async () => {
    const p = new NodeProcess(gatewayJs, ['--port', '0', '--upstream', 'acme.user.v1=127.0.0.1:1', '--descriptor', '/nonexistent/api.binpb']);
    expect(await p.exited).toMatchObject({ code: 1 });
    expect(p.find((l) => l.level === 50)?.msg).toBe(
      'cannot start: descriptor set not found: /nonexistent/api.binpb (build one with `buf build -o`, or run `npm run gen`)',
    );
  });
});

describe('METRICS_PORT under npm start', () => {
  it.each([
    [{}, {}, {}],
    [{ METRICS_PORT: '9464' }, { METRICS_PORT: '9464' }, { METRICS_PORT: '9465' }],
    [{ METRICS_PORT: '0' }, { METRICS_PORT: '0' }, { METRICS_PORT: '0' }],
    [{ METRICS_PORT: 'x' }, { METRICS_PORT: 'x' }, { METRICS_PORT: 'x' }], // refused by the service, by name
  ])('%j: user %j, content %j (never one port for two processes)', (env, user, content) => {
    expect(servicesMetricsPorts(env)).toEqual({ user, content });
  });
});

describe('npm start: three processes', () => {
  const data = tempDir('acme-launcher-');
  let launcher: NodeProcess;
  let base = '';
  let userAddr = '';
  let contentAddr = '';
  const pids = new Map<string, number>();
  let token = '';

  beforeAll(async () => {
    launcher = new NodeProcess(launcherJs, ['--user-port', '0', '--content-port', '0', '--port', '0', '--auth', 'jwt'], {
      DATA_DIR: data.path,
      USER_ADMIN_EMAILS: 'admin@example.com',
      SHUTDOWN_GRACE_MS: String(GRACE_MS),
      LOG_LEVEL: 'info',
      METRICS_PORT: '0',
    });
    const ready = await launcher.line('the ready line', (l) => l.name === 'start' && /^ready: /.test(l.msg ?? ''), 120_000);
    const m = /^ready: gateway (http:\/\/\S+)\s+user (\S+)\s+content (\S+)$/.exec(ready.msg!)!;
    [, base, userAddr, contentAddr] = m;
    // A child's log line may arrive after its ready message (pipe vs IPC): wait for one of each.
    for (const name of ['user', 'content', 'gateway']) {
      pids.set(name, (await launcher.line(`a line of ${name}`, (l) => l.name === name && typeof l.pid === 'number', 10_000)).pid!);
    }
  }, 150_000);

  afterAll(() => data.remove());

  it('runs each piece in its own process, each serving', async () => {
    expect(new Set([launcher.pid, ...pids.values()]).size).toBe(4);
    for (const pid of pids.values()) expect(isAlive(pid)).toBe(true);
    expect(userAddr).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(contentAddr).toMatch(/^127\.0\.0\.1:\d+$/);

    const email = `admin@example.com`;
    expect(
      (await request(`${base}/v1/users`, { method: 'POST', headers: json(), body: JSON.stringify({ email, displayName: 'Admin', password: 'correct horse' }) }))
        .status,
    ).toBe(201);
    const session = await request(`${base}/v1/sessions`, { method: 'POST', headers: json(), body: JSON.stringify({ email, password: 'correct horse' }) });
    expect(session.status).toBe(201);
    token = JSON.parse(session.body).accessToken;
    const post = await request(`${base}/v1/posts`, { method: 'POST', headers: json(token), body: JSON.stringify({ title: 'Hello', body: 'world' }) });
    expect(post.status).toBe(201);
    expect((await request(`${base}/v1/posts`)).status).toBe(200);
  });

  it('METRICS_PORT=0: each service serves its own metrics on a port of its own, and logs it', async () => {
    const served = new Map<string, string>();
    for (const name of ['user', 'content']) {
      const line = await launcher.line(`${name}'s metrics address`, (l) => l.name === name && /^metrics on http:\/\/\S+\/metrics$/.test(l.msg ?? ''), 10_000);
      served.set(name, line.msg!.slice('metrics on '.length));
    }
    expect(served.get('user')).not.toBe(served.get('content'));
    for (const [name, url] of served) {
      const res = await request(url);
      expect(res.status).toBe(200);
      expect(res.body).toContain(`grpc_service="acme.${name}.v1.${name === 'user' ? 'User' : 'Content'}Service"`);
    }
  });

  it('a second launcher on the same data directory stops before the database, naming the holder', async () => {
    const second = new NodeProcess(launcherJs, ['--user-port', '0', '--content-port', '0', '--port', '0'], { DATA_DIR: data.path });
    expect(await second.exited).toMatchObject({ code: 1 });
    const why = second.find((l) => l.name === 'user' && l.level === 50);
    expect(why?.msg).toMatch(new RegExp(`^cannot start: the user data directory .* is in use by process ${pids.get('user')} `));
    expect(second.find((l) => l.name === 'start' && l.level === 50)?.msg).toMatch(/^start failed: user exited with code 1 before it was ready/);
    expect(second.stdout).not.toMatch(/\n\s+at /);
  }, 60_000);

  it('a launcher whose port is taken says so', async () => {
    const other = tempDir('acme-launcher-port-');
    try {
      const third = new NodeProcess(launcherJs, ['--user-port', userAddr.split(':')[1], '--content-port', '0', '--port', '0'], { DATA_DIR: other.path });
      expect(await third.exited).toMatchObject({ code: 1 });
      expect(third.find((l) => l.name === 'user' && l.level === 50)?.msg).toBe(
        `cannot start: user service: ${userAddr} is already in use (is another instance running?)`,
      );
    } finally {
      other.remove();
    }
  }, 60_000);

  let standaloneUser: NodeProcess;

  it('kill -9 of the user service: the launcher says so, the others keep serving; the user service restarted alone is used again', async () => {
    const from = launcher.lines.length;
    process.kill(pids.get('user')!, 'SIGKILL');
    const report = await launcher.line('the report', (l) => l.name === 'start' && l.level === 50, 10_000, from);
    expect(report.msg).toBe('user was killed by SIGKILL; content and gateway keep running (restart it with `npm run user`)');
    // The content service still answers anonymous reads through the gateway; user calls are 503.
    expect((await request(`${base}/v1/posts`)).status).toBe(200);
    expect((await request(`${base}/v1/users`, { headers: json(token) })).status).toBe(503);
    expect(isAlive(launcher.pid) && isAlive(pids.get('content')!) && isAlive(pids.get('gateway')!)).toBe(true);

    // `npm run user` on the same address and data directory (the killed process's lock is stale).
    standaloneUser = new NodeProcess(path.join(build.dir, 'services', 'user', 'main.js'), [], {
      USER_ADDR: userAddr,
      DATA_DIR: data.path,
      SHUTDOWN_GRACE_MS: String(GRACE_MS),
    });
    await standaloneUser.line('the user service listening', (l) => /^listening on /.test(l.msg ?? ''), 90_000);
    const deadline = Date.now() + 10_000;
    let status = 0;
    while (Date.now() < deadline && (status = (await request(`${base}/v1/users`, { headers: json(token) })).status) !== 200)
      await new Promise((r) => setTimeout(r, 100));
    expect(status).toBe(200);
  }, 120_000);

  it('SIGTERM with open watch streams and a request in flight: the streams end with UNAVAILABLE, the request completes, every process exits 0 within its grace', async () => {
    // Two watches, NDJSON and SSE: streams that never end by themselves.
    const openWatch = async (accept: string): Promise<{ text: () => string; ended: Promise<void> }> => {
      const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
        http.get(`${base}/v1/posts:watch`, { headers: { accept } }, resolve).on('error', reject);
      });
      expect(res.statusCode).toBe(200);
      let text = '';
      res.setEncoding('utf8').on('data', (c: string) => (text += c));
      const ended = new Promise<void>((resolve) => res.once('close', () => resolve()));
      return { text: () => text, ended };
    };
    const ndjson = await openWatch('application/x-ndjson');
    const sse = await openWatch('text/event-stream');

    // The request in flight: headers and half the body sent before the signal, the rest after.
    const body = JSON.stringify({ title: 'In flight', body: 'sent in two halves' });
    const inflight = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(`${base}/v1/posts`, { method: 'POST', headers: { ...json(token), 'content-length': Buffer.byteLength(body) } }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      req.on('error', reject);
      req.write(body.slice(0, 10));
      setTimeout(() => {
        launcher.kill('SIGTERM');
        signalled = Date.now();
        setTimeout(() => req.end(body.slice(10)), 300);
      }, 200);
    });
    let signalled = 0;

    const answer = await inflight;
    expect(answer.status).toBe(201);
    expect(JSON.parse(answer.body).title).toBe('In flight');

    const exit = await launcher.exited;
    expect(exit).toMatchObject({ code: 0, signal: null });
    // Each stream ended with UNAVAILABLE from the gateway (so clients reconnect), not a clean end.
    await Promise.all([ndjson.ended, sse.ended]);
    const lastLine = JSON.parse(ndjson.text().trim().split('\n').pop()!);
    expect(lastLine.error).toMatchObject({ code: 14, details: [{ reason: 'SHUTTING_DOWN', domain: 'gateway.acme.dev' }] });
    const event = /event: error\ndata: (.*)\n\n$/.exec(sse.text());
    expect(event).not.toBeNull();
    expect(JSON.parse(event![1])).toMatchObject({ code: 14, details: [{ reason: 'SHUTTING_DOWN' }] });
    const stopped = new Map<string, number>();
    for (const name of ['gateway', 'content', 'start']) {
      const line = launcher.find((l) => l.name === name && /^stopped in \d+ ms$/.test(l.msg ?? ''));
      expect(line).toBeDefined();
      stopped.set(name, Number(/(\d+)/.exec(line!.msg!)![1]));
    }
    // Nothing was left to wait for: the streams ended at once, the request completed.
    for (const name of ['gateway', 'content']) expect(stopped.get(name)).toBeLessThan(GRACE_MS);
    for (const pid of pids.values()) expect(isAlive(pid)).toBe(false);
    // The user service started alone stops the same way.
    const userSignalled = Date.now();
    standaloneUser.kill('SIGTERM');
    const userExit = await standaloneUser.exited;
    expect(userExit).toMatchObject({ code: 0, signal: null });
    const userStopped = Number(/(\d+)/.exec(standaloneUser.find((l) => /^stopped in \d+ ms$/.test(l.msg ?? ''))!.msg!)![1]);
    expect(userStopped).toBeLessThanOrEqual(GRACE_MS + 1000);
    stopped.set('user', userStopped);
    stopped.set('user exit', userExit.at - userSignalled);
    // The figures, for the report.
    process.stdout.write(
      `shutdown: gateway ${stopped.get('gateway')} ms, content ${stopped.get('content')} ms, launcher ${stopped.get('start')} ms, ` +
        `user (alone) ${stopped.get('user')} ms (exit ${stopped.get('user exit')} ms after SIGTERM), ` +
        `launcher exit ${exit.at - signalled} ms after SIGTERM; NDJSON stream's last line: ${ndjson.text().trim().split('\n').pop()}\n`,
    );
  }, 30_000);
});
