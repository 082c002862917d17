/**
 * A compiled entry file run as its own node process for tests that need a real process (the
 * gRPC instrumentation patches `require`, which jest's module system bypasses): its output by
 * lines (stdout and stderr), waiting for a line, a clean stop or a kill, and its resident memory.
 * Every process started is stopped by stopAll() or killed by killAll() (call one in afterAll).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

const running = new Set<NodeProcess>();

export class NodeProcess {
  readonly lines: string[] = [];
  private readonly proc: ChildProcess;
  private readonly waiters = new Set<() => void>();
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(main: string, args: readonly string[], env: Record<string, string | undefined> = {}) {
    this.proc = spawn(process.execPath, [main, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    running.add(this);
    const collect = (stream: NodeJS.ReadableStream): void => {
      let partial = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        const parts = (partial + chunk).split('\n');
        partial = parts.pop()!;
        this.lines.push(...parts);
        for (const wake of this.waiters) wake();
      });
    };
    collect(this.proc.stdout!);
    collect(this.proc.stderr!);
    this.exited = new Promise((resolve) =>
      this.proc.once('exit', (code, signal) => {
        running.delete(this);
        resolve({ code, signal });
        for (const wake of this.waiters) wake();
      }),
    );
  }

  get pid(): number {
    return this.proc.pid!;
  }

  get alive(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** The first match of `re` in the output, waiting up to `timeoutMs` (fails showing the output). */
  waitFor(re: RegExp, timeoutMs = 90_000): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        for (const line of this.lines) {
          const m = line.match(re);
          if (m) {
            this.waiters.delete(check);
            clearTimeout(timer);
            resolve(m);
            return;
          }
        }
        if (this.proc.exitCode !== null) fail('the process exited');
      };
      const fail = (why: string): void => {
        this.waiters.delete(check);
        clearTimeout(timer);
        reject(new Error(`${why} before printing ${re}; output:\n${this.lines.join('\n')}`));
      };
      const timer = setTimeout(() => fail(`timed out after ${timeoutMs} ms`), timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  /** The port from the process's `listening on host:port` (or `at http://host:port`) line. */
  async port(): Promise<number> {
    const m = await this.waitFor(/listening (?:on|at) \S*?:(\d+)/);
    return Number(m[1]);
  }

  kill(signal: NodeJS.Signals): void {
    if (this.alive) this.proc.kill(signal);
  }

  /** Resident set size in bytes, from /proc (Linux). */
  rssBytes(): number {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${this.pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  }

  /** SIGTERM, then the exit (SIGKILL if it takes longer than `timeoutMs`). */
  async stop(timeoutMs = 10_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    this.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), timeoutMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Kills whatever a failed test left running (afterAll). */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((p) => p.stop()));
}

/** Kills (SIGKILL) every process still running and waits for them. */
export async function killAll(): Promise<void> {
  const all = [...running];
  for (const p of all) p.kill('SIGKILL');
  await Promise.all(all.map((p) => p.exited));
}
