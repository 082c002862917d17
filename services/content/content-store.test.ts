import { createIdGenerator, openDatabase, type Database } from '../kit';
import { PostEventType, PostStatus } from '../../gen/acme/content/v1/content';
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
  }, 120_000); // PGlite compiles its WebAssembly on first open: over a minute on a loaded machine
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

  describe('the outbox', () => {
    const { CREATED, PUBLISHED, DELETED } = {
      CREATED: PostEventType.POST_EVENT_TYPE_CREATED,
      PUBLISHED: PostEventType.POST_EVENT_TYPE_PUBLISHED,
      DELETED: PostEventType.POST_EVENT_TYPE_DELETED,
    };
    const lastSequence = async () => {
      let after = 0n;
      for (let page = await store.events(0n, 100); page.length > 0; page = await store.events(after, 100)) after = page[page.length - 1].sequence;
      return after;
    };

    it('records created, published and deleted in the order they committed, with gapless sequences', async () => {
      const from = await lastSequence();
      const rec = await store.insert(draft(bob, 'evented'));
      await store.publish(rec.id, new Date());
      await store.update(rec.id, { title: 'renamed' }, new Date());
      await store.delete(rec.id);
      expect(await store.publish(rec.id, new Date())).toBeUndefined();
      expect(await store.delete(rec.id)).toBe(false);
      const events = await store.events(from, 100);
      expect(events.map((e) => [e.sequence - from, e.type, e.postId, e.authorId, e.postStatus])).toEqual([
        [1n, CREATED, rec.id, bob, PostStatus.POST_STATUS_DRAFT],
        [2n, PUBLISHED, rec.id, bob, PostStatus.POST_STATUS_PUBLISHED],
        [3n, DELETED, rec.id, bob, PostStatus.POST_STATUS_PUBLISHED],
      ]);
      expect(await store.events(from, 2)).toHaveLength(2);
    });

    it('records nothing for a change that rolled back', async () => {
      const from = await lastSequence();
      const rec = await store.insert(draft(alice, 'once'));
      await expect(store.insert({ ...rec, title: 'same id' })).rejects.toMatchObject({ code: '23505' });
      const events = await store.events(from, 100);
      expect(events.map((e) => [e.sequence - from, e.type])).toEqual([[1n, CREATED]]);
      // The sequence the failed insert took is handed out again: still no gap.
      await store.delete(rec.id);
      expect((await store.events(from, 100)).map((e) => e.sequence - from)).toEqual([1n, 2n]);
    });

    it('keeps sequences gapless and unique under concurrent writers', async () => {
      const from = await lastSequence();
      const posts = await Promise.all(Array.from({ length: 20 }, (_, i) => store.insert(draft(i % 2 ? alice : bob, `c${i}`))));
      await Promise.all(posts.map((p, i) => (i % 2 ? store.publish(p.id, new Date()) : store.delete(p.id))));
      const events = await store.events(from, 100);
      expect(events.map((e) => e.sequence - from)).toEqual(Array.from({ length: 40 }, (_, i) => BigInt(i + 1)));
      await Promise.all(posts.filter((_, i) => i % 2).map((p) => store.delete(p.id)));
    });

    it('gives posts from before the outbox one creation event each, at their current status', async () => {
      const d = tempDir();
      const sch = uniqueSchema('content');
      const m1 = contentMigrations.filter((m) => m.version === 1);
      const old = await openDatabase({ databaseUrl, pgliteDir: d.path, schema: sch, migrations: m1 });
      const [a, b] = [draft(alice, 'old draft'), { ...draft(bob, 'old published'), status: PostStatus.POST_STATUS_PUBLISHED }];
      for (const p of [a, b]) {
        await old.query('INSERT INTO posts (id, author_id, title, body, status, create_time, update_time) VALUES ($1, $2, $3, $4, $5, $6, $6)', [
          p.id,
          p.authorId,
          p.title,
          p.body,
          p.status,
          p.createTime,
        ]);
      }
      await old.close();
      const migrated = await openDatabase({ databaseUrl, pgliteDir: d.path, schema: sch, migrations: contentMigrations });
      try {
        const s2 = new PostStore(migrated);
        await s2.insert(draft(alice, 'new'));
        const events = await s2.events(0n, 10);
        expect(events.map((e) => [e.sequence, e.type, e.postId, e.postStatus])).toEqual([
          [1n, CREATED, a.id, PostStatus.POST_STATUS_DRAFT],
          [2n, CREATED, b.id, PostStatus.POST_STATUS_PUBLISHED],
          [3n, CREATED, expect.any(BigInt), PostStatus.POST_STATUS_DRAFT],
        ]);
      } finally {
        await migrated.close();
        await dropSchema(databaseUrl, sch);
        d.remove();
      }
    });
  });
});
