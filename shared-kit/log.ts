/**
 * The one logger of every process (gateway, services, launcher): pino. JSON lines when stdout
 * is not a terminal (what log collectors read), pino-pretty's readable lines when it is.
 * Pretty printing runs in this thread, synchronously (no transport worker), so nothing is
 * lost when a process exits right after logging.
 */
import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';

/** pino-pretty (~3 MB of RSS with its dependencies), loaded only where output is pretty. */
const pretty = (): typeof import('pino-pretty') => require('pino-pretty') as typeof import('pino-pretty');

export type { Logger } from 'pino';

/** `auto` is pretty on a terminal, JSON otherwise. */
export type LogFormat = 'auto' | 'pretty' | 'json';
export const LOG_FORMATS: readonly LogFormat[] = ['auto', 'pretty', 'json'];
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export interface LogSettings {
  /** pino level: fatal, error, warn, info, debug, trace, silent. */
  readonly level: string;
  readonly format: LogFormat;
}

/**
 * Credentials never reach a log line, whatever logs them (a request's headers, a call's
 * metadata, an error's context): these paths are replaced by `[redacted]`.
 */
const SECRET_KEYS = ['authorization', 'cookie', 'set-cookie', 'token', 'accessToken', 'access_token', 'refreshToken', 'password', 'x-api-key'];
const REDACT = {
  paths: SECRET_KEYS.flatMap((k) => [`["${k}"]`, `*["${k}"]`, `*.*["${k}"]`]),
  censor: '[redacted]',
};

export const DEFAULT_LOG_SETTINGS: LogSettings = Object.freeze({ level: 'info', format: 'auto' });

/**
 * pino options plus the stream to write to, for a process named `name`; Fastify accepts this
 * object as its `logger` option and builds the same pino logger from it.
 */
export function loggerOptions(name: string, settings: LogSettings = DEFAULT_LOG_SETTINGS): LoggerOptions & { stream?: DestinationStream } {
  const usePretty = isPretty(settings);
  const base: LoggerOptions = { name, level: settings.level, base: { pid: process.pid }, redact: REDACT };
  if (!usePretty) return base;
  return {
    ...base,
    stream: pretty()({
      sync: true,
      // The launcher prefixes each child's lines with its name; alone, a process needs none.
      ignore: 'pid,hostname,name',
      singleLine: true,
      translateTime: 'SYS:HH:MM:ss.l',
      // Colour follows colorette: a terminal, or FORCE_COLOR (the launcher sets it for its children).
    }),
  };
}

/** A pino logger for the process named `name`. */
export function createLogger(name: string, settings: LogSettings = DEFAULT_LOG_SETTINGS): Logger {
  const { stream, ...options } = loggerOptions(name, settings);
  return stream ? pino(options, stream) : pino(options, pino.destination({ sync: true }));
}

/** A logger that drops everything (tests that provoke errors on purpose). */
export const silentLogger: Logger = pino({ level: 'silent' });

/** Reads a log format name; undefined for anything else. */
export function parseLogFormat(value: string | undefined): LogFormat | undefined {
  return LOG_FORMATS.find((f) => f === value);
}

/**
 * Turns pino JSON lines into pino-pretty's readable text (the launcher shows its children's
 * JSON logs this way); a line that is not JSON comes back as it was.
 */
export function prettyPrinter(): (line: string) => string {
  const format = pretty().prettyFactory({ ignore: 'pid,hostname,name', translateTime: 'SYS:HH:MM:ss.l', singleLine: true });
  return (line) => {
    if (!line.startsWith('{')) return line;
    try {
      return format(line).replace(/\n$/, '');
    } catch {
      return line;
    }
  };
}

/** Whether `settings` mean pretty output on this process's stdout. */
export function isPretty(settings: LogSettings): boolean {
  return settings.format === 'pretty' || (settings.format === 'auto' && process.stdout.isTTY === true);
}
