import { createIdGenerator, openDatabase, type Database } from '../kit';
import { Role } from '../../gen/acme/user/v1/user';
import { dropSchema, tempDir, testBackends, uniqueSchema } from '../test-support';
import { EMAIL_TAKEN, EventGapError, UserStore, userMigrations, type NewUser, type UserRecord } from './user-store';

describe.each(testBackends())('UserStore on $name', ({ databaseUrl }) => {
  const dir = tempDir();
  const schema = uniqueSchema('user');
  const nextId = createIdGenerator();
  let db: Database;
  let store: UserStore;

  const record = (email: string, bootstrapAdmin = false): NewUser => {
    const now = new Date();
    return { id: nextId(), email, displayName: email.split('@')[0], bootstrapAdmin, passwordHash: 'h', createTime: now, updateTime: now };
  };
  const stored = ({ bootstrapAdmin: _, ...rec }: NewUser, role = Role.ROLE_USER): UserRecord => ({
    ...rec,
    role,
    tokenVersion: 1,
    postCount: 0,
    publishedPostCount: 0,
  });

  beforeAll(async () => {
    db = await openDatabase({ databaseUrl, pgliteDir: dir.path, schema, migrations: userMigrations });
    store = new UserStore(db);
  }, 120_000); // PGlite compiles its WebAssembly on first open: over a minute on a loaded machine
  const extra: { dir: ReturnType<typeof tempDir>; schema: string }[] = [];
  const freshStore = async () => {
    const d = tempDir();
    const sch = uniqueSchema('user');
    extra.push({ dir: d, schema: sch });
    const fresh = await openDatabase({ databaseUrl, pgliteDir: d.path, schema: sch, migrations: userMigrations });
    return { db: fresh, store: new UserStore(fresh), close: () => fresh.close() };
  };

  afterAll(async () => {
    for (const e of extra) {
      await dropSchema(databaseUrl, e.schema);
      e.dir.remove();
    }
    await db.close();
    await dropSchema(databaseUrl, schema);
    dir.remove();
  });

  it('inserts and reads back an account with an exact int64 id', async () => {
    const rec = record('ann@example.com');
    expect(rec.id > 2n ** 53n).toBe(true);
    expect(await store.insert(rec)).toEqual(stored(rec));
    expect(await store.get(rec.id)).toEqual(stored(rec));
    expect(await store.getByEmail('ANN@example.com')).toEqual(stored(rec));
    expect(await store.get(rec.id + 1n)).toBeUndefined();
  });

  it('refuses an email taken in another case', async () => {
    expect(await store.insert(record('Ann@Example.com'))).toBe(EMAIL_TAKEN);
  });

  it('lists oldest first, page by page', async () => {
    for (const n of ['b', 'c', 'd']) await store.insert(record(`${n}@example.com`));
    const first = await store.list(undefined, 2);
    expect(first.users.map((u) => u.email)).toEqual(['ann@example.com', 'b@example.com']);
    expect(first.more).toBe(true);
    const second = await store.list(first.users[1].id, 2);
    expect(second.users.map((u) => u.email)).toEqual(['c@example.com', 'd@example.com']);
    expect(second.more).toBe(false);
  });

  it('updates named fields and reports clashes and missing rows', async () => {
    const rec = record('eve@example.com');
    await store.insert(rec);
    const later = new Date(rec.updateTime.getTime() + 1000);
    const updated = await store.update(rec.id, { displayName: 'Eve', role: Role.ROLE_ADMIN }, later);
    expect(updated).toMatchObject({ displayName: 'Eve', role: Role.ROLE_ADMIN, email: 'eve@example.com', updateTime: later });
    expect(await store.update(rec.id, { email: 'B@example.com' }, later)).toBe(EMAIL_TAKEN);
    expect(await store.update(1n, { displayName: 'x' }, later)).toBeUndefined();
  });

  it('bumps the token version only when the role really changes', async () => {
    const rec = record('vera@example.com');
    await store.insert(rec);
    const now = new Date();
    expect(await store.update(rec.id, { displayName: 'Vera' }, now)).toMatchObject({ tokenVersion: 1 });
    expect(await store.update(rec.id, { role: Role.ROLE_USER }, now)).toMatchObject({ tokenVersion: 1 });
    expect(await store.update(rec.id, { role: Role.ROLE_ADMIN }, now)).toMatchObject({ tokenVersion: 2 });
    expect(await store.update(rec.id, { role: Role.ROLE_USER, displayName: 'V' }, now)).toMatchObject({ tokenVersion: 3 });
    expect(await store.state(rec.id)).toEqual({ role: Role.ROLE_USER, tokenVersion: 3 });
    expect(await store.state(1n)).toBeUndefined();
  });

  it('grants a bootstrap admin only while no admin exists, once under concurrency', async () => {
    const { store: s2, close } = await freshStore();
    try {
      const results = await Promise.all(['a1@example.com', 'a2@example.com', 'a3@example.com'].map((e) => s2.insert(record(e, true))));
      expect(results.filter((r) => r !== EMAIL_TAKEN && r.role === Role.ROLE_ADMIN)).toHaveLength(1);
      // The admin moving away from the configured address does not free it.
      const admin = results.find((r) => r !== EMAIL_TAKEN && r.role === Role.ROLE_ADMIN) as UserRecord;
      await s2.update(admin.id, { email: 'elsewhere@example.com' }, new Date());
      expect(await s2.insert(record(admin.email.toUpperCase(), true))).toMatchObject({ role: Role.ROLE_USER });
    } finally {
      await close();
    }
  });

  it('deletes once', async () => {
    const rec = record('gone@example.com');
    await store.insert(rec);
    expect(await store.delete(rec.id)).toBe(true);
    expect(await store.delete(rec.id)).toBe(false);
    expect(await store.get(rec.id)).toBeUndefined();
  });

  it('applies post events once each, in order, with the cursor in the same transaction', async () => {
    const [ann, ben] = [record('pc-ann@example.com'), record('pc-ben@example.com')];
    await store.insert(ann);
    await store.insert(ben);
    const counts = async (id: bigint) => {
      const u = (await store.get(id))!;
      return [u.postCount, u.publishedPostCount];
    };
    const change = (sequence: bigint, authorId: bigint, posts: number, published: number) => ({ sequence, authorId, posts, published });
    expect(await store.postEventCursor()).toBe(0n);
    expect(await store.applyPostEvents([change(1n, ann.id, 1, 0), change(2n, ann.id, 0, 1), change(3n, ben.id, 1, 0)])).toBe(3);
    expect(await store.postEventCursor()).toBe(3n);
    // A replay (the consumer reconnected from an older cursor) counts nothing twice.
    expect(await store.applyPostEvents([change(2n, ann.id, 0, 1), change(3n, ben.id, 1, 0), change(4n, ben.id, 1, 0)])).toBe(1);
    expect([await counts(ann.id), await counts(ben.id)]).toEqual([
      [1, 1],
      [2, 0],
    ]);
    // A gap means an event was missed: nothing of the batch is applied.
    await expect(store.applyPostEvents([change(5n, ann.id, -1, -1), change(7n, ann.id, 1, 0)])).rejects.toBeInstanceOf(EventGapError);
    expect(await store.postEventCursor()).toBe(4n);
    expect(await counts(ann.id)).toEqual([1, 1]);
    // An author deleted meanwhile: the event still moves the cursor.
    await store.delete(ben.id);
    expect(await store.applyPostEvents([change(5n, ben.id, -1, 0)])).toBe(1);
    expect(await store.postEventCursor()).toBe(5n);
  });

  it('applies each event once when two consumers race on one database', async () => {
    const ann = record('pc-race@example.com');
    await store.insert(ann);
    const base = await store.postEventCursor();
    const changes = Array.from({ length: 30 }, (_, i) => ({ sequence: base + BigInt(i + 1), authorId: ann.id, posts: 1, published: 0 }));
    const chunks = [changes.slice(0, 10), changes.slice(0, 20), changes.slice(10, 20), changes.slice(0, 30), changes.slice(20, 30)];
    const results = await Promise.allSettled(chunks.map((c) => store.applyPostEvents(c)));
    // Whatever order they ran in, a batch applies only what follows the cursor (or fails on a gap and is retried).
    for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(EventGapError);
    await store.applyPostEvents(changes);
    expect((await store.get(ann.id))!.postCount).toBe(30);
  });
});
