/**
 * Post events between the services, in one process: the content service records each post
 * change in its outbox and streams it (WatchPostEvents, service credentials only); the user
 * service applies it to the author's counts. Both run as real gRPC servers on loopback and are
 * restarted here; the kill test with real processes is scripts/post-events-kill.test.ts.
 */
import { credentials, status, type ServiceError } from '@grpc/grpc-js';
import { generateKeyPair, SignJWT } from 'jose';
import { ContentServiceClient, PostEventType, PostStatus, type PostEvent, type WatchPostEventsResponse } from '../gen/acme/content/v1/content';
import { UserServiceClient } from '../gen/acme/user/v1/user';
import { freePort } from '../shared-kit/free-port';
import { decodeStatusDetails, silentLogger, type Config, type RunningService } from './kit';
import { startContentService } from './content/main';
import { bearer, call, tempDir } from './test-support';
import { startUserService } from './user/main';
import { issueServiceToken, loadOrCreateSigningKey } from './user/signing-key';

// Two PGlite databases compile their WASM at start: on a loaded machine that alone can take 30 s.
const START_TIMEOUT_MS = 120_000;
const PASSWORD = 'correct horse battery';
type Who = { id: bigint; token: string };

describe('post events from the content service to the user service', () => {
  const dir = tempDir();
  let config: Partial<Config>;
  let users: RunningService;
  let content: RunningService;
  let u: UserServiceClient;
  let c: ContentServiceClient;
  let admin: Who;
  let ann: Who;
  let ben: Who;

  const startUsers = () => startUserService(config, silentLogger);
  const startContent = () => startContentService(config, silentLogger);
  const signUp = async (email: string): Promise<Who> => {
    await call(u.createUser.bind(u), { email, displayName: email.split('@')[0], password: PASSWORD });
    const res = await call(u.login.bind(u), { email, password: PASSWORD });
    return { id: res.user!.id, token: res.accessToken };
  };
  const create = async (who: Who, title = 't') =>
    (
      await call(
        c.createPost.bind(c),
        { post: { id: 0n, authorId: 0n, title, body: '', tags: [], status: 0, createTime: undefined, updateTime: undefined, publishTime: undefined } },
        bearer(who.token),
      )
    ).post!.id;
  const publish = (who: Who, id: bigint) => call(c.publishPost.bind(c), { id }, bearer(who.token));
  const remove = (who: Who, id: bigint) => call(c.deletePost.bind(c), { id }, bearer(who.token));
  const counts = async (who: Who) => {
    const { user } = await call(u.getUser.bind(u), { id: who.id }, bearer(admin.token));
    return [user!.postCount, user!.publishedPostCount];
  };
  /** Waits until `who`'s counts are `expected` (the consumer applies events asynchronously). */
  const eventually = async (who: Who, expected: number[], timeoutMs = 20_000) => {
    const deadline = Date.now() + timeoutMs;
    let seen = await counts(who);
    while (JSON.stringify(seen) !== JSON.stringify(expected) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      seen = await counts(who);
    }
    expect(seen).toEqual(expected);
  };
  /** The first `n` events after `after`, read with `token`. */
  const watch = (token: string, after: bigint, n: number): Promise<PostEvent[]> =>
    new Promise((resolve, reject) => {
      const got: PostEvent[] = [];
      const stream = c.watchPostEvents({ afterSequence: after }, bearer(token));
      stream.on('data', (res: WatchPostEventsResponse) => {
        got.push(res.event!);
        if (got.length === n) {
          stream.cancel();
          resolve(got);
        }
      });
      stream.on('error', (err: ServiceError) => (err.code === status.CANCELLED ? undefined : reject(err)));
    });

  beforeAll(async () => {
    // Fixed ports: each service is restarted below and the other must find it again.
    const [userAddr, contentAddr] = [`127.0.0.1:${await freePort()}`, `127.0.0.1:${await freePort()}`];
    const [userServiceTarget, contentServiceTarget] = [userAddr, contentAddr];
    config = {
      dataDir: dir.path,
      databaseUrl: undefined,
      userAdminEmails: ['root@example.com'],
      userAddr,
      contentAddr,
      userServiceTarget,
      contentServiceTarget,
    };
    users = await startUsers();
    content = await startContent();
    u = new UserServiceClient(users.address, credentials.createInsecure());
    c = new ContentServiceClient(content.address, credentials.createInsecure());
    [admin, ann, ben] = await Promise.all(['root@example.com', 'ann@example.com', 'ben@example.com'].map(signUp));
  }, START_TIMEOUT_MS);
  afterAll(async () => {
    u.close();
    c.close();
    await content.close();
    await users.close();
    dir.remove();
  });

  it('counts created, published and deleted posts per author', async () => {
    const [a1, a2, b1] = [await create(ann), await create(ann), await create(ben)];
    await publish(ann, a1);
    await eventually(ann, [2, 1]);
    await eventually(ben, [1, 0]);
    await remove(ann, a1);
    await remove(ann, a2);
    await publish(ben, b1);
    await eventually(ann, [0, 0]);
    await eventually(ben, [1, 1]);
  });

  it('streams WatchPostEvents only to service credentials', async () => {
    const key = await loadOrCreateSigningKey(dir.path);
    const service = await issueServiceToken(key, 'user', 60);
    const refused = async (token: string | undefined) => {
      const stream = c.watchPostEvents({ afterSequence: 0n }, token === undefined ? undefined : bearer(token));
      const err = await new Promise<ServiceError>((resolve) => stream.on('error', resolve));
      return [err.code, decodeStatusDetails(err.metadata)?.errorInfo?.reason];
    };
    // A service credential signed by a key nobody trusts, with the trusted key's kid.
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const forged = await new SignJWT({})
      .setProtectedHeader({ alg: 'EdDSA', kid: key.kid })
      .setSubject('service:user')
      .setIssuer('acme-user')
      .setAudience('acme-services')
      .setExpirationTime('1h')
      .sign(privateKey);
    // No token, access tokens (an admin's too) and the forged credential are refused.
    for (const token of [undefined, admin.token, ann.token, forged]) {
      expect(await refused(token)).toEqual([status.UNAUTHENTICATED, expect.stringMatching(/^(SERVICE_CREDENTIAL_REQUIRED|TOKEN_INVALID)$/)]);
    }
    // And a service credential is not an access token.
    await expect(call(u.getUser.bind(u), { id: ann.id }, bearer(service))).rejects.toMatchObject({ code: status.UNAUTHENTICATED });

    // Replays from the cursor, in order, gapless: the seven events of the test above.
    const { CREATED, PUBLISHED, DELETED } = {
      CREATED: PostEventType.POST_EVENT_TYPE_CREATED,
      PUBLISHED: PostEventType.POST_EVENT_TYPE_PUBLISHED,
      DELETED: PostEventType.POST_EVENT_TYPE_DELETED,
    };
    const [DRAFT, LIVE] = [PostStatus.POST_STATUS_DRAFT, PostStatus.POST_STATUS_PUBLISHED];
    const events = await watch(service, 0n, 7);
    expect(events.map((e) => [e.sequence, e.type, e.authorId, e.postStatus])).toEqual([
      [1n, CREATED, ann.id, DRAFT],
      [2n, CREATED, ann.id, DRAFT],
      [3n, CREATED, ben.id, DRAFT],
      [4n, PUBLISHED, ann.id, LIVE],
      [5n, DELETED, ann.id, LIVE],
      [6n, DELETED, ann.id, DRAFT],
      [7n, PUBLISHED, ben.id, LIVE],
    ]);
    expect((await watch(service, 5n, 2)).map((e) => e.sequence)).toEqual([6n, 7n]);
    // Then tails: an event committed after the stream caught up arrives on it.
    const live = watch(service, 7n, 1);
    await new Promise((r) => setTimeout(r, 100));
    const id = await create(ben);
    expect(await live).toMatchObject([{ sequence: 8n, type: CREATED, postId: id, authorId: ben.id }]);
    await eventually(ben, [2, 1]);
  });

  it('resumes after either service restarts, counting nothing twice', async () => {
    // Content restarts: the consumer's stream breaks, it reconnects with backoff and resumes after its cursor.
    await content.close();
    content = await startContent();
    const id = await create(ann);
    await eventually(ann, [1, 0]);
    // User restarts: it starts from its stored cursor, not from the first event.
    await users.close();
    users = await startUsers();
    u.close();
    u = new UserServiceClient(users.address, credentials.createInsecure());
    await publish(ann, id);
    await eventually(ann, [1, 1]);
    await eventually(ben, [2, 1]);
  });
});
