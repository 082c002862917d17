/**
 * `--workers N`: N gateway processes on one port. The primary forks the workers with
 * node:cluster, hands each the config it resolved over IPC (so every worker serves exactly
 * what the primary validated), replaces a worker that dies, and closes them all on shutdown.
 * Each worker is an ordinary gateway. How connections reach them (`workerBalancing`):
 *
 * - `reuseport` (default on Linux): every worker listens on the port itself with SO_REUSEPORT
 *   (`reusePort`, Node >= 22.12/23.1) and the kernel picks a worker for each new connection by
 *   a hash of its addresses. The primary never touches a connection. It first listens on the
 *   port for a moment without SO_REUSEPORT: that turns port 0 into a real port for every worker,
 *   and makes a port already taken, by anything or by another pool, fail the start as in one
 *   process (two SO_REUSEPORT pools of one user would otherwise share the port silently).
 * - `cluster`: node:cluster's round-robin; the primary accepts every connection and passes it
 *   to the next worker over IPC (kept rather than cluster's SCHED_NONE, where workers accept()
 *   from one shared socket and most connections pile onto one or two of them). Port 0 works:
 *   cluster binds once in the primary and gives every worker that same port.
 */
import cluster, { type Worker } from 'node:cluster';
import type { GatewayConfig } from './config';
import { createLogger, probePort } from '../shared-kit';

/** A gateway serving in some process: what a worker hands back from its `start`. */
export interface RunningGateway {
  readonly port: number;
  close(): Promise<void>;
}

/** The primary ↔ worker protocol; `type` is namespaced so other messages on the channel pass by. */
type Message =
  | { type: 'gateway:hello' } // worker → primary: ready for its config
  | { type: 'gateway:config'; config: GatewayConfig } // primary → worker
  | { type: 'gateway:ready'; port: number } // worker → primary: listening
  | { type: 'gateway:failed'; message: string } // worker → primary: start failed, exiting
  | { type: 'gateway:shutdown' }; // primary → worker: close gracefully and exit

export type LogLevel = 'INFO' | 'WARN' | 'ERROR';

export interface WorkerPoolOptions {
  /** The script each worker runs; it must call runWorker(). Defaults to gateway/main. */
  entry?: string;
  /** The primary's own log lines; readable lines on stdout by default. */
  log?: (level: LogLevel, msg: string) => void;
  /** Called once if the pool gives up because workers keep dying at start; the pool is closed by then. */
  onFatal?: (err: Error) => void;
}

/** The primary's handle on its workers. */
export interface WorkerPool {
  /** The port every worker listens on. */
  readonly port: number;
  /** The workers alive now. */
  workers(): Worker[];
  /** Asks every worker to close gracefully; rejects if one had to be killed or exited uncleanly. */
  close(): Promise<void>;
}

/** First restart delay; it doubles with each death in the last DEATH_WINDOW_MS, up to RESTART_MAX_MS. */
const RESTART_BASE_MS = 100;
const RESTART_MAX_MS = 5000;
const DEATH_WINDOW_MS = 30_000;
/** Replacements in a row that die before listening: then the cause is not going away. */
const MAX_START_FAILURES = 5;
/** How long a worker may take to close before it is killed. */
const CLOSE_TIMEOUT_MS = 10_000;

/**
 * Forks `config.workers` gateway workers and resolves once all of them listen. If one fails to
 * start (a bad descriptor, a port in use) the others are closed and this rejects with its reason,
 * so a broken config fails once instead of forking workers that die in a loop.
 */
export async function startWorkers(config: GatewayConfig, options: WorkerPoolOptions = {}): Promise<WorkerPool> {
  if (!cluster.isPrimary) throw new Error('startWorkers() runs in the cluster primary');
  if (config.workerBalancing === 'reuseport') {
    const port = await probePort(config.host, config.port, 'gateway');
    config = Object.freeze({ ...config, port });
  }
  return forkWorkers(config, options);
}

function forkWorkers(config: GatewayConfig, options: WorkerPoolOptions): Promise<WorkerPool> {
  const logger = options.log ? undefined : createLogger('gateway', { level: config.logLevel, format: config.logFormat });
  const log = options.log ?? ((level: LogLevel, msg: string) => logger![level === 'ERROR' ? 'error' : level === 'WARN' ? 'warn' : 'info'](msg));
  // `advanced` serialization is structured clone: the config arrives exactly, undefined fields included.
  cluster.setupPrimary({ exec: options.entry ?? require.resolve('./main'), args: [], serialization: 'advanced' });

  const live = new Set<Worker>();
  const restarts = new Set<NodeJS.Timeout>();
  const deaths: number[] = [];
  let startFailures = 0;
  let port = 0;
  let starting = true;
  let waitingFor = config.workers;
  let closing: Promise<void> | undefined;

  return new Promise<WorkerPool>((resolve, reject) => {
    const pool: WorkerPool = {
      get port() {
        return port;
      },
      workers: () => [...live],
      close,
    };

    function fork(): void {
      const worker = cluster.fork();
      const label = `worker ${worker.id} (pid ${worker.process.pid})`;
      let ready = false;
      let failure: string | undefined;
      live.add(worker);
      worker.on('message', (msg: Message) => {
        switch (msg?.type) {
          case 'gateway:hello':
            worker.send({ type: 'gateway:config', config } satisfies Message);
            break;
          case 'gateway:ready':
            ready = true;
            onReady(label, msg.port);
            break;
          case 'gateway:failed':
            failure = msg.message;
            break;
        }
      });
      // A send to a worker that is already gone; its exit is handled below.
      worker.on('error', (err) => log('WARN', `${label}: ${err.message}`));
      worker.on('exit', (code, signal) => {
        live.delete(worker);
        const reason = failure !== undefined ? `failed to start: ${failure}` : signal ? `was killed by ${signal}` : `exited with code ${code}`;
        if (closing) return;
        if (starting) {
          // A worker of the first batch died: the config or the host is at fault, not chance.
          close()
            .catch(() => undefined)
            .finally(() => reject(new Error(failure ?? `${label} ${reason} during start`)));
          return;
        }
        if (!ready && ++startFailures >= MAX_START_FAILURES) {
          const err = new Error(`workers keep dying at start (${startFailures} in a row), giving up; last: ${label} ${reason}`);
          log('ERROR', err.message);
          close()
            .catch(() => undefined)
            .finally(() => options.onFatal?.(err));
          return;
        }
        const now = Date.now();
        deaths.push(now);
        while (deaths[0] < now - DEATH_WINDOW_MS) deaths.shift();
        const delay = Math.min(RESTART_BASE_MS * 2 ** (deaths.length - 1), RESTART_MAX_MS);
        log('WARN', `${label} ${reason}; replacing it in ${delay} ms`);
        const timer = setTimeout(() => {
          restarts.delete(timer);
          if (!closing) fork();
        }, delay);
        restarts.add(timer);
      });
    }

    function onReady(label: string, workerPort: number): void {
      startFailures = 0;
      port ||= workerPort;
      log('INFO', `${label} ready`);
      if (starting && --waitingFor === 0) {
        starting = false;
        const host = config.host.includes(':') ? `[${config.host}]` : config.host;
        log('INFO', `listening at http://${host}:${port} with ${config.workers} workers (${config.workerBalancing})`);
        resolve(pool);
      }
    }

    function close(): Promise<void> {
      closing ??= new Promise<void>((done, fail) => {
        for (const timer of restarts) clearTimeout(timer);
        restarts.clear();
        const workers = [...live];
        if (workers.length === 0) return done();
        const unclean: string[] = [];
        let left = workers.length;
        const killer = setTimeout(() => {
          for (const w of live) w.process.kill('SIGKILL');
        }, CLOSE_TIMEOUT_MS);
        for (const w of workers) {
          w.once('exit', (code, signal) => {
            if (code !== 0) unclean.push(`worker ${w.id} (pid ${w.process.pid}) ${signal ? `was killed by ${signal}` : `exited with code ${code}`}`);
            if (--left > 0) return;
            clearTimeout(killer);
            if (unclean.length) fail(new Error(`workers did not close cleanly: ${unclean.join('; ')}`));
            else done();
          });
          if (w.isConnected()) w.send({ type: 'gateway:shutdown' } satisfies Message);
        }
      });
      return closing;
    }

    for (let i = 0; i < config.workers; i++) fork();
  });
}

/**
 * Worker side: asks the primary for the config, serves it with `start`, and closes gracefully
 * when the primary says so or on SIGINT/SIGTERM (a terminal's Ctrl-C reaches the whole process
 * group). If the primary goes away, node:cluster exits the worker.
 */
export function runWorker(start: (config: GatewayConfig, workerId: number) => Promise<RunningGateway>): void {
  if (!cluster.isWorker) throw new Error('runWorker() runs in a cluster worker');
  const id = cluster.worker!.id;
  const send = (msg: Message, then?: () => void): void => {
    if (process.connected) process.send!(msg, undefined, undefined, then);
    else then?.();
  };
  let gateway: Promise<RunningGateway | undefined> | undefined;
  let closing = false;

  const shutdown = (): void => {
    if (closing) return;
    closing = true;
    (gateway ?? Promise.resolve(undefined))
      .then((g) => g?.close())
      .then(
        () => process.exit(0),
        (err: unknown) => {
          console.error(`gateway worker ${id}: close failed: ${(err as Error).message}`);
          process.exit(1);
        },
      );
  };

  process.on('message', (msg: Message) => {
    if (msg?.type === 'gateway:shutdown') shutdown();
    if (msg?.type !== 'gateway:config' || gateway) return;
    const started = start(msg.config, id);
    gateway = started.catch(() => undefined);
    started.then(
      (g) => {
        if (!closing) send({ type: 'gateway:ready', port: g.port });
      },
      (err: unknown) => send({ type: 'gateway:failed', message: (err as Error).message ?? String(err) }, () => process.exit(1)),
    );
  });
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
  send({ type: 'gateway:hello' });
}
