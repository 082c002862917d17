import { credentials, status, type ServiceError } from '@grpc/grpc-js';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { Role, User, UserServiceClient, type CreateUserResponse } from '../../gen/acme/user/v1/user';
import { bearer, call, callError, forgeToken, tempDir } from '../test-support';
import { healthStatus, reflectionServices } from '../test-support/grpc-probes';
import { silentLogger, type RunningService } from '../kit';
import { startUserService } from './main';
import { issueAccessToken, loadOrCreateSigningKey } from './signing-key';

// Two PGlite databases compile their WASM at start: on a loaded machine that alone can take 30 s.
const START_TIMEOUT_MS = 120_000;
const PASSWORD = 'correct horse battery';

describe('UserService over gRPC', () => {
  const dir = tempDir();
  let svc: RunningService;
  let client: UserServiceClient;
  let admin: { id: bigint; token: string };
  let alice: { id: bigint; token: string };
  let bob: { id: bigint; token: string };

  const signUp = (email: string, displayName = email.split('@')[0]): Promise<CreateUserResponse> =>
    call(client.createUser.bind(client), { email, displayName, password: PASSWORD });
  const login = async (email: string) => {
    const res = await call(client.login.bind(client), { email, password: PASSWORD });
    return { id: res.user!.id, token: res.accessToken };
  };

  beforeAll(async () => {
    svc = await startUserService({ userAddr: '127.0.0.1:0', dataDir: dir.path, databaseUrl: undefined, userAdminEmails: ['root@example.com'] }, silentLogger);
    client = new UserServiceClient(svc.address, credentials.createInsecure());
    await signUp('root@example.com', 'Root');
    await signUp('alice@example.com', 'Alice');
    await signUp('bob@example.com', 'Bob');
    [admin, alice, bob] = await Promise.all(['root@example.com', 'alice@example.com', 'bob@example.com'].map(login));
  }, START_TIMEOUT_MS);
  afterAll(async () => {
    client.close();
    await svc.close();
    dir.remove();
  });

  describe('serving', () => {
    it('reports SERVING to grpc.health.v1', async () => {
      expect(await healthStatus(svc.address)).toBe('SERVING');
      expect(await healthStatus(svc.address, 'acme.user.v1.UserService')).toBe('SERVING');
    });

    it.each(['v1', 'v1alpha'] as const)('lists the service through reflection %s', async (version) => {
      expect(await reflectionServices(svc.address, version)).toEqual([
        'acme.user.v1.UserService',
        'grpc.health.v1.Health',
        'grpc.reflection.v1.ServerReflection',
        'grpc.reflection.v1alpha.ServerReflection',
      ]);
    });
  });

  describe('CreateUser', () => {
    it('signs up a user with an exact int64 id beyond 2^53', async () => {
      const { user } = await signUp('carol@example.com', ' Carol ');
      expect(user).toMatchObject({ email: 'carol@example.com', displayName: 'Carol', role: Role.ROLE_USER });
      expect(user!.id > 2n ** 53n).toBe(true);
      const read = await call(client.getUser.bind(client), { id: user!.id }, bearer(admin.token));
      expect(read.user!.id).toBe(user!.id);
      expect(user!.createTime!.seconds).toBeGreaterThan(0n);
    });

    it('makes USER_ADMIN_EMAILS addresses admins', async () => {
      const read = await call(client.getUser.bind(client), { id: admin.id }, bearer(admin.token));
      expect(read.user!.role).toBe(Role.ROLE_ADMIN);
    });

    it("starts an account with no posts (the counts come from the content service's events)", async () => {
      const read = await call(client.getUser.bind(client), { id: alice.id }, bearer(bob.token));
      expect(read.user).toMatchObject({ postCount: 0, publishedPostCount: 0 });
      const listed = await call(client.listUsers.bind(client), { pageSize: 10, pageToken: '' }, bearer(bob.token));
      expect(listed.users.every((u) => u.postCount === 0 && u.publishedPostCount === 0)).toBe(true);
    });

    it('refuses a taken email in any case with ALREADY_EXISTS', async () => {
      const err = await callError(client.createUser.bind(client), { email: 'ALICE@example.com', displayName: 'A2', password: PASSWORD });
      expect(err.code).toBe(status.ALREADY_EXISTS);
      expect(err.decoded?.errorInfo?.reason).toBe('EMAIL_TAKEN');
    });

    it('reports every invalid field as a BadRequest violation', async () => {
      const err = await callError(client.createUser.bind(client), { email: 'nope', displayName: '', password: 'short' });
      expect(err.code).toBe(status.INVALID_ARGUMENT);
      expect(err.decoded?.fieldViolations.map((v) => v.field)).toEqual(['email', 'display_name', 'password']);
    });

    it('still verifies a token sent to this public method', async () => {
      const err = await callError(client.createUser.bind(client), { email: 'x@example.com', displayName: 'X', password: PASSWORD }, bearer('garbage'));
      expect(err.code).toBe(status.UNAUTHENTICATED);
    });
  });

  describe('Login and GetJwks', () => {
    it('issues an EdDSA JWT whose kid is in the JWKS', async () => {
      const res = await call(client.login.bind(client), { email: 'Alice@Example.com', password: PASSWORD });
      expect(res.tokenType).toBe('Bearer');
      const header = decodeProtectedHeader(res.accessToken);
      const claims = decodeJwt(res.accessToken);
      expect(header.alg).toBe('EdDSA');
      expect(claims).toMatchObject({ sub: alice.id.toString(), role: 'user', iss: 'acme-user', aud: 'acme' });
      expect(res.expireTime!.seconds).toBe(BigInt(claims.exp!));
      expect(claims.exp! - claims.iat!).toBe(3600);
      const jwks = await call(client.getJwks.bind(client), {});
      expect(jwks.keys).toEqual([{ kty: 'OKP', crv: 'Ed25519', x: expect.any(String), kid: header.kid, alg: 'EdDSA', use: 'sig' }]);
    });

    it.each([
      ['a wrong password', 'alice@example.com', 'wrong password'],
      ['an unknown email', 'nobody@example.com', PASSWORD],
    ])('answers %s with UNAUTHENTICATED', async (_what, email, password) => {
      const err = await callError(client.login.bind(client), { email, password });
      expect(err.code).toBe(status.UNAUTHENTICATED);
      expect(err.details).toBe('invalid email or password');
    });
  });

  describe('token verification', () => {
    const getAlice = (md?: ReturnType<typeof bearer>) => callError(client.getUser.bind(client), { id: alice.id }, md);

    it('rejects a missing token', async () => {
      expect((await getAlice()).code).toBe(status.UNAUTHENTICATED);
    });

    it('rejects garbage and a malformed header', async () => {
      expect((await getAlice(bearer('not.a.jwt'))).code).toBe(status.UNAUTHENTICATED);
      const md = bearer('x');
      md.set('authorization', 'Basic abc');
      expect((await getAlice(md)).code).toBe(status.UNAUTHENTICATED);
    });

    it('rejects an expired token', async () => {
      const key = await loadOrCreateSigningKey(dir.path);
      const { token } = await issueAccessToken(key, alice.id, 'user', 1, -60);
      const err = await getAlice(bearer(token));
      expect(err.code).toBe(status.UNAUTHENTICATED);
      expect(err.decoded?.errorInfo?.reason).toBe('TOKEN_EXPIRED');
    });

    it('rejects a token signed by another key, even under the right kid', async () => {
      const { kid } = decodeProtectedHeader(alice.token);
      const forged = await forgeToken(kid, alice.id);
      expect((await getAlice(bearer(forged))).code).toBe(status.UNAUTHENTICATED);
    });
  });

  describe('GetUser', () => {
    it('shows the email to the account itself and admins only', async () => {
      const self = await call(client.getUser.bind(client), { id: alice.id }, bearer(alice.token));
      const other = await call(client.getUser.bind(client), { id: alice.id }, bearer(bob.token));
      const byAdmin = await call(client.getUser.bind(client), { id: alice.id }, bearer(admin.token));
      expect(self.user!.email).toBe('alice@example.com');
      expect(other.user).toMatchObject({ email: '', displayName: 'Alice' });
      expect(byAdmin.user!.email).toBe('alice@example.com');
    });

    it('answers NOT_FOUND and INVALID_ARGUMENT', async () => {
      expect((await callError(client.getUser.bind(client), { id: 2n ** 62n }, bearer(bob.token))).code).toBe(status.NOT_FOUND);
      const err = await callError(client.getUser.bind(client), { id: 0n }, bearer(bob.token));
      expect(err.code).toBe(status.INVALID_ARGUMENT);
      expect(err.decoded?.fieldViolations).toEqual([{ field: 'id', description: 'must be greater than 0' }]); // the proto's int64.gt rule
    });
  });

  describe('ListUsers', () => {
    it('pages through accounts oldest first', async () => {
      const seen: bigint[] = [];
      let pageToken = '';
      do {
        const page = await call(client.listUsers.bind(client), { pageSize: 2, pageToken }, bearer(bob.token));
        expect(page.users.length).toBeLessThanOrEqual(2);
        seen.push(...page.users.map((u) => u.id));
        pageToken = page.nextPageToken;
      } while (pageToken !== '');
      expect(seen.length).toBeGreaterThanOrEqual(4);
      expect([...seen].sort((a, b) => (a < b ? -1 : 1))).toEqual(seen);
      expect(seen.slice(0, 3)).toEqual([admin.id, alice.id, bob.id]);
    });

    it('caps the page size and rejects a foreign page token', async () => {
      const all = await call(client.listUsers.bind(client), { pageSize: 1000, pageToken: '' }, bearer(bob.token));
      expect(all.nextPageToken).toBe('');
      const err = await callError(client.listUsers.bind(client), { pageSize: 0, pageToken: 'bogus' }, bearer(bob.token));
      expect(err.code).toBe(status.INVALID_ARGUMENT);
      expect(err.decoded?.fieldViolations[0].field).toBe('page_token');
    });
  });

  describe('UpdateUser', () => {
    type Patch = { id: bigint; email?: string; displayName?: string; role?: Role };
    const request = (user: Patch, paths: string[]) => ({
      user: User.fromPartial(user),
      updateMask: paths,
    });
    const update = (token: string, user: Patch, paths: string[]) => callError(client.updateUser.bind(client), request(user, paths), bearer(token));
    const updateOk = (token: string, user: Patch, paths: string[]) => call(client.updateUser.bind(client), request(user, paths), bearer(token));

    it('changes only the fields in the mask', async () => {
      const { user } = await updateOk(bob.token, { id: bob.id, displayName: 'Robert', email: 'ignored@example.com' }, ['display_name']);
      expect(user).toMatchObject({ displayName: 'Robert', email: 'bob@example.com', role: Role.ROLE_USER });
      const moved = await updateOk(bob.token, { id: bob.id, email: 'bobby@example.com' }, ['email']);
      expect(moved.user!.email).toBe('bobby@example.com');
      await updateOk(bob.token, { id: bob.id, email: 'bob@example.com' }, ['email']);
    });

    it('lets admins change roles and nobody else', async () => {
      expect((await update(bob.token, { id: bob.id, role: Role.ROLE_ADMIN }, ['role'])).code).toBe(status.PERMISSION_DENIED);
      const { user } = await updateOk(admin.token, { id: bob.id, role: Role.ROLE_ADMIN }, ['role']);
      expect(user!.role).toBe(Role.ROLE_ADMIN);
      await updateOk(admin.token, { id: bob.id, role: Role.ROLE_USER }, ['role']);
      // Each role change revoked bob's tokens: the old one is refused, a fresh login works.
      const revoked = await callError(client.getUser.bind(client), { id: bob.id }, bearer(bob.token));
      expect([revoked.code, revoked.decoded?.errorInfo?.reason]).toEqual([status.UNAUTHENTICATED, 'TOKEN_REVOKED']);
      bob = await login('bob@example.com');
    });

    it('refuses changing another account', async () => {
      expect((await update(bob.token, { id: alice.id, displayName: 'Hacked' }, ['display_name'])).code).toBe(status.PERMISSION_DENIED);
    });

    it.each([
      ['an empty mask', [], 'update_mask'],
      ['an unknown path', ['password_hash'], 'update_mask'],
      ['an invalid value', ['display_name'], 'user.display_name'],
    ])('rejects %s with BadRequest details', async (_what, paths, field) => {
      const err = await update(bob.token, { id: bob.id, displayName: '' }, paths);
      expect(err.code).toBe(status.INVALID_ARGUMENT);
      expect(err.decoded?.fieldViolations.map((v) => v.field)).toEqual([field]);
    });

    it('answers ALREADY_EXISTS and NOT_FOUND', async () => {
      expect((await update(bob.token, { id: bob.id, email: 'alice@example.com' }, ['email'])).code).toBe(status.ALREADY_EXISTS);
      expect((await update(admin.token, { id: 2n ** 62n, displayName: 'x' }, ['display_name'])).code).toBe(status.NOT_FOUND);
    });
  });

  describe('DeleteUser', () => {
    it('lets an account delete itself, then it is gone', async () => {
      const { user } = await signUp('temp@example.com');
      const temp = await login('temp@example.com');
      expect((await callError(client.deleteUser.bind(client), { id: temp.id }, bearer(bob.token))).code).toBe(status.PERMISSION_DENIED);
      await call(client.deleteUser.bind(client), { id: user!.id }, bearer(temp.token));
      expect((await callError(client.getUser.bind(client), { id: user!.id }, bearer(admin.token))).code).toBe(status.NOT_FOUND);
      expect((await callError(client.deleteUser.bind(client), { id: user!.id }, bearer(admin.token))).code).toBe(status.NOT_FOUND);
    });

    it('lets an admin delete any account', async () => {
      const { user } = await signUp('doomed@example.com');
      await call(client.deleteUser.bind(client), { id: user!.id }, bearer(admin.token));
      const err: ServiceError = await callError(client.getUser.bind(client), { id: user!.id }, bearer(admin.token));
      expect(err.code).toBe(status.NOT_FOUND);
    });
  });
});

describe('UserService across a restart', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  it('keeps accounts and the signing key', async () => {
    const config = { userAddr: '127.0.0.1:0', dataDir: dir.path, databaseUrl: undefined };
    let svc = await startUserService(config, silentLogger);
    let client = new UserServiceClient(svc.address, credentials.createInsecure());
    const { user } = await call(client.createUser.bind(client), { email: 'keep@example.com', displayName: 'Keep', password: PASSWORD });
    const { accessToken } = await call(client.login.bind(client), { email: 'keep@example.com', password: PASSWORD });
    const before = await call(client.getJwks.bind(client), {});
    client.close();
    await svc.close();

    svc = await startUserService(config, silentLogger);
    client = new UserServiceClient(svc.address, credentials.createInsecure());
    try {
      expect(await call(client.getJwks.bind(client), {})).toEqual(before);
      // A token issued before the restart is still accepted.
      const read = await call(client.getUser.bind(client), { id: user!.id }, bearer(accessToken));
      expect(read.user).toMatchObject({ id: user!.id, email: 'keep@example.com' });
      await call(client.login.bind(client), { email: 'keep@example.com', password: PASSWORD });
    } finally {
      client.close();
      await svc.close();
    }
    // Two PGlite opens (each compiles its WebAssembly): over 30 s on a loaded 2-core machine.
  }, 120_000);
});
