/**
 * The services' side of the attack suite (issue 12): what a caller with a once-valid token,
 * or with hostile input, gets directly over gRPC. Both services run as real servers on
 * loopback with a short account-state window, so revocation is observed, not assumed.
 */
import { credentials, Metadata, status } from '@grpc/grpc-js';
import { SignJWT } from 'jose';
import { ContentServiceClient, PostStatus, type Post } from '../gen/acme/content/v1/content';
import { Role, User, UserServiceClient } from '../gen/acme/user/v1/user';
import { encodePageToken, silentLogger, type RunningService } from './kit';
import { startContentService } from './content/main';
import { bearer, call, callError, tempDir } from './test-support';
import { startUserService } from './user/main';
import { loadOrCreateSigningKey } from './user/signing-key';

// Two PGlite databases compile their WASM at start: on a loaded machine that alone can take 30 s.
const START_TIMEOUT_MS = 120_000;
const PASSWORD = 'correct horse battery';
// The revocation window for this test: how long a service may trust an account's cached state.
const WINDOW_MS = 300;
type Who = { id: bigint; token: string };

describe('services under attack', () => {
  const dir = tempDir();
  let users: RunningService;
  let content: RunningService;
  let u: UserServiceClient;
  let c: ContentServiceClient;
  let admin: Who;

  const signUp = async (email: string): Promise<Who> => {
    await call(u.createUser.bind(u), { email, displayName: email.split('@')[0], password: PASSWORD });
    return login(email);
  };
  const login = async (email: string): Promise<Who> => {
    const res = await call(u.login.bind(u), { email, password: PASSWORD });
    return { id: res.user!.id, token: res.accessToken };
  };
  const post = (title: string, body = 'b'): Post => ({
    id: 0n,
    authorId: 0n,
    title,
    body,
    tags: [],
    status: PostStatus.POST_STATUS_UNSPECIFIED,
    createTime: undefined,
    updateTime: undefined,
    publishTime: undefined,
  });
  const createPost = (who: Who, title = 't') => callError(c.createPost.bind(c), { post: post(title) }, bearer(who.token));
  const listUsers = (who: Who) => callError(u.listUsers.bind(u), { pageSize: 1, pageToken: '' }, bearer(who.token));
  const setRole = (by: Who, id: bigint, role: Role) =>
    call(u.updateUser.bind(u), { user: User.fromPartial({ id, role }), updateMask: ['role'] }, bearer(by.token));
  const reason = (err: { decoded?: { errorInfo?: { reason: string } } }) => err.decoded?.errorInfo?.reason;
  /** Waits out the revocation window, so the other service's cached state has expired. */
  const afterWindow = () => new Promise((r) => setTimeout(r, WINDOW_MS + 50));

  beforeAll(async () => {
    users = await startUserService(
      { userAddr: '127.0.0.1:0', dataDir: dir.path, databaseUrl: undefined, userAdminEmails: ['root@example.com'], accountCacheMs: WINDOW_MS },
      silentLogger,
    );
    u = new UserServiceClient(users.address, credentials.createInsecure());
    content = await startContentService(
      { contentAddr: '127.0.0.1:0', userServiceTarget: users.address, dataDir: dir.path, databaseUrl: undefined, accountCacheMs: WINDOW_MS },
      silentLogger,
    );
    c = new ContentServiceClient(content.address, credentials.createInsecure());
    admin = await signUp('root@example.com');
  }, START_TIMEOUT_MS);
  afterAll(async () => {
    u.close();
    c.close();
    await content.close();
    await users.close();
    dir.remove();
  });

  describe('revocation (items 1 and 2)', () => {
    it("refuses a deleted user's token at once on the user service and within the window on the content service", async () => {
      const mallory = await signUp('mallory@example.com');
      await call(c.createPost.bind(c), { post: post('before') }, bearer(mallory.token));
      await call(u.deleteUser.bind(u), { id: mallory.id }, bearer(mallory.token));

      const list = await listUsers(mallory);
      expect([list.code, reason(list)]).toEqual([status.UNAUTHENTICATED, 'TOKEN_REVOKED']);
      await afterWindow();
      const created = await createPost(mallory, 'after');
      expect([created.code, reason(created)]).toEqual([status.UNAUTHENTICATED, 'TOKEN_REVOKED']);
      // Nothing was written by the refused call.
      const mine = await call(c.listPosts.bind(c), { authorId: mallory.id, status: 0, tag: '', pageSize: 10, pageToken: '' }, bearer(admin.token));
      expect(mine.posts.map((p) => p.title)).toEqual(['before']);
    });

    it("refuses a demoted admin's old token: it cannot delete another user", async () => {
      const trent = await signUp('trent@example.com');
      await setRole(admin, trent.id, Role.ROLE_ADMIN);
      const trentAdmin = await login('trent@example.com');
      const victim = await signUp('victim@example.com');
      await setRole(admin, trent.id, Role.ROLE_USER);

      const del = await callError(u.deleteUser.bind(u), { id: victim.id }, bearer(trentAdmin.token));
      expect([del.code, reason(del)]).toEqual([status.UNAUTHENTICATED, 'TOKEN_REVOKED']);
      expect((await call(u.getUser.bind(u), { id: victim.id }, bearer(admin.token))).user?.id).toBe(victim.id);
      await afterWindow();
      const created = await createPost(trentAdmin);
      expect([created.code, reason(created)]).toEqual([status.UNAUTHENTICATED, 'TOKEN_REVOKED']);
      // A fresh login carries the current role and version and works everywhere.
      const fresh = await login('trent@example.com');
      await call(c.createPost.bind(c), { post: post('fresh') }, bearer(fresh.token));
    });

    it('answers CheckAccessToken for a current token only', async () => {
      const walt = await signUp('walt@example.com');
      const state = await call(u.checkAccessToken.bind(u), {}, bearer(walt.token));
      expect(state).toEqual({ userId: walt.id, role: Role.ROLE_USER, tokenVersion: 1n });
      expect((await callError(u.checkAccessToken.bind(u), {}, new Metadata())).code).toBe(status.UNAUTHENTICATED);
    });

    it('refuses a validly signed token without a token version (issued before revocation existed)', async () => {
      const key = await loadOrCreateSigningKey(dir.path);
      const legacy = await new SignJWT({ role: 'admin' })
        .setProtectedHeader({ alg: 'EdDSA', kid: key.kid })
        .setSubject(admin.id.toString())
        .setIssuer('acme-user')
        .setAudience('acme')
        .setExpirationTime('1h')
        .sign(key.privateKey);
      expect((await listUsers({ id: admin.id, token: legacy })).code).toBe(status.UNAUTHENTICATED);
      expect((await createPost({ id: admin.id, token: legacy })).code).toBe(status.UNAUTHENTICATED);
    });
  });

  describe('admin bootstrap (item 3)', () => {
    it('does not make the configured address admin again once an admin exists, in any case', async () => {
      await call(
        u.updateUser.bind(u),
        {
          user: User.fromPartial({ id: admin.id, email: 'boss@example.com' }),
          updateMask: ['email'],
        },
        bearer(admin.token),
      );
      const { user } = await call(u.createUser.bind(u), { email: 'ROOT@example.com', displayName: 'Imposter', password: PASSWORD });
      expect(user?.role).toBe(Role.ROLE_USER);
    });
  });

  describe('hostile input (item 6)', () => {
    const nul = 'a\u0000b';
    it.each([
      ['user email', () => callError(u.createUser.bind(u), { email: `x${nul}@example.com`, displayName: 'X', password: PASSWORD }), 'email'],
      ['display name', () => callError(u.createUser.bind(u), { email: 'nul@example.com', displayName: nul, password: PASSWORD }), 'display_name'],
      ['login email', () => callError(u.login.bind(u), { email: `root${nul}@example.com`, password: PASSWORD }), 'email'],
      ['post title', () => callError(c.createPost.bind(c), { post: post(nul) }, bearer(admin.token)), 'post.title'],
      ['post body', () => callError(c.createPost.bind(c), { post: post('t', nul) }, bearer(admin.token)), 'post.body'],
      ['post title (escape)', () => callError(c.createPost.bind(c), { post: post('a\u001bb') }, bearer(admin.token)), 'post.title'],
      [
        'display name (line separator)',
        () => callError(u.createUser.bind(u), { email: 'ls@example.com', displayName: 'a\u2028b', password: PASSWORD }),
        'display_name',
      ],
      ['password', () => callError(u.createUser.bind(u), { email: 'pw@example.com', displayName: 'P', password: `${PASSWORD}${nul}` }), 'password'],
    ])('refuses a control character in the %s with INVALID_ARGUMENT naming the field', async (_what, send, field) => {
      const err = await send();
      expect(err.code).toBe(status.INVALID_ARGUMENT);
      expect(err.decoded?.fieldViolations.map((v) => v.field)).toEqual([field]);
    });

    // The proto's buf.validate rules, enforced by the services themselves as well as by the gateway.
    it.each([
      [
        'a blank display name',
        () => callError(u.createUser.bind(u), { email: 'blank@example.com', displayName: ' \u3000\u00a0', password: PASSWORD }),
        'display_name',
      ],
      ['a blank post title', () => callError(c.createPost.bind(c), { post: post(' \ufeff ') }, bearer(admin.token)), 'post.title'],
      ['a negative author filter', () => callError(c.listPosts.bind(c), { authorId: -1n, status: 0, pageSize: 0, pageToken: '', tag: '' }), 'author_id'],
      ['a malformed tag filter', () => callError(c.listPosts.bind(c), { authorId: 0n, status: 0, pageSize: 0, pageToken: '', tag: 'Not A Tag' }), 'tag'],
      [
        'an unknown role',
        () => callError(u.updateUser.bind(u), { user: User.fromPartial({ id: admin.id, role: 7 as Role }), updateMask: ['role'] }, bearer(admin.token)),
        'user.role',
      ],
    ])('refuses %s with INVALID_ARGUMENT naming the field', async (_what, send, field) => {
      const err = await send();
      expect(err.code).toBe(status.INVALID_ARGUMENT);
      expect(err.decoded?.fieldViolations.map((v) => v.field)).toEqual([field]);
    });

    it('keeps tabs and line breaks in a post body', async () => {
      const res = await call(c.createPost.bind(c), { post: post('t', 'line 1\n\tline 2\r\n') }, bearer(admin.token));
      expect(res.post?.body).toBe('line 1\n\tline 2\r\n');
    });

    it.each([
      ['a post name past int64', () => callError(c.getPost.bind(c), { id: 0n, name: 'users/1/posts/9223372036854775808' }), 'name'],
      ['a post name with an author past int64', () => callError(c.getPost.bind(c), { id: 0n, name: 'users/9999999999999999999/posts/1' }), 'name'],
      [
        'a crafted page token past int64',
        () => callError(u.listUsers.bind(u), { pageSize: 1, pageToken: encodePageToken(2n ** 64n - 1n) }, bearer(admin.token)),
        'page_token',
      ],
    ])('answers %s with INVALID_ARGUMENT, not INTERNAL', async (_what, send, field) => {
      const err = await send();
      expect(err.code).toBe(status.INVALID_ARGUMENT);
      expect(err.decoded?.fieldViolations.map((v) => v.field)).toEqual([field]);
    });
  });
});
