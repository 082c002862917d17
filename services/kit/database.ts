/**
 * The one repository layer's connection: the same SQL runs on embedded PGlite (default,
 * file-backed under the data dir) or on PostgreSQL (when a URL is given). Each service
 * owns one schema, selected with search_path, so unqualified table names in the stores
 * resolve to that service's tables.
 */
import { join } from 'node:path';
import type { Config } from './config';
import { openPgDatabase } from './database-pg';
import { openPgliteDatabase } from './database-pglite';
import { applyMigrations, type Migration } from './migrations';

/** A row as the drivers return it; stores convert columns explicitly. */
export type Row = Record<string, unknown>;

/** Something SQL can run on: the database or an open transaction. */
export interface Queryable {
  /** One statement with `$n` parameters; bigint parameters are sent as decimal text. */
  query<R = Row>(sql: string, params?: readonly unknown[]): Promise<R[]>;
  /** Several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

/** A service's database handle. */
export interface Database extends Queryable {
  readonly driver: 'pglite' | 'pg';
  readonly schema: string;
  /** Runs `fn` in a transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** PostgreSQL URL; when absent, PGlite is used. */
  databaseUrl?: string;
  /** PGlite's directory (ignored with PostgreSQL). */
  pgliteDir: string;
  /** Schema owning the service's tables, e.g. `acme_user`. */
  schema: string;
  migrations: readonly Migration[];
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** Opens the database, selects the schema and applies pending migrations. */
export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  if (!SCHEMA_NAME.test(options.schema)) throw new Error(`invalid schema name "${options.schema}"`);
  const db = options.databaseUrl ? await openPgDatabase(options.databaseUrl, options.schema) : await openPgliteDatabase(options.pgliteDir, options.schema);
  try {
    await applyMigrations(db, options.migrations);
  } catch (err) {
    await db.close();
    throw err;
  }
  return db;
}

/**
 * Opens a service's own database by the shared convention: PGlite under `<DATA_DIR>/<service>`,
 * or schema `<prefix>_<service>` on PostgreSQL when DATABASE_URL is set.
 */
export function openServiceDatabase(config: Config, service: string, migrations: readonly Migration[]): Promise<Database> {
  return openDatabase({
    databaseUrl: config.databaseUrl,
    pgliteDir: join(config.dataDir, service),
    schema: `${config.schemaPrefix}_${service}`,
    migrations,
  });
}

/** True for PostgreSQL's unique_violation (SQLSTATE 23505), from either driver. */
export function isUniqueViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === '23505';
}
