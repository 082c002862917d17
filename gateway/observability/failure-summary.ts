/**
 * Repeated identical failures logged once, then summarised: in an outage every request fails
 * the same way, and a line per request (~300 bytes) is hundreds of MB a minute that say one
 * thing. The first occurrence of a (key) is logged at once; identical ones within WINDOW_MS
 * are counted, and the count is logged when the window ends (`repeated: N`).
 */
const WINDOW_MS = 10_000;
const MAX_KEYS = 1000;

interface WarnLog {
  warn(obj: object, msg: string): void;
}

interface Entry {
  readonly log: WarnLog;
  readonly fields: object;
  readonly msg: string;
  since: number;
  suppressed: number;
}

const entries = new Map<string, Entry>();
let timer: NodeJS.Timeout | undefined;

/** Logs `msg` with `fields` unless the same `key` was logged in the last window; then it is counted. */
export function warnSummarized(log: WarnLog, key: string, fields: object, msg: string, now = Date.now()): void {
  const e = entries.get(key);
  if (e !== undefined && now - e.since < WINDOW_MS) {
    e.suppressed++;
    return;
  }
  if (e !== undefined) report(e, now);
  if (entries.size >= MAX_KEYS) flushSummaries(now, true);
  entries.set(key, { log, fields, msg, since: now, suppressed: 0 });
  log.warn(fields, msg);
  timer ??= setInterval(() => flushSummaries(Date.now()), WINDOW_MS).unref();
}

/** Logs the counts of windows that ended (all of them with `all`), and forgets quiet keys. */
export function flushSummaries(now = Date.now(), all = false): void {
  for (const [key, e] of entries) {
    if (!all && now - e.since < WINDOW_MS) continue;
    report(e, now);
    entries.delete(key);
  }
}

function report(e: Entry, now: number): void {
  if (e.suppressed === 0) return;
  e.log.warn({ ...e.fields, repeated: e.suppressed, windowMs: now - e.since }, `${e.msg} (repeated)`);
  e.suppressed = 0;
}
