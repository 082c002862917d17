/** A readable line logger with a service prefix; enough for two small services. */
export interface Logger {
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string, err?: unknown): void;
}

/** Lines look like `2025-01-01T00:00:00.000Z [user] INFO listening on 127.0.0.1:50051`. */
export function createLogger(prefix: string): Logger {
  const line = (level: string, msg: string) => `${new Date().toISOString()} [${prefix}] ${level} ${msg}\n`;
  return {
    info: (msg) => process.stdout.write(line('INFO', msg)),
    warn: (msg) => process.stderr.write(line('WARN', msg)),
    error: (msg, err) => {
      const cause = err instanceof Error ? `: ${err.stack ?? err.message}` : err === undefined ? '' : `: ${String(err)}`;
      process.stderr.write(line('ERROR', msg + cause));
    },
  };
}

/** A logger that drops everything (tests that provoke errors on purpose). */
export const silentLogger: Logger = { info: () => {}, warn: () => {}, error: () => {} };
