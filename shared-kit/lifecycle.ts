/**
 * Process lifecycle shared by every entry point (gateway, services, launcher): start, report
 * an expected start failure in one line, and shut down gracefully on SIGTERM/SIGINT.
 *
 * The first signal runs `close` (which drains within its own grace period) and exits 0 when it
 * resolves. A second signal exits at once (Ctrl-C twice). A watchdog exits 1 if `close` is
 * still running `WATCHDOG_MARGIN_MS` after the grace period, so nothing open can hang a
 * process. A process started by the launcher also shuts down when the launcher goes away
 * (its IPC channel closes), so killing the launcher never orphans the pieces.
 */
import type { Logger } from 'pino';

/** A start failure the user can fix (port in use, missing file, locked data directory): one line, no stack. */
export class StartupError extends Error {
  override readonly name = 'StartupError';
}

export interface ShutdownOptions {
  log: Logger;
  /** How long in-flight work may take to finish; `close` itself enforces it. */
  graceMs: number;
  /** For tests: what exiting means. */
  exit?: (code: number) => void;
}

/** A second signal this soon after the first is the same Ctrl-C delivered twice, not a request to force. */
const SAME_SIGNAL_MS = 300;

/** Time past the grace period after which a shutdown that still has not finished is abandoned. */
export const WATCHDOG_MARGIN_MS = 3000;

/** Runs `close` on the first SIGTERM/SIGINT (or when the launcher's IPC channel closes); returns a function that removes the handlers. */
export function closeOnSignals(close: () => Promise<void>, options: ShutdownOptions): () => void {
  const { log } = options;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let stopping = false;
  let firstAt = 0;
  const begin = (why: string): void => {
    if (stopping) {
      // Under `npm run`, one Ctrl-C arrives twice: from the terminal and forwarded by npm.
      if (Date.now() - firstAt < SAME_SIGNAL_MS) return;
      log.warn(`${why} again: exiting now`);
      exit(1);
      return;
    }
    stopping = true;
    const started = (firstAt = Date.now());
    log.info(`${why}: shutting down (grace ${options.graceMs} ms)`);
    const watchdog = setTimeout(() => {
      log.error(`shutdown still running after ${Date.now() - started} ms: exiting`);
      exit(1);
    }, options.graceMs + WATCHDOG_MARGIN_MS);
    watchdog.unref();
    close().then(
      () => {
        clearTimeout(watchdog);
        log.info(`stopped in ${Date.now() - started} ms`);
        exit(0);
      },
      (err: unknown) => {
        clearTimeout(watchdog);
        log.error({ err }, 'shutdown failed');
        exit(1);
      },
    );
  };
  const onSignal = (signal: NodeJS.Signals): void => begin(signal);
  const onDisconnect = (): void => begin('launcher gone');
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  if (process.env[LAUNCHED_ENV] === '1') process.on('disconnect', onDisconnect);
  return () => {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    process.off('disconnect', onDisconnect);
  };
}

/** Set by the launcher in its children's environment. */
export const LAUNCHED_ENV = 'ACME_LAUNCHED';

/** What a piece tells the launcher once it listens (over the IPC channel, when there is one). */
export interface ReadyMessage {
  type: 'acme:ready';
  /** host:port the piece listens on, with the bound port. */
  address: string;
}

/** Tells the launcher this process listens on `address`; a no-op when not started by it. */
export function announceReady(address: string): void {
  if (process.env[LAUNCHED_ENV] === '1' && process.send) process.send({ type: 'acme:ready', address } satisfies ReadyMessage);
}

/**
 * Runs `start` for an entry point: once it resolves, shuts down gracefully on signals; if it
 * fails, logs why (one line for a StartupError, the stack for anything else) and exits 1.
 */
export function runMain(start: () => Promise<{ close(): Promise<void>; address: string }>, options: Omit<ShutdownOptions, 'exit'>): void {
  const { log } = options;
  start().then(
    (running) => {
      closeOnSignals(() => running.close(), options);
      announceReady(running.address);
    },
    (err: unknown) => {
      if (err instanceof StartupError) log.error(`cannot start: ${err.message}`);
      else log.error({ err }, 'failed to start');
      process.exit(1);
    },
  );
}
