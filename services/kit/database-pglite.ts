/**
 * The embedded driver: PGlite (Postgres compiled to WASM) persisted to a directory.
 *
 * PGlite runs in a worker thread. Its WASM work is synchronous and would otherwise stall the
 * gRPC event loop; and PGlite loads Node built-ins with dynamic import(), which works in a
 * worker's plain Node context but not inside jest's module sandbox.
 *
 * PGlite is one session, so the driver serializes statements itself: a transaction holds
 * the session from BEGIN to COMMIT/ROLLBACK and other statements wait their turn.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { Database, Queryable } from './database';
import { toSqlParams } from './sql-params';

// Plain JS run by the worker; kept inline so it works from sources (jest) and from dist/ alike.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { PGlite } = require(workerData.pglitePath);
const fail = (id, e) => parentPort.postMessage({ id, error: { message: String(e && e.message || e), code: e && e.code } });
PGlite.create(workerData.dir).then((db) => {
  parentPort.on('message', async ({ id, op, sql, params }) => {
    try {
      if (op === 'query') parentPort.postMessage({ id, rows: (await db.query(sql, params)).rows });
      else if (op === 'exec') { await db.exec(sql); parentPort.postMessage({ id }); }
      else if (op === 'close') { await db.close(); parentPort.postMessage({ id }); parentPort.close(); }
    } catch (e) { fail(id, e); }
  });
  parentPort.postMessage({ id: 0 });
}, (e) => fail(0, e));
`;

interface Reply {
  id: number;
  rows?: unknown[];
  error?: { message: string; code?: string };
}

/** A database error re-created on this side of the worker, keeping PostgreSQL's SQLSTATE `code`. */
class PgliteError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = 'PgliteError';
  }
}

/** Opens (creating if needed) a PGlite database in `dir` with `schema` on the search_path. */
export async function openPgliteDatabase(dir: string, schema: string): Promise<Database> {
  const absDir = resolve(dir);
  mkdirSync(absDir, { recursive: true });
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { dir: absDir, pglitePath: require.resolve('@electric-sql/pglite') } });
  const pending = new Map<number, { resolve(r: Reply): void; reject(e: Error): void }>();
  let nextId = 1;
  let failure: Error | undefined;

  const ready = new Promise<void>((res, rej) => pending.set(0, { resolve: () => res(), reject: rej }));
  worker.on('message', (reply: Reply) => {
    const waiter = pending.get(reply.id);
    pending.delete(reply.id);
    if (!waiter) return;
    if (reply.error) waiter.reject(new PgliteError(reply.error.message, reply.error.code));
    else waiter.resolve(reply);
  });
  const failAll = (err: Error) => {
    failure = err;
    for (const w of pending.values()) w.reject(err);
    pending.clear();
  };
  worker.on('error', failAll);
  worker.on('exit', () => failAll(new Error('PGlite worker exited')));

  const send = (op: 'query' | 'exec' | 'close', sql = '', params: unknown[] = []): Promise<Reply> => {
    if (failure) return Promise.reject(failure);
    const id = nextId++;
    return new Promise<Reply>((res, rej) => {
      pending.set(id, { resolve: res, reject: rej });
      worker.postMessage({ id, op, sql, params });
    });
  };
  const session: Queryable = {
    query: async <R>(sql: string, params?: readonly unknown[]) => (await send('query', sql, toSqlParams(params))).rows as R[],
    exec: async (sql: string) => {
      await send('exec', sql);
    },
  };

  // One statement or transaction at a time on the single session.
  let turn: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = turn.then(fn, fn);
    turn = run.catch(() => {});
    return run;
  };

  try {
    await ready;
    await session.exec(`CREATE SCHEMA IF NOT EXISTS "${schema}"; SET search_path TO "${schema}"`);
  } catch (err) {
    await worker.terminate();
    throw err;
  }

  return {
    driver: 'pglite',
    schema,
    query: (sql, params) => exclusive(() => session.query(sql, params)),
    exec: (sql) => exclusive(() => session.exec(sql)),
    transaction: (fn) =>
      exclusive(async () => {
        await session.exec('BEGIN');
        try {
          const result = await fn(session);
          await session.exec('COMMIT');
          return result;
        } catch (err) {
          await session.exec('ROLLBACK').catch(() => {});
          throw err;
        }
      }),
    close: () =>
      exclusive(async () => {
        await send('close').catch(() => {});
        await worker.terminate();
      }),
  };
}
