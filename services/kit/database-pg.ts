/** The server driver: node-postgres against a real PostgreSQL (DATABASE_URL). */
import { Pool, type PoolClient } from 'pg';
import type { Database, Queryable } from './database';
import { toSqlParams } from './sql-params';

const POOL_SIZE = 5;

/** Opens a small pool whose sessions all have `schema` as their search_path. */
export async function openPgDatabase(url: string, schema: string): Promise<Database> {
  const pool = new Pool({ connectionString: url, max: POOL_SIZE, options: `-c search_path=${schema}` });
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', () => {});
  const client = await pool.connect();
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
  } catch (err) {
    // Another process creating the same schema at the same time is fine.
    if ((err as { code?: string }).code !== '23505') throw err;
  } finally {
    client.release();
  }
  return {
    driver: 'pg',
    schema,
    ...queryable(pool),
    transaction: async (fn) => {
      const tx = await pool.connect();
      try {
        await tx.query('BEGIN');
        const result = await fn(queryable(tx));
        await tx.query('COMMIT');
        return result;
      } catch (err) {
        await tx.query('ROLLBACK').catch(() => {});
        throw err;
      } finally {
        tx.release();
      }
    },
    close: () => pool.end(),
  };
}

function queryable(target: Pool | PoolClient): Queryable {
  return {
    query: async <R>(sql: string, params?: readonly unknown[]) => (await target.query(sql, toSqlParams(params))).rows as R[],
    exec: async (sql: string) => {
      // Without parameters node-postgres uses the simple protocol, which runs several statements.
      await target.query(sql);
    },
  };
}
