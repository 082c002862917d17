/**
 * The bench's parent ↔ child protocol over the fork() IPC channel: a child announces
 * `ready` once it serves, then answers numbered requests (`{ id, op, ...args }`) with
 * `{ id, ok, result | error }`. Each server runs in its own process so its CPU time and
 * memory can be read on its own; a server with cluster workers asks them the same way.
 */
import { fork, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';

/** What a child sends once it is up. */
export interface ReadyMessage {
  type: 'ready';
  /** Listening port, for servers. */
  port?: number;
  /** Time from process start to ready, ms (includes module loading). */
  startupMs?: number;
  /** Time spent building the server (e.g. buildGateway), ms. */
  buildMs?: number;
  /** RSS once ready, before any load, MB. */
  rssMb: number;
  pid: number;
}

type Handler = (args: Record<string, unknown>) => unknown;

/** Requests to a process over its IPC channel, answered there by serveRequests(). */
export class IpcPeer {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  protected exited = false;

  /** `proc` is a forked child, or a cluster worker's `worker.process`. */
  constructor(
    readonly name: string,
    readonly proc: ChildProcess,
  ) {
    proc.on('message', (msg: { id?: number; ok?: boolean; result?: unknown; error?: string }) => {
      const waiter = msg?.id === undefined ? undefined : this.pending.get(msg.id);
      if (!waiter) return;
      this.pending.delete(msg.id!);
      if (msg.ok) waiter.resolve(msg.result);
      else waiter.reject(new Error(`${name}: ${msg.error}`));
    });
    proc.on('exit', (code, signal) => {
      this.exited = true;
      for (const w of this.pending.values()) w.reject(new Error(`${name} exited (${code ?? signal})`));
      this.pending.clear();
    });
  }

  request<T>(op: string, args: Record<string, unknown> = {}): Promise<T> {
    if (this.exited) return Promise.reject(new Error(`${this.name} has exited`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.proc.send({ id, op, ...args });
    });
  }
}

/** A forked child process, spoken to by requests. */
export class Child extends IpcPeer {
  private constructor(
    name: string,
    proc: ChildProcess,
    readonly ready: ReadyMessage,
  ) {
    super(name, proc);
  }

  /** Forks `dist/bench/<script>.js` (of the checkout `root`, else this one) with `env` added, and waits for its `ready` message. */
  static start(name: string, script: string, args: string[], execArgv: string[] = [], root?: string, env: Record<string, string> = {}): Promise<Child> {
    const dir = root === undefined ? __dirname : path.join(root, 'dist', 'bench');
    const proc = fork(path.join(dir, `${script}.js`), args, { execArgv, env: { ...process.env, ...env }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name} did not start within 30 s`)), 30_000);
      const onExit = (code: number | null): void => {
        clearTimeout(timer);
        reject(new Error(`${name} exited during start-up (code ${code})`));
      };
      proc.once('exit', onExit);
      proc.on('message', function onReady(msg: ReadyMessage) {
        if (msg?.type !== 'ready') return;
        clearTimeout(timer);
        proc.off('exit', onExit);
        proc.off('message', onReady);
        resolve(new Child(name, proc, msg));
      });
    });
  }

  /** Asks the child to close and exit (so --cpu-prof can write its profile); kills it after 10 s. */
  async stop(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.proc.once('exit', () => resolve()));
    this.proc.send({ id: 0, op: 'stop' });
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 10_000);
    await gone;
    clearTimeout(timer);
  }
}

/** Child side: answers requests with `handlers`; `stop` runs `onStop` then exits. Messages without an `op` are left to other listeners. */
export function serveRequests(handlers: Record<string, Handler>, onStop: () => Promise<void> | void): void {
  process.on('message', (msg: { id: number; op: string }) => {
    if (typeof msg?.op !== 'string') return;
    if (msg.op === 'stop') {
      Promise.resolve()
        .then(onStop)
        .finally(() => process.exit(0));
      return;
    }
    const handler = handlers[msg.op];
    Promise.resolve()
      .then(() => {
        if (!handler) throw new Error(`unknown op ${msg.op}`);
        return handler(msg as unknown as Record<string, unknown>);
      })
      .then(
        (result) => process.send!({ id: msg.id, ok: true, result }),
        (err: Error) => process.send!({ id: msg.id, ok: false, error: err.stack ?? String(err) }),
      );
  });
  // The parent went away (crash, Ctrl-C): do not linger.
  process.on('disconnect', () => process.exit(0));
}

/** Child side: tells the parent the child is up; `rssBytes` when this process is not all of it (cluster workers). */
export function announceReady(info: Omit<ReadyMessage, 'type' | 'pid' | 'startupMs' | 'rssMb'> & { rssBytes?: number }): void {
  const { rssBytes = process.memoryUsage.rss(), ...rest } = info;
  const rssMb = Math.round(rssBytes / 2 ** 17) / 8;
  process.send!({ type: 'ready', pid: process.pid, startupMs: Math.round(performance.now()), rssMb, ...rest } satisfies ReadyMessage);
}

/** Reads `--name value` or `--name=value` from argv. */
export function argValue(name: string, argv: readonly string[] = process.argv.slice(2)): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === `--${name}`) return argv[i + 1];
    if (argv[i].startsWith(`--${name}=`)) return argv[i].slice(name.length + 3);
  }
  return undefined;
}
