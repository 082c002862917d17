import { credentials, Metadata, status, type ClientReadableStream } from '@grpc/grpc-js';
import { ContentServiceClient, PostStatus, type Post, type WatchPostsResponse } from '../../gen/acme/content/v1/content';
import { UserServiceClient } from '../../gen/acme/user/v1/user';
import { silentLogger, type RunningService } from '../kit';
import { bearer, call, callError, forgeToken, tempDir } from '../test-support';
import { healthStatus, reflectionServices } from '../test-support/grpc-probes';
import { startUserService } from '../user/main';
import { issueAccessToken, loadOrCreateSigningKey } from '../user/signing-key';
import { startContentService } from './main';

// Two PGlite databases compile their WASM at start: on a loaded machine that alone can take 30 s.
const START_TIMEOUT_MS = 120_000;
const PASSWORD = 'correct horse battery';
type Who = { id: bigint; token: string };

describe('ContentService over gRPC', () => {
  const dir = tempDir();
  let users: RunningService;
  let content: RunningService;
  let userClient: UserServiceClient;
  let client: ContentServiceClient;
  let admin: Who;
  let alice: Who;
  let bob: Who;

  const startContent = () =>
    startContentService({ contentAddr: '127.0.0.1:0', userServiceTarget: users.address, dataDir: dir.path, databaseUrl: undefined }, silentLogger);
  const signUp = async (email: string): Promise<Who> => {
    await call(userClient.createUser.bind(userClient), { email, displayName: email, password: PASSWORD });
    const res = await call(userClient.login.bind(userClient), { email, password: PASSWORD });
    return { id: res.user!.id, token: res.accessToken };
  };
  const create = (who: Who, title: string, tags: string[] = []) =>
    call(client.createPost.bind(client), { post: { ...emptyPost(), title, body: `body of ${title}`, tags } }, bearer(who.token)).then((r) => r.post!);
  const publish = (who: Who, id: bigint) => call(client.publishPost.bind(client), { id }, bearer(who.token)).then((r) => r.post!);
  const get = (id: bigint, who?: Who) => callError(client.getPost.bind(client), { id, name: '' }, who && bearer(who.token));

  beforeAll(async () => {
    users = await startUserService({ userAddr: '127.0.0.1:0', dataDir: dir.path, databaseUrl: undefined, userAdminEmails: ['root@example.com'] }, silentLogger);
    userClient = new UserServiceClient(users.address, credentials.createInsecure());
    content = await startContent();
    client = new ContentServiceClient(content.address, credentials.createInsecure());
    [admin, alice, bob] = await Promise.all(['root@example.com', 'alice@example.com', 'bob@example.com'].map(signUp));
  }, START_TIMEOUT_MS);
  afterAll(async () => {
    client.close();
    userClient.close();
    await content.close();
    await users.close();
    dir.remove();
  });

  it('reports SERVING and lists itself through reflection', async () => {
    expect(await healthStatus(content.address, 'acme.content.v1.ContentService')).toBe('SERVING');
    expect(await reflectionServices(content.address, 'v1')).toEqual([
      'acme.content.v1.ContentService',
      'grpc.health.v1.Health',
      'grpc.reflection.v1.ServerReflection',
      'grpc.reflection.v1alpha.ServerReflection',
    ]);
  });

  describe('CreatePost and GetPost', () => {
    it('creates a draft authored by the caller, visible to author and admins only', async () => {
      const post = await create(alice, ' Hello ', ['news', 'news', 'tech']);
      expect(post).toMatchObject({ authorId: alice.id, title: 'Hello', tags: ['news', 'tech'], status: PostStatus.POST_STATUS_DRAFT, publishTime: undefined });
      expect(post.id > 2n ** 53n).toBe(true);
      const own = await call(client.getPost.bind(client), { id: post.id, name: '' }, bearer(alice.token));
      expect(own.post!.id).toBe(post.id);
      await call(client.getPost.bind(client), { id: post.id, name: '' }, bearer(admin.token));
      expect((await get(post.id, bob)).code).toBe(status.NOT_FOUND);
      expect((await get(post.id)).code).toBe(status.NOT_FOUND);
    });

    it('reads by resource name users/{author_id}/posts/{id}', async () => {
      const post = await publish(alice, (await create(alice, 'named')).id);
      const byName = await call(client.getPost.bind(client), { id: 0n, name: `users/${alice.id}/posts/${post.id}` });
      expect(byName.post).toEqual(post);
      const wrongAuthor = await callError(client.getPost.bind(client), { id: 0n, name: `users/${bob.id}/posts/${post.id}` });
      expect(wrongAuthor.code).toBe(status.NOT_FOUND);
      const bad = await callError(client.getPost.bind(client), { id: 0n, name: 'posts/1' });
      expect(bad.code).toBe(status.INVALID_ARGUMENT);
      expect(bad.decoded?.fieldViolations[0].field).toBe('name');
    });

    it('requires a token to create and validates every field', async () => {
      expect((await callError(client.createPost.bind(client), { post: { ...emptyPost(), title: 't' } })).code).toBe(status.UNAUTHENTICATED);
      const err = await callError(client.createPost.bind(client), { post: { ...emptyPost(), title: '', tags: ['Bad Tag'] } }, bearer(alice.token));
      expect(err.code).toBe(status.INVALID_ARGUMENT);
      // The proto's rules (tags) and the service's own checks (a title is required on create) answer together.
      expect(err.decoded?.fieldViolations.map((v) => v.field).sort()).toEqual(['post.tags[0]', 'post.title']);
      expect((await callError(client.getPost.bind(client), { id: 0n, name: '' })).code).toBe(status.INVALID_ARGUMENT);
      expect((await get(2n ** 62n, admin)).code).toBe(status.NOT_FOUND);
    });
  });

  describe('PublishPost', () => {
    it('publishes once; again is FAILED_PRECONDITION; others may not', async () => {
      const draft = await create(alice, 'to publish');
      expect((await callError(client.publishPost.bind(client), { id: draft.id }, bearer(bob.token))).code).toBe(status.NOT_FOUND);
      const post = await publish(alice, draft.id);
      expect(post.status).toBe(PostStatus.POST_STATUS_PUBLISHED);
      expect(post.publishTime!.seconds).toBeGreaterThan(0n);
      const again = await callError(client.publishPost.bind(client), { id: draft.id }, bearer(alice.token));
      expect(again.code).toBe(status.FAILED_PRECONDITION);
      expect(again.decoded?.errorInfo?.reason).toBe('ALREADY_PUBLISHED');
      expect((await callError(client.publishPost.bind(client), { id: draft.id }, bearer(bob.token))).code).toBe(status.PERMISSION_DENIED);
      await call(client.getPost.bind(client), { id: draft.id, name: '' });
    });
  });

  describe('ListPosts', () => {
    let tagged: Post[];
    beforeAll(async () => {
      tagged = [];
      for (let i = 0; i < 5; i++) tagged.push(await create(bob, `list ${i}`, ['paged']));
      for (const p of tagged.slice(0, 4)) await publish(bob, p.id);
    });

    const list = (who: Who | undefined, req: { authorId?: bigint; status?: PostStatus; tag?: string; pageSize?: number; pageToken?: string }) =>
      call(client.listPosts.bind(client), { authorId: 0n, status: 0, tag: '', pageSize: 0, pageToken: '', ...req }, who && bearer(who.token));

    it('shows anonymous callers only published posts, newest first', async () => {
      const res = await list(undefined, { tag: 'paged' });
      expect(res.posts.map((p) => p.title)).toEqual(['list 3', 'list 2', 'list 1', 'list 0']);
    });

    it('shows authors their own drafts, and filters by author and status', async () => {
      const own = await list(bob, { tag: 'paged', status: PostStatus.POST_STATUS_DRAFT });
      expect(own.posts.map((p) => p.title)).toEqual(['list 4']);
      const others = await list(alice, { authorId: bob.id, status: PostStatus.POST_STATUS_DRAFT });
      expect(others.posts).toEqual([]);
      const byAdmin = await list(admin, { authorId: bob.id });
      expect(byAdmin.posts).toHaveLength(5);
    });

    it('pages with opaque tokens bound to the filters', async () => {
      const titles: string[] = [];
      let pageToken = '';
      do {
        const page = await list(bob, { tag: 'paged', pageSize: 2, pageToken });
        titles.push(...page.posts.map((p) => p.title));
        pageToken = page.nextPageToken;
        if (pageToken) {
          const err = await callError(client.listPosts.bind(client), { authorId: 0n, status: 0, tag: 'other', pageSize: 2, pageToken });
          expect(err.code).toBe(status.INVALID_ARGUMENT);
        }
      } while (pageToken);
      expect(titles).toEqual(['list 4', 'list 3', 'list 2', 'list 1', 'list 0']);
    });
  });

  describe('UpdatePost and DeletePost', () => {
    const patch = (who: Who, post: Partial<Post> & { id: bigint }, paths: string[]) =>
      callError(client.updatePost.bind(client), { post: { ...emptyPost(), ...post }, updateMask: paths }, bearer(who.token));

    it('changes only masked fields, for author and admin', async () => {
      const post = await create(alice, 'original', ['a']);
      const { post: updated } = await call(
        client.updatePost.bind(client),
        { post: { ...emptyPost(), id: post.id, title: 'changed', body: 'ignored' }, updateMask: ['title'] },
        bearer(alice.token),
      );
      expect(updated).toMatchObject({ title: 'changed', body: 'body of original', tags: ['a'] });
      const byAdmin = await call(
        client.updatePost.bind(client),
        { post: { ...emptyPost(), id: post.id, tags: ['b'] }, updateMask: ['tags'] },
        bearer(admin.token),
      );
      expect(byAdmin.post!.tags).toEqual(['b']);
    });

    it('refuses others and bad masks', async () => {
      const post = await publish(alice, (await create(alice, 'guarded')).id);
      expect((await patch(bob, { id: post.id, title: 'x' }, ['title'])).code).toBe(status.PERMISSION_DENIED);
      const empty = await patch(alice, { id: post.id }, []);
      expect(empty.code).toBe(status.INVALID_ARGUMENT);
      expect(empty.decoded?.fieldViolations[0].field).toBe('update_mask');
      expect((await patch(alice, { id: post.id }, ['status'])).code).toBe(status.INVALID_ARGUMENT);
      expect((await patch(alice, { id: 2n ** 62n, title: 'x' }, ['title'])).code).toBe(status.NOT_FOUND);
    });

    it('deletes for author or admin; others get PERMISSION_DENIED', async () => {
      const post = await publish(alice, (await create(alice, 'doomed')).id);
      expect((await callError(client.deletePost.bind(client), { id: post.id }, bearer(bob.token))).code).toBe(status.PERMISSION_DENIED);
      await call(client.deletePost.bind(client), { id: post.id }, bearer(alice.token));
      expect((await get(post.id, alice)).code).toBe(status.NOT_FOUND);
      expect((await callError(client.deletePost.bind(client), { id: post.id }, bearer(admin.token))).code).toBe(status.NOT_FOUND);
    });
  });

  describe('WatchPosts', () => {
    it('streams matching posts published after subscribing, and ends on cancel', async () => {
      const stream: ClientReadableStream<WatchPostsResponse> = client.watchPosts({ authorId: 0n, tag: 'live' });
      await new Promise((resolve) => stream.once('metadata', resolve));
      const received = new Promise<Post>((resolve) => stream.once('data', (msg: WatchPostsResponse) => resolve(msg.post!)));
      await publish(alice, (await create(alice, 'not watched', ['other'])).id);
      const watched = await publish(alice, (await create(alice, 'watched', ['live'])).id);
      expect(await received).toEqual(watched);
      const ended = new Promise<number>((resolve) => stream.on('error', (err: { code: number }) => resolve(err.code)));
      stream.cancel();
      expect(await ended).toBe(status.CANCELLED);
    });

    it('verifies a token sent to it', async () => {
      const stream = client.watchPosts({ authorId: 0n, tag: '' }, bearer('garbage'));
      const code = await new Promise<number>((resolve) => stream.on('error', (err: { code: number }) => resolve(err.code)));
      expect(code).toBe(status.UNAUTHENTICATED);
    });
  });

  describe('token verification with the user service keys', () => {
    it('rejects missing, garbage, expired and foreign-key tokens', async () => {
      const createWith = (md?: Metadata) => callError(client.createPost.bind(client), { post: { ...emptyPost(), title: 't' } }, md);
      expect((await createWith()).code).toBe(status.UNAUTHENTICATED);
      expect((await createWith(bearer('garbage'))).code).toBe(status.UNAUTHENTICATED);

      const key = await loadOrCreateSigningKey(dir.path);
      const expired = await issueAccessToken(key, alice.id, 'user', 1, -60);
      const err = await createWith(bearer(expired.token));
      expect(err.code).toBe(status.UNAUTHENTICATED);
      expect(err.decoded?.errorInfo?.reason).toBe('TOKEN_EXPIRED');

      for (const kid of [key.kid, 'unknown-kid']) {
        const forged = await forgeToken(kid, alice.id);
        expect((await createWith(bearer(forged))).code).toBe(status.UNAUTHENTICATED);
      }
    });
  });

  it('keeps posts across a restart', async () => {
    const post = await publish(alice, (await create(alice, 'durable')).id);
    client.close();
    await content.close();
    content = await startContent();
    client = new ContentServiceClient(content.address, credentials.createInsecure());
    const read = await call(client.getPost.bind(client), { id: post.id, name: '' });
    expect(read.post).toEqual(post);
  });
});

function emptyPost(): Post {
  return {
    id: 0n,
    authorId: 0n,
    title: '',
    body: '',
    tags: [],
    status: PostStatus.POST_STATUS_UNSPECIFIED,
    createTime: undefined,
    updateTime: undefined,
    publishTime: undefined,
  };
}
