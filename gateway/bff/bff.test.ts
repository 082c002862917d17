/**
 * The aggregation endpoints end to end: the compiled user and content services, each its own
 * process on loopback with its embedded store, and the gateway (in this process) serving
 * acme.bff.v1 as a local upstream with JWT auth at the edge, rate limits on and a breaker per
 * service. Every exchange is checked against the gateway's own OpenAPI document. The content
 * service is killed (SIGKILL) and restarted on its port; at the end the user service is killed.
 */
import * as path from 'node:path';
import type { Gateway } from '../app';
import { resolveConfig } from '../config';
import { startGateway } from '../main';
import { freePort } from '../../shared-kit/free-port';
import { killAll, NodeProcess } from '../../shared-kit/test-support/node-process';
import { tempDir } from '../../services/test-support';
import { compileProject, type CompiledProject } from '../test-support/compiled-project';
import { checkedFetch, OpenApiContract, registerContract } from '../test-support/contract';

let project: CompiledProject;
const dir = tempDir('acme-bff-');
let user: NodeProcess;
let content: NodeProcess;
let contentPort = 0;
let userAddr = '';
let gateway: Gateway & { port: number };
let base = '';
let contract: OpenApiContract | undefined;

const BREAKER_FAILURES = 3;
const HALF_OPEN_MS = 500;

function startContent(): NodeProcess {
  return new NodeProcess(path.join(project.dir, 'services/content/main.js'), [], {
    CONTENT_ADDR: `127.0.0.1:${contentPort}`,
    USER_SERVICE_TARGET: userAddr,
    DATA_DIR: dir.path,
    DATABASE_URL: undefined,
    LOG_FORMAT: 'json',
  });
}

beforeAll(async () => {
  project = await compileProject();
  contentPort = await freePort();
  user = new NodeProcess(path.join(project.dir, 'services/user/main.js'), [], {
    USER_ADDR: '127.0.0.1:0',
    // The user service keeps each user's post counts from the content service's post events.
    CONTENT_SERVICE_TARGET: `127.0.0.1:${contentPort}`,
    DATA_DIR: dir.path,
    DATABASE_URL: undefined,
    LOG_FORMAT: 'json',
  });
  userAddr = `127.0.0.1:${await user.port()}`;
  content = startContent();
  await content.port();
  gateway = await startGateway(
    resolveConfig({
      port: 0,
      upstreams: { 'acme.user.v1': userAddr, 'acme.content.v1': `127.0.0.1:${contentPort}`, 'acme.bff.v1': 'local' },
      resilience: { breaker: { consecutiveFailures: BREAKER_FAILURES, halfOpenAfterMs: HALF_OPEN_MS } },
      bff: { partTimeoutMs: 2000 },
    }),
    false,
  );
  base = `http://127.0.0.1:${gateway.port}`;
  contract = await OpenApiContract.load(base);
  registerContract(base, contract);
}, 240_000);

afterAll(async () => {
  registerContract(base, undefined);
  await contract?.settle();
  await gateway?.close();
  await killAll();
  project?.remove();
  dir.remove();
});

async function call(method: string, url: string, token?: string, body?: unknown): Promise<{ status: number; json: any; ms: number; headers: Headers }> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (token) headers.authorization = `Bearer ${token}`;
  const started = performance.now();
  const res = await checkedFetch(base + url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined, ms: performance.now() - started, headers: res.headers };
}

async function signUp(email: string): Promise<{ id: string; token: string }> {
  const created = await call('POST', '/v1/users', undefined, { email, displayName: email.split('@')[0], password: 'correct horse' });
  expect(created.status).toBe(201);
  const session = await call('POST', '/v1/sessions', undefined, { email, password: 'correct horse' });
  return { id: created.json.id, token: session.json.accessToken };
}

async function post(token: string, title: string, publish: boolean): Promise<string> {
  const created = await call('POST', '/v1/posts', token, { title, body: 'text' });
  expect(created.status).toBe(201);
  if (publish) expect((await call('POST', `/v1/posts/${created.json.id}:publish`, token, {})).status).toBe(200);
  return created.json.id;
}

/** Calls `get` until `done` holds of its answer (the counts follow the post events, eventually), at most 10 s. */
async function eventually<T>(get: () => Promise<T>, done: (t: T) => boolean): Promise<T> {
  const until = Date.now() + 10_000;
  for (;;) {
    const t = await get();
    if (done(t) || Date.now() > until) return t;
    await new Promise((r) => setTimeout(r, 100));
  }
}

const reasonOf = (status: any): string | undefined => status?.details?.find((d: any) => d['@type'] === 'type.googleapis.com/google.rpc.ErrorInfo')?.reason;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('aggregation endpoints (acme.bff.v1, a local upstream) over real services', () => {
  let alice: { id: string; token: string };
  let bob: { id: string; token: string };
  const alicePublished: string[] = [];

  beforeAll(async () => {
    alice = await signUp('alice@example.com');
    bob = await signUp('bob@example.com');
    for (let i = 1; i <= 7; i++) alicePublished.push(await post(alice.token, `alice ${i}`, true));
    await post(alice.token, 'alice draft 1', false);
    await post(alice.token, 'alice draft 2', false);
    await post(bob.token, 'bob 1', true);
  }, 60_000);

  it('GET /v1/users/{id}/profile: the user, their five newest published posts and their published count', async () => {
    const r = await eventually(
      () => call('GET', `/v1/users/${alice.id}/profile`, bob.token),
      (r) => r.json?.postCount === '7',
    );
    expect(r.status).toBe(200);
    expect(r.json.user).toMatchObject({ id: alice.id, displayName: 'alice' });
    expect(r.json.user.email).toBeUndefined(); // the user service's own rule: not shown to others
    expect(r.json.recentPosts.map((p: any) => p.id)).toEqual(alicePublished.slice(-5).reverse());
    expect(r.json.recentPosts.every((p: any) => p.status === 'POST_STATUS_PUBLISHED')).toBe(true);
    expect(r.json.postCount).toBe('7');
    expect(r.json.partialFailures).toBeUndefined();
  });

  it('GET /v1/me/home: the caller (from the token), the newest published posts from everyone, their draft count', async () => {
    const r = await eventually(
      () => call('GET', '/v1/me/home', alice.token),
      (r) => r.json?.draftCount === '2',
    );
    expect(r.status).toBe(200);
    expect(r.json.user).toMatchObject({ id: alice.id, email: 'alice@example.com' });
    expect(r.json.recentPosts.map((p: any) => p.title)).toEqual(['bob 1', 'alice 7', 'alice 6', 'alice 5', 'alice 4', 'alice 3', 'alice 2', 'alice 1']);
    expect(r.json.draftCount).toBe('2');
    expect(r.json.partialFailures).toBeUndefined();
    const other = await call('GET', '/v1/me/home', bob.token);
    expect(other.json.user.id).toBe(bob.id);
    expect(other.json.draftCount).toBe('0');
    expect(other.json.user.postCount).toBe(1); // the user's own counts, in its JSON too
  });

  it('applies the edge policies unchanged: auth (401 without a token), validation (400), the route in /metrics', async () => {
    for (const url of ['/v1/me/home', `/v1/users/${alice.id}/profile`]) {
      const r = await call('GET', url);
      expect(r.status).toBe(401);
      expect(reasonOf(r.json)).toBe('UNAUTHENTICATED');
      const forged = await call('GET', url, `${alice.token.slice(0, -4)}AAAA`);
      expect(forged.status).toBe(401);
    }
    const bad = await call('GET', '/v1/users/0/profile', bob.token);
    expect(bad.status).toBe(400);
    expect(reasonOf(bad.json)).toBe('VALIDATION_FAILED');
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/gateway_http_requests_total\{route="\/v1\/users\/\{id\}\/profile",method="GET",status="200"\} \d+/);
    expect(metrics).toMatch(/gateway_http_requests_total\{route="\/v1\/me\/home",method="GET",status="401"\} \d+/);
    // The parts are upstream calls like any other.
    expect(metrics).toMatch(/gateway_upstream_call_duration_seconds_count\{service="acme.content.v1.ContentService",method="ListPosts",code="OK"\} \d+/);
  });

  it('documents both operations in the OpenAPI document, from the same route table', async () => {
    const doc = (await (await fetch(`${base}/openapi.json`)).json()) as any;
    const profile = doc.paths['/v1/users/{id}/profile']?.get;
    const home = doc.paths['/v1/me/home']?.get;
    expect(profile).toBeDefined();
    expect(home).toBeDefined();
    expect(Object.keys(profile.responses)).toEqual(expect.arrayContaining(['200', '401', '429']));
    expect(JSON.stringify(profile.responses['200'])).toContain('GetUserProfileResponse');
  });

  it('answers 404 with the user service status when the user does not exist', async () => {
    const r = await call('GET', '/v1/users/123456789/profile', bob.token);
    expect(r.status).toBe(404);
    expect(r.json.code).toBe(5);
    expect(typeof r.json.message).toBe('string');
  });

  it('a part that misses its own deadline is a partial failure (DEADLINE_EXCEEDED); the rest of the answer stands', async () => {
    // A second gateway on the same services, where ListPosts may take 1 ms: the posts parts miss it, the user does not.
    const strict = await startGateway(
      resolveConfig({
        port: 0,
        upstreams: { 'acme.user.v1': userAddr, 'acme.content.v1': `127.0.0.1:${contentPort}`, 'acme.bff.v1': 'local' },
        resilience: { overrides: { 'acme.content.v1.ContentService/ListPosts': { timeoutMs: 1 } } },
      }),
      false,
    );
    try {
      const res = await fetch(`http://127.0.0.1:${strict.port}/v1/users/${alice.id}/profile`, { headers: { authorization: `Bearer ${bob.token}` } });
      const body = (await res.json()) as any;
      expect(res.status).toBe(200);
      expect(body.user.id).toBe(alice.id);
      expect(body.postCount).toBe('7');
      // DEADLINE_EXCEEDED: the gateway's own (reason DEADLINE_EXCEEDED), or the service's when it noticed first.
      expect(body.partialFailures.map((f: any) => [f.part, f.status.code])).toEqual([['recent_posts', 4]]);
      expect([undefined, 'DEADLINE_EXCEEDED']).toContain(reasonOf(body.partialFailures[0].status));
    } finally {
      await strict.close();
    }
  });

  it('content service killed: 200 with the user and partial_failures naming each missing part; its breaker opens and the parts fail fast; restarted: complete again', async () => {
    content.kill('SIGKILL');
    await content.exited;

    const first = await call('GET', `/v1/users/${alice.id}/profile`, bob.token);
    expect(first.status).toBe(200);
    expect(first.json.user.id).toBe(alice.id);
    expect(first.json.recentPosts).toBeUndefined();
    expect(first.json.postCount).toBe('7'); // kept on the user, which is there
    expect(first.json.partialFailures.map((f: any) => f.part)).toEqual(['recent_posts']);
    for (const f of first.json.partialFailures) {
      expect(f.status.code).toBe(14);
      expect(['UPSTREAM_UNAVAILABLE', 'CIRCUIT_OPEN']).toContain(reasonOf(f.status));
      expect(f.status.details[0].metadata.service).toBe('acme.content.v1.ContentService');
      expect(f.status.message).not.toMatch(/127\.0\.0\.1|ECONNREFUSED/); // no internal address
    }

    // One content call per profile: the breaker opens after BREAKER_FAILURES requests.
    const open: number[] = [];
    for (let i = 0; i < BREAKER_FAILURES + 4; i++) {
      const r = await call('GET', `/v1/users/${alice.id}/profile`, bob.token);
      expect(r.status).toBe(200);
      if (r.json.partialFailures.every((f: any) => reasonOf(f.status) === 'CIRCUIT_OPEN')) open.push(r.ms);
    }
    expect(open.length).toBeGreaterThanOrEqual(4);
    const home = await call('GET', '/v1/me/home', alice.token);
    expect(home.status).toBe(200);
    expect(home.json.user.id).toBe(alice.id);
    expect(home.json.partialFailures.map((f: any) => f.part)).toEqual(['recent_posts']);
    expect(home.json.draftCount).toBe('2');
    const readyz = (await (await fetch(`${base}/readyz`)).json()) as any;
    expect(readyz.upstreams['acme.content.v1.ContentService'].breaker).toBe('open');
    // Fail fast: with the breaker open, a profile costs about what the user alone costs.
    const direct: number[] = [];
    for (let i = 0; i < 5; i++) direct.push((await call('GET', `/v1/users/${alice.id}`, bob.token)).ms);
    const fmt = (ms: number[]): string =>
      [...ms]
        .sort((a, b) => a - b)
        .map((v) => v.toFixed(1))
        .join(', ');
    console.log(`content killed: profile with its breaker open answered in ${fmt(open)} ms; GET /v1/users/{id} alone meanwhile ${fmt(direct)} ms`);

    content = startContent();
    await content.port();
    const restartedAt = Date.now();
    let complete: any;
    while (Date.now() - restartedAt < 10_000) {
      const r = await call('GET', `/v1/users/${alice.id}/profile`, bob.token);
      if (r.status === 200 && r.json.partialFailures === undefined) {
        complete = r.json;
        break;
      }
      await sleep(100);
    }
    expect(complete).toBeDefined();
    expect(complete.postCount).toBe('7');
    expect(complete.recentPosts).toHaveLength(5);
    console.log(`content restarted: complete profile again after ${Date.now() - restartedAt} ms`);
  }, 60_000);

  it('user service killed: the primary part is unavailable, so the request is 503 with a google.rpc.Status', async () => {
    user.kill('SIGKILL');
    await user.exited;
    const r = await call('GET', `/v1/users/${alice.id}/profile`, bob.token);
    expect(r.status).toBe(503);
    expect(r.json.code).toBe(14);
    expect(['UPSTREAM_UNAVAILABLE', 'CIRCUIT_OPEN']).toContain(reasonOf(r.json));
    expect(r.json.details[0].metadata.service).toBe('acme.user.v1.UserService');
    const home = await call('GET', '/v1/me/home', alice.token);
    expect(home.status).toBe(503);
    expect(home.json.code).toBe(14);
  }, 30_000);
});
