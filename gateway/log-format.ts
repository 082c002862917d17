/**
 * Fastify logs pino JSON lines; for people at a terminal (`npm start`) they are reformatted
 * into the same shape the services print: `<time> [gateway] INFO <msg> <fields>`.
 */
import type { Writable } from 'node:stream';

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const SKIP = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'v']);

/** Fastify logger options writing readable lines with `prefix` to stdout. */
export function readableLogger(level: string, prefix = 'gateway'): { level: string; stream: Pick<Writable, 'write'> } {
  return {
    level,
    stream: {
      write(chunk: string): boolean {
        let entry: Record<string, unknown>;
        try {
          entry = JSON.parse(chunk) as Record<string, unknown>;
        } catch {
          return process.stdout.write(chunk);
        }
        const fields = Object.entries(entry)
          .filter(([k]) => !SKIP.has(k))
          .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
          .join(' ');
        const time = Number(entry.time) || Date.now();
        return process.stdout.write(readableLine(prefix, LEVELS[Number(entry.level)] ?? 'INFO', `${String(entry.msg ?? '')}${fields ? ` ${fields}` : ''}`, time));
      },
    },
  };
}

/** One log line in that shape, for code that logs without Fastify (the cluster primary). */
export function readableLine(prefix: string, level: string, msg: string, time = Date.now()): string {
  return `${new Date(time).toISOString()} [${prefix}] ${level} ${msg}\n`;
}
