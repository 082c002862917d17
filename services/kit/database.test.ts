import { dropSchema, tempDir, testBackends, uniqueSchema } from '../test-support';
import { isUniqueViolation, openDatabase, type Database } from './database';
import type { Migration } from './migrations';

const migrations: Migration[] = [
  { version: 1, name: 'things', sql: "CREATE TABLE things (id bigint PRIMARY KEY, name text NOT NULL UNIQUE, tags text[] NOT NULL DEFAULT '{}')" },
  { version: 2, name: 'things-created', sql: 'ALTER TABLE things ADD COLUMN created timestamptz NOT NULL DEFAULT now()' },
];

describe.each(testBackends())('database on $name', ({ databaseUrl }) => {
  const dir = tempDir();
  const schema = uniqueSchema('kit');
  const open = () => openDatabase({ databaseUrl, pgliteDir: dir.path, schema, migrations });
  let db: Database;

  beforeAll(async () => {
    db = await open();
  }, 120_000); // PGlite's first open compiles its WebAssembly
  afterAll(async () => {
    await db.close();
    await dropSchema(databaseUrl, schema);
    dir.remove();
  });

  it('applies migrations once and records them', async () => {
    const rows = await db.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
    expect(rows.map((r) => Number(r.version))).toEqual([1, 2]);
  });

  it('round-trips int64 beyond 2^53 exactly and arrays', async () => {
    const id = 2n ** 62n + 7n;
    await db.query('INSERT INTO things (id, name, tags) VALUES ($1, $2, $3)', [id, 'a', ['x', 'y']]);
    const [row] = await db.query<{ id: unknown; tags: string[]; created: Date }>('SELECT id, tags, created FROM things WHERE id = $1', [id]);
    expect(BigInt(row.id as string)).toBe(id);
    expect(row.tags).toEqual(['x', 'y']);
    expect(Number.isNaN(new Date(row.created).getTime())).toBe(false);
  });

  it('reports unique violations from either driver', async () => {
    const err = await db.query('INSERT INTO things (id, name) VALUES ($1, $2)', [1n, 'a']).catch((e: unknown) => e);
    expect(isUniqueViolation(err)).toBe(true);
  });

  it('rolls back a failed transaction', async () => {
    await expect(
      db.transaction(async (tx) => {
        await tx.query('INSERT INTO things (id, name) VALUES ($1, $2)', [2n, 'b']);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await db.query('SELECT id FROM things WHERE id = $1', [2n])).toEqual([]);
  });

  it('keeps data and migrations across a reopen', async () => {
    await db.close();
    db = await open();
    const rows = await db.query<{ name: string }>('SELECT name FROM things');
    expect(rows.map((r) => r.name)).toEqual(['a']);
  });

  it('rejects a bad schema name', async () => {
    await expect(openDatabase({ pgliteDir: dir.path, schema: 'bad-name; drop', migrations })).rejects.toThrow('invalid schema name');
  });
});
