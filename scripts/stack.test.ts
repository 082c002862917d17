/**
 * The whole stack as `npm start` runs it: user and content services on the embedded store,
 * the gateway in front with JWT verification at the edge, all on loopback ephemeral ports.
 * Drives the README's REST surface end to end.
 */
import { resolveConfig } from '../gateway/config';
import { startGateway } from '../gateway/main';
import { checkedFetch, OpenApiContract, registerContract } from '../gateway/test-support/contract';
import { silentLogger } from '../services/kit';
import { startContentService } from '../services/content/main';
import { startUserService } from '../services/user/main';
import { tempDir } from '../services/test-support';

type Running = { close(): Promise<void> };
const running: Running[] = [];
const dir = tempDir('acme-stack-');
let base = '';
let contract: OpenApiContract | undefined;

beforeAll(async () => {
  const user = await startUserService(
    { userAddr: '127.0.0.1:0', dataDir: dir.path, databaseUrl: undefined, userAdminEmails: ['admin@example.com'] },
    silentLogger,
  );
  running.push(user);
  const content = await startContentService(
    { contentAddr: '127.0.0.1:0', userServiceTarget: user.address, dataDir: dir.path, databaseUrl: undefined },
    silentLogger,
  );
  running.push(content);
  const gateway = await startGateway(resolveConfig({ port: 0, upstreams: { 'acme.user.v1': user.address, 'acme.content.v1': content.address } }), false);
  running.unshift(gateway);
  base = `http://127.0.0.1:${gateway.port}`;
  // Every exchange below must fit the OpenAPI document the gateway serves.
  contract = await OpenApiContract.load(base);
  registerContract(base, contract);
}, 120_000); // two PGlite WASM compiles: beyond 30 s on a loaded machine

afterAll(async () => {
  registerContract(base, undefined);
  await contract?.settle();
  for (const r of running) await r.close();
  dir.remove();
});

async function call(method: string, path: string, body?: unknown, token?: string): Promise<{ status: number; json: any; headers: Headers }> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await checkedFetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined, headers: res.headers };
}

async function signUpAndLogin(email: string): Promise<{ id: string; token: string }> {
  const created = await call('POST', '/v1/users', { email, displayName: email.split('@')[0], password: 'correct horse' });
  expect(created.status).toBe(201);
  const session = await call('POST', '/v1/sessions', { email, password: 'correct horse' });
  expect(session.status).toBe(201);
  expect(session.json.tokenType).toBe('Bearer');
  return { id: created.json.id, token: session.json.accessToken };
}

describe('the REST surface over real services', () => {
  let admin: { id: string; token: string };
  let alice: { id: string; token: string };

  beforeAll(async () => {
    admin = await signUpAndLogin('admin@example.com');
    alice = await signUpAndLogin('alice@example.com');
  });

  it('signs up with 201, an int64 id as a string beyond 2^53, and no password in the answer', async () => {
    const r = await call('POST', '/v1/users', { email: 'bob@example.com', displayName: 'Bob', password: 'long enough' });
    expect(r.status).toBe(201);
    expect(typeof r.json.id).toBe('string');
    expect(BigInt(r.json.id) > 2n ** 53n).toBe(true);
    expect(r.json).not.toHaveProperty('password');
    expect(r.json.role).toBe('ROLE_USER');
  });

  it('makes the configured address an admin', async () => {
    const r = await call('GET', `/v1/users/${admin.id}`, undefined, admin.token);
    expect(r.status).toBe(200);
    expect(r.json.role).toBe('ROLE_ADMIN');
  });

  it('serves the JWKS at /.well-known/jwks.json without a token', async () => {
    const r = await call('GET', '/.well-known/jwks.json');
    expect(r.status).toBe(200);
    expect(r.json.keys[0]).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' });
  });

  it.each([
    ['no token', undefined, 401],
    ['a garbage token', 'not.a.jwt', 401],
  ])('rejects %s at the edge on a protected method', async (_name, token, status) => {
    const r = await call('GET', '/v1/users', undefined, token);
    expect(r.status).toBe(status);
    expect(r.json.code).toBe(16);
    expect(r.json.details[0]).toMatchObject({ reason: 'UNAUTHENTICATED', domain: 'gateway.acme.dev' });
  });

  it('maps a taken email to 409 with the upstream status', async () => {
    const r = await call('POST', '/v1/users', { email: 'alice@example.com', displayName: 'A', password: 'correct horse' });
    expect(r.status).toBe(409);
    expect(r.json.code).toBe(6);
  });

  it('maps validation failures to 400 with BadRequest field violations', async () => {
    const r = await call('POST', '/v1/users', { email: 'nope', displayName: 'x', password: 'short' });
    expect(r.status).toBe(400);
    const bad = r.json.details.find((d: any) => d['@type'] === 'type.googleapis.com/google.rpc.BadRequest');
    expect(bad.fieldViolations.map((v: any) => v.field)).toEqual(expect.arrayContaining(['email', 'password']));
  });

  it('refuses requests that break buf.validate rules at the gateway: 400 VALIDATION_FAILED naming every field by JSON path', async () => {
    const r = await call('POST', '/v1/users', { email: 'not-an-email', displayName: '', password: 'short' });
    expect(r.status).toBe(400);
    expect(r.json.code).toBe(3);
    expect(r.json.details[0]).toMatchObject({ reason: 'VALIDATION_FAILED', domain: 'gateway.acme.dev' });
    const bad = r.json.details.find((d: any) => d['@type'] === 'type.googleapis.com/google.rpc.BadRequest');
    expect(bad.fieldViolations.map((v: any) => v.field).sort()).toEqual(['displayName', 'email', 'password']);
    const post = await call('POST', '/v1/posts', { title: 'ok', tags: ['Bad Tag', 'fine', 'x'.repeat(40)] }, alice.token);
    expect(post.status).toBe(400);
    const tags = post.json.details.find((d: any) => d['@type'] === 'type.googleapis.com/google.rpc.BadRequest');
    expect(tags.fieldViolations.map((v: any) => v.field)).toEqual(['post.tags[0]', 'post.tags[2]']);
    expect((await call('GET', '/v1/posts?pageSize=-1')).json.details[0].reason).toBe('VALIDATION_FAILED');
  });

  it('updates a user with PATCH and a FieldMask from the query', async () => {
    const r = await call('PATCH', `/v1/users/${alice.id}?updateMask=displayName`, { displayName: 'Alice L.' }, alice.token);
    expect(r.status).toBe(200);
    expect(r.json.displayName).toBe('Alice L.');
  });

  it('lists users page by page with an opaque token', async () => {
    const first = await call('GET', '/v1/users?pageSize=1', undefined, admin.token);
    expect(first.status).toBe(200);
    expect(first.json.users).toHaveLength(1);
    expect(first.json.nextPageToken).toBeTruthy();
    const second = await call('GET', `/v1/users?pageSize=1&pageToken=${encodeURIComponent(first.json.nextPageToken)}`, undefined, admin.token);
    expect(second.json.users[0].id).not.toBe(first.json.users[0].id);
  });

  it('runs a post through create, publish (custom verb), list, update, watch and delete', async () => {
    const created = await call('POST', '/v1/posts', { title: 'Hello', body: 'world', tags: ['intro'] }, alice.token);
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ title: 'Hello', status: 'POST_STATUS_DRAFT', authorId: alice.id });
    const id: string = created.json.id;

    // Drafts are invisible to others.
    expect((await call('GET', `/v1/posts/${id}`)).status).toBe(404);

    // Watch newly published posts as NDJSON, then publish.
    const watch = new AbortController();
    const stream = await checkedFetch(`${base}/v1/posts:watch?authorId=${alice.id}`, { signal: watch.signal });
    expect(stream.status).toBe(200);
    const reader = stream.body!.getReader();
    const published = await call('POST', `/v1/posts/${id}:publish`, {}, alice.token);
    expect(published.status).toBe(200);
    expect(published.json.status).toBe('POST_STATUS_PUBLISHED');
    let text = '';
    while (!text.includes('\n')) text += new TextDecoder().decode((await reader.read()).value);
    expect(JSON.parse(text.split('\n')[0]).result.post.id).toBe(id);
    watch.abort();

    expect((await call('POST', `/v1/posts/${id}:publish`, {}, alice.token)).status).toBe(400); // FAILED_PRECONDITION
    const byAuthor = await call('GET', `/v1/users/${alice.id}/posts`);
    expect(byAuthor.json.posts.map((p: any) => p.id)).toContain(id);
    const byStatus = await call('GET', '/v1/posts?status=POST_STATUS_PUBLISHED');
    expect(byStatus.json.posts.map((p: any) => p.id)).toContain(id);
    const byName = await call('GET', `/v1/users/${alice.id}/posts/${id}`);
    expect(byName.json.id).toBe(id);

    const updated = await call('PATCH', `/v1/posts/${id}?updateMask=title,tags`, { title: 'Hello again', tags: ['x', 'y'] }, alice.token);
    expect(updated.json).toMatchObject({ title: 'Hello again', tags: ['x', 'y'], body: 'world' });

    expect((await call('DELETE', `/v1/posts/${id}`, undefined, (await signUpAndLogin('mallory@example.com')).token)).status).toBe(403);
    const deleted = await call('DELETE', `/v1/posts/${id}`, undefined, alice.token);
    expect(deleted.status).toBe(204);
    expect((await call('GET', `/v1/posts/${id}`)).status).toBe(404);
  });

  it('lets the account delete itself with 204', async () => {
    const carol = await signUpAndLogin('carol@example.com');
    expect((await call('DELETE', `/v1/users/${carol.id}`, undefined, carol.token)).status).toBe(204);
  });
});
