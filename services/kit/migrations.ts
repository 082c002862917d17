/** A tiny forward-only migration runner: numbered SQL scripts recorded in `schema_migrations`. */
import type { Database } from './database';

/** One schema change; versions are applied in ascending order, each exactly once. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Applies every migration not yet recorded, in one transaction, serialized across processes. */
export async function applyMigrations(db: Database, migrations: readonly Migration[]): Promise<void> {
  const sorted = [...migrations].sort((a, b) => a.version - b.version);
  sorted.forEach((m, i) => {
    if (i > 0 && sorted[i - 1].version === m.version) throw new Error(`duplicate migration version ${m.version}`);
  });
  await db.transaction(async (tx) => {
    // Two instances starting at once on one PostgreSQL must not both migrate.
    await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`migrations:${db.schema}`]);
    await tx.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const rows = await tx.query<{ version: number }>('SELECT version FROM schema_migrations');
    const applied = new Set(rows.map((r) => Number(r.version)));
    for (const m of sorted) {
      if (applied.has(m.version)) continue;
      await tx.exec(m.sql);
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
    }
  });
}
