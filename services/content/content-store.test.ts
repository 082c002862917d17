import { createIdGenerator, openDatabase, type Database } from '../kit';
import { PostStatus } from '../../gen/acme/content/v1/content';
import { dropSchema, tempDir, testBackends, uniqueSchema } from '../test-support';
import { contentMigrations, PostStore, type PostRecord } from './content-store';

describe.each(testBackends())('PostStore on $name', ({ databaseUrl }) => {
  const dir = tempDir();
  const schema = uniqueSchema('content');
  const nextId = createIdGenerator();
  const alice = 2n ** 60n + 1n;
  const bob = 2n ** 60n + 2n;
  let db: Database;
  let store: PostStore;

  const draft = (authorId: bigint, title: string, tags: string[] = []): PostRecord => {
    const now = new Date();
    return { id: nextId(), authorId, title, body: '', tags, status: PostStatus.POST_STATUS_DRAFT, createTime: now, updateTime: now, publishTime: undefined };
  };
  const titles = (posts: PostRecord[]) => posts.map((p) => p.title);

  beforeAll(async () => {
    db = await openDatabase({ databaseUrl, pgliteDir: dir.path, schema, migrations: contentMigrations });
    store = new PostStore(db);
    for (const [author, title, tags] of [
      [alice, 'a1', ['x']],
      [alice, 'a2', ['y']],
      [bob, 'b1', ['x', 'y']],
      [bob, 'b2', []],
    ] as const) {
      const post = await store.insert(draft(author, title, [...tags]));
      if (title !== 'b2') await store.publish(post.id, new Date());
    }
  });
  afterAll(async () => {
    await db.close();
    await dropSchema(databaseUrl, schema);
    dir.remove();
  });

  it('round-trips a post with exact ids, tags and no publish time', async () => {
    const rec = draft(alice, 'roundtrip', ['t1', 't2']);
    expect(await store.insert(rec)).toEqual(rec);
    expect(await store.get(rec.id)).toEqual(rec);
    await store.delete(rec.id);
  });

  it('lists newest first with visibility and filters', async () => {
    const all = (extra: object = {}) => store.list({ viewer: { kind: 'all' }, limit: 10, ...extra });
    expect(titles((await all()).posts)).toEqual(['b2', 'b1', 'a2', 'a1']);
    expect(titles((await store.list({ viewer: { kind: 'anonymous' }, limit: 10 })).posts)).toEqual(['b1', 'a2', 'a1']);
    expect(titles((await store.list({ viewer: { kind: 'user', userId: bob }, limit: 10 })).posts)).toEqual(['b2', 'b1', 'a2', 'a1']);
    expect(titles((await store.list({ viewer: { kind: 'user', userId: alice }, limit: 10 })).posts)).toEqual(['b1', 'a2', 'a1']);
    expect(titles((await all({ authorId: alice })).posts)).toEqual(['a2', 'a1']);
    expect(titles((await all({ tag: 'x' })).posts)).toEqual(['b1', 'a1']);
    expect(titles((await all({ status: PostStatus.POST_STATUS_DRAFT })).posts)).toEqual(['b2']);
  });

  it('pages with a keyset cursor', async () => {
    const first = await store.list({ viewer: { kind: 'all' }, limit: 3 });
    expect(first.more).toBe(true);
    const rest = await store.list({ viewer: { kind: 'all' }, limit: 3, beforeId: first.posts[2].id });
    expect(titles(rest.posts)).toEqual(['a1']);
    expect(rest.more).toBe(false);
  });

  it('publishes a draft once and updates named fields', async () => {
    const rec = await store.insert(draft(alice, 'p'));
    const published = await store.publish(rec.id, new Date());
    expect(published).toMatchObject({ status: PostStatus.POST_STATUS_PUBLISHED, publishTime: expect.anything() });
    expect(await store.publish(rec.id, new Date())).toBeUndefined();
    expect(await store.update(rec.id, { title: 'q', tags: ['z'] }, new Date())).toMatchObject({ title: 'q', tags: ['z'], body: '' });
    expect(await store.update(1n, { title: 'q' }, new Date())).toBeUndefined();
    expect(await store.delete(rec.id)).toBe(true);
    expect(await store.delete(rec.id)).toBe(false);
  });
});
