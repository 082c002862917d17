import { createIdGenerator, openDatabase, type Database } from '../kit';
import { Role } from '../../gen/acme/user/v1/user';
import { dropSchema, tempDir, testBackends, uniqueSchema } from '../test-support';
import { EMAIL_TAKEN, UserStore, userMigrations, type UserRecord } from './user-store';

describe.each(testBackends())('UserStore on $name', ({ databaseUrl }) => {
  const dir = tempDir();
  const schema = uniqueSchema('user');
  const nextId = createIdGenerator();
  let db: Database;
  let store: UserStore;

  const record = (email: string): UserRecord => {
    const now = new Date();
    return { id: nextId(), email, displayName: email.split('@')[0], role: Role.ROLE_USER, passwordHash: 'h', createTime: now, updateTime: now };
  };

  beforeAll(async () => {
    db = await openDatabase({ databaseUrl, pgliteDir: dir.path, schema, migrations: userMigrations });
    store = new UserStore(db);
  });
  afterAll(async () => {
    await db.close();
    await dropSchema(databaseUrl, schema);
    dir.remove();
  });

  it('inserts and reads back an account with an exact int64 id', async () => {
    const rec = record('ann@example.com');
    expect(rec.id > 2n ** 53n).toBe(true);
    expect(await store.insert(rec)).toEqual(rec);
    expect(await store.get(rec.id)).toEqual(rec);
    expect(await store.getByEmail('ANN@example.com')).toEqual(rec);
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

  it('deletes once', async () => {
    const rec = record('gone@example.com');
    await store.insert(rec);
    expect(await store.delete(rec.id)).toBe(true);
    expect(await store.delete(rec.id)).toBe(false);
    expect(await store.get(rec.id)).toBeUndefined();
  });
});
