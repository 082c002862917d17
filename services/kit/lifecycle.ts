/** Process lifecycle for a service run from the command line: stop cleanly on SIGTERM/SIGINT. */
import type { Logger } from './log';

/** On the first SIGTERM or SIGINT runs `close` (drain calls, close the store) and exits; a second signal exits at once. */
export function closeOnSignals(close: () => Promise<void>, log: Logger): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn(`${signal} again: exiting now`);
      process.exit(1);
    }
    stopping = true;
    log.info(`${signal}: shutting down`);
    close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error('shutdown failed', err);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

/** Runs `start` for a `main.ts` executed directly: logs and exits non-zero when start fails. */
export function runMain(start: () => Promise<{ close(): Promise<void> }>, log: Logger): void {
  start().then(
    (running) => closeOnSignals(() => running.close(), log),
    (err: unknown) => {
      log.error('failed to start', err);
      process.exit(1);
    },
  );
}
