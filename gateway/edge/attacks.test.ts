/**
 * The gateway's attack suite (issue 12): the real user and content services and the gateway
 * with JWT auth on, on loopback; each attack asserts the exact status and the google.rpc.Status
 * reason, and that nothing reached or changed upstream where that matters: the services serve
 * their Prometheus metrics, and `unreached` asserts that no call of theirs completed during an
 * attack the gateway must refuse by itself. Timeouts are short in this gateway's config so
 * slow-client cases finish in a few seconds. Memory under held bodies: held-bodies.test.ts.
 */
import * as http from 'node:http';
import * as net from 'node:net';
import { SignJWT, generateKeyPair, exportJWK, decodeProtectedHeader } from 'jose';
import { resolveConfig } from '../config';
import { startGateway } from '../main';
import { silentLogger, type RunningService } from '../../services/kit';
import { startContentService } from '../../services/content/main';
import { startUserService } from '../../services/user/main';
import { issueAccessToken, loadOrCreateSigningKey } from '../../services/user/signing-key';
import { tempDir } from '../../services/test-support';

const WINDOW_MS = 300;
const dir = tempDir('acme-attacks-');
let users: RunningService;
let content: RunningService;
let gateway: { port: number; close(): Promise<void> };
let base = '';
let admin: { id: string; token: string };
let alice: { id: string; token: string };

type Answer = { status: number; json: any; headers: Headers };
async function call(method: string, path: string, init: { body?: unknown; token?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...(init.headers ?? {}) };
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  const res = await fetch(base + path, { method, headers, body: init.body === undefined ? undefined : JSON.stringify(init.body) });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined, headers: res.headers };
}
const reasonOf = (a: { json: any }) => a.json?.details?.find((d: any) => d['@type']?.endsWith('ErrorInfo'))?.reason;

/** Writes raw bytes on a fresh socket and reads until the server closes it (or `ms` pass). */
function rawExchange(port: number, bytes: string, ms = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(bytes));
    let out = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(out);
    }, ms);
    socket.on('data', (d) => (out += d.toString('latin1')));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(out);
    });
    socket.on('error', reject);
  });
}
const statusLine = (raw: string) => Number(raw.split(' ')[1]);
const rawBody = (raw: string) => JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4));

/**
 * Calls the services completed (grpc_server_handled_total of acme.* services), or of `method`
 * alone. The gateway's own key-set fetch (GetJwks) is not a call an attacker made.
 */
async function upstreamCalls(method?: string): Promise<number> {
  let total = 0;
  for (const service of [users, content]) {
    const text = await (await fetch(`http://${service.metricsAddress!}/metrics`)).text();
    for (const m of text.matchAll(/^grpc_server_handled_total\{([^}]*)\} (\d+)$/gm)) {
      const name = /grpc_method="([^"]+)"/.exec(m[1])?.[1];
      if (!/grpc_service="acme\./.test(m[1]) || name === 'GetJwks' || (method !== undefined && name !== method)) continue;
      total += Number(m[2]);
    }
  }
  return total;
}

/** Runs `attack` and asserts that no call reached the services meanwhile. */
async function unreached<T>(attack: () => Promise<T>): Promise<T> {
  const before = await upstreamCalls();
  const result = await attack();
  expect(await upstreamCalls()).toBe(before);
  return result;
}

async function signUp(email: string) {
  const created = await call('POST', '/v1/users', { body: { email, displayName: email.split('@')[0], password: 'correct horse' } });
  const session = await call('POST', '/v1/sessions', { body: { email, password: 'correct horse' } });
  return { id: created.json.id as string, token: session.json.accessToken as string };
}

beforeAll(async () => {
  users = await startUserService(
    {
      userAddr: '127.0.0.1:0',
      dataDir: dir.path,
      databaseUrl: undefined,
      userAdminEmails: ['admin@example.com'],
      accountCacheMs: WINDOW_MS,
      metricsPort: 0,
    },
    silentLogger,
  );
  content = await startContentService(
    { contentAddr: '127.0.0.1:0', userServiceTarget: users.address, dataDir: dir.path, databaseUrl: undefined, accountCacheMs: WINDOW_MS, metricsPort: 0 },
    silentLogger,
  );
  gateway = await startGateway(
    resolveConfig({
      port: 0,
      upstreams: { 'acme.user.v1': users.address, 'acme.content.v1': content.address },
      bodyLimit: 64 * 1024,
      limits: { requestTimeoutMs: 1500, headersTimeoutMs: 1000, maxBufferedBodyBytes: 256 * 1024, maxStreamsPerClient: 3 },
      // This suite signs up many users from one address; the limits have their own gateway below.
      rateLimit: { overrides: { 'acme.user.v1.UserService': { requestsPerMinute: 0, burst: 1 } } },
    }),
    false,
  );
  base = `http://127.0.0.1:${gateway.port}`;
  admin = await signUp('admin@example.com');
  alice = await signUp('alice@example.com');
}, 120_000);

afterAll(async () => {
  await gateway?.close();
  await content?.close();
  await users?.close();
  dir.remove();
});

describe('forged and unacceptable tokens are refused at the edge', () => {
  const claims = () => new SignJWT({ role: 'admin', ver: 1 }).setSubject(admin.id).setIssuer('acme-user').setAudience('acme');

  it.each<[string, () => Promise<string>]>([
    [
      'alg none',
      async () =>
        `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub: admin.id, role: 'admin', iss: 'acme-user', aud: 'acme', exp: 9e9 })).toString('base64url')}.`,
    ],
    [
      'HS256 keyed with the public key (algorithm confusion)',
      async () => {
        const jwks = (await (await fetch(`${base}/.well-known/jwks.json`)).json()) as { keys: { x: string; kid: string }[] };
        return claims().setProtectedHeader({ alg: 'HS256', kid: jwks.keys[0].kid }).setExpirationTime('1h').sign(Buffer.from(jwks.keys[0].x));
      },
    ],
    [
      'a tampered payload',
      async () => {
        const [h, , s] = alice.token.split('.');
        const payload = JSON.parse(Buffer.from(alice.token.split('.')[1], 'base64url').toString());
        return `${h}.${Buffer.from(JSON.stringify({ ...payload, role: 'admin', sub: admin.id })).toString('base64url')}.${s}`;
      },
    ],
    ['an expired token', async () => (await issueAccessToken(await loadOrCreateSigningKey(dir.path), BigInt(alice.id), 'user', 1, -60)).token],
    [
      'a token not valid yet (nbf)',
      async () => {
        const key = await loadOrCreateSigningKey(dir.path);
        return claims().setProtectedHeader({ alg: 'EdDSA', kid: key.kid }).setExpirationTime('2h').setNotBefore('1h').sign(key.privateKey);
      },
    ],
    [
      'a token without exp (item 8)',
      async () => {
        const key = await loadOrCreateSigningKey(dir.path);
        return claims().setProtectedHeader({ alg: 'EdDSA', kid: key.kid }).sign(key.privateKey);
      },
    ],
    [
      'a wrong issuer',
      async () => {
        const key = await loadOrCreateSigningKey(dir.path);
        return claims().setIssuer('evil').setProtectedHeader({ alg: 'EdDSA', kid: key.kid }).setExpirationTime('1h').sign(key.privateKey);
      },
    ],
    [
      'a wrong audience',
      async () => {
        const key = await loadOrCreateSigningKey(dir.path);
        return claims().setAudience('other').setProtectedHeader({ alg: 'EdDSA', kid: key.kid }).setExpirationTime('1h').sign(key.privateKey);
      },
    ],
    [
      'an unknown kid',
      async () => {
        const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
        return claims().setProtectedHeader({ alg: 'EdDSA', kid: 'nobody' }).setExpirationTime('1h').sign(privateKey);
      },
    ],
    [
      'an attacker key under the real kid, with an embedded jwk',
      async () => {
        const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
        const { kid } = decodeProtectedHeader(alice.token);
        return claims()
          .setProtectedHeader({ alg: 'EdDSA', kid, jwk: await exportJWK(publicKey) })
          .setExpirationTime('1h')
          .sign(privateKey);
      },
    ],
  ])('%s: 401, the services never reached, and nobody was deleted', async (_what, forge) => {
    const victim = await signUp(`victim-${Math.random().toString(36).slice(2)}@example.com`);
    const token = await forge();
    const res = await unreached(() => call('DELETE', `/v1/users/${victim.id}`, { token }));
    expect([res.status, reasonOf(res)]).toEqual([401, 'UNAUTHENTICATED']);
    expect((await call('GET', `/v1/users/${victim.id}`, { token: admin.token })).status).toBe(200);
  });

  it('a token in the query string is not a credential: 401, the services never reached', async () => {
    const res = await unreached(() => call('GET', `/v1/users?access_token=${admin.token}`));
    expect([res.status, reasonOf(res)]).toEqual([401, 'UNAUTHENTICATED']);
  });

  it('spoofed identity headers are not a credential: 401, the services never reached', async () => {
    const res = await unreached(() => call('GET', '/v1/users', { headers: { 'x-user-id': admin.id, 'x-role': 'admin', 'grpc-metadata-x-user-id': admin.id } }));
    expect([res.status, reasonOf(res)]).toEqual([401, 'UNAUTHENTICATED']);
  });
});

describe('revocation through the gateway (items 1, 2)', () => {
  it("a deleted user's token stops working", async () => {
    const gone = await signUp('gone@example.com');
    expect((await call('POST', '/v1/posts', { token: gone.token, body: { title: 'before' } })).status).toBe(201);
    expect((await call('DELETE', `/v1/users/${gone.id}`, { token: gone.token })).status).toBe(204);
    expect((await call('GET', '/v1/users', { token: gone.token })).status).toBe(401);
    await new Promise((r) => setTimeout(r, WINDOW_MS + 50));
    const res = await call('POST', '/v1/posts', { token: gone.token, body: { title: 'after' } });
    expect(res.status).toBe(401);
    const listed = await call('GET', `/v1/users/${gone.id}/posts`, { token: admin.token });
    expect(listed.json.posts.map((p: { title: string }) => p.title)).toEqual(['before']);
  });

  it("a demoted admin's old token cannot delete another user", async () => {
    const eve = await signUp('eve@example.com');
    await call('PATCH', `/v1/users/${eve.id}?updateMask=role`, { token: admin.token, body: { role: 'ROLE_ADMIN' } });
    const eveAdmin = (await call('POST', '/v1/sessions', { body: { email: 'eve@example.com', password: 'correct horse' } })).json.accessToken;
    await call('PATCH', `/v1/users/${eve.id}?updateMask=role`, { token: admin.token, body: { role: 'ROLE_USER' } });
    const victim = await signUp('victim2@example.com');
    expect((await call('DELETE', `/v1/users/${victim.id}`, { token: eveAdmin })).status).toBe(401);
    expect((await call('GET', `/v1/users/${victim.id}`, { token: admin.token })).status).toBe(200);
  });

  it('the configured admin address cannot be re-claimed (item 3)', async () => {
    await call('PATCH', `/v1/users/${admin.id}?updateMask=email`, { token: admin.token, body: { email: 'chief@example.com' } });
    const claimed = await call('POST', '/v1/users', { body: { email: 'Admin@Example.com', displayName: 'x', password: 'correct horse' } });
    expect([claimed.status, claimed.json.role]).toEqual([201, 'ROLE_USER']);
  });
});

describe('input and metadata (items 6, 7, 9)', () => {
  it.each([
    ['NUL in a title', '/v1/posts', { title: 'a\u0000b' }, 'post.title'],
    ['NUL in a body', '/v1/posts', { title: 't', body: 'a\u0000b' }, 'post.body'],
  ])('%s: 400 naming the field, nothing stored', async (_what, path, body, field) => {
    const before = await upstreamCalls('CreatePost');
    const res = await call('POST', path, { token: alice.token, body });
    expect([res.status, reasonOf(res)]).toEqual([400, expect.any(String)]);
    expect(JSON.stringify(res.json)).toContain(field);
    // Refused by the gateway's buf.validate check or by the service's own: no post either way.
    const mine = await call('GET', `/v1/users/${alice.id}/posts?pageSize=100`, { token: alice.token });
    expect(JSON.stringify(mine.json)).not.toContain('\\u0000');
    expect(await upstreamCalls('CreatePost')).toBeLessThanOrEqual(before + 1);
  });

  it.each([
    ['a stray 0xFF', [0xff]],
    ['a truncated sequence', [0xe2, 0x82]],
    ['an overlong "/"', [0xc0, 0xaf]],
    ['an encoded surrogate', [0xed, 0xa0, 0x80]],
  ])('invalid UTF-8 in a JSON string (%s): 400 INVALID_UTF8, nothing stored as U+FFFD', async (_what, bytes) => {
    const title = `utf8-attack-${bytes.join('-')}`;
    const body = Buffer.concat([Buffer.from(`{"title":"${title}`), Buffer.from(bytes), Buffer.from('","body":"b"}')]);
    const res = await unreached(() =>
      fetch(`${base}/v1/posts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${alice.token}` },
        body,
      }),
    );
    const status = { status: res.status, json: await res.json() };
    expect([status.status, reasonOf(status)]).toEqual([400, 'INVALID_UTF8']);
    const mine = await call('GET', `/v1/users/${alice.id}/posts?pageSize=100`, { token: alice.token });
    expect(JSON.stringify(mine.json)).not.toContain(title);
  });

  it('NUL in a display name or email: 400, no account', async () => {
    const res = await call('POST', '/v1/users', { body: { email: 'n\u0000@example.com', displayName: 'a\u0000', password: 'correct horse' } });
    expect([res.status, reasonOf(res)]).toEqual([400, expect.any(String)]);
    const all = await call('GET', '/v1/users?pageSize=100', { token: admin.token });
    expect(JSON.stringify(all.json)).not.toContain('n\\u0000@');
  });

  it('an id past int64 in the path: 400, not 500', async () => {
    // An int64 path field: refused by the gateway.
    const id = await unreached(() => call('GET', '/v1/posts/9223372036854775808'));
    expect([id.status, reasonOf(id)]).toEqual([400, 'INVALID_PATH_PARAMETER']);
    // A resource name (a string field, users/*/posts/*): the service parses it and names the field.
    const name = await call('GET', `/v1/users/${alice.id}/posts/9223372036854775808`);
    expect([name.status, name.json.code]).toEqual([400, 3]);
    expect(JSON.stringify(name.json)).toContain('"name"');
  });

  it.each(['0x10', '0b11', '007', '%2B1', '%201', '9223372036854775808', '-0'])(
    'int64 text %s in path, query or body: 400 naming the field (strict decimal), the services never reached',
    async (text) => {
      const decoded = decodeURIComponent(text);
      for (const [attempt, reason, field] of [
        [() => call('GET', `/v1/posts/${text}`), 'INVALID_PATH_PARAMETER', 'id'],
        [() => call('GET', `/v1/posts?authorId=${text}`), 'INVALID_FIELD', 'authorId'],
        // PATCH's body is the User; its id (int64) given as text in the JSON.
        [
          () => call('PATCH', `/v1/users/${alice.id}?updateMask=displayName`, { token: alice.token, body: { id: decoded, displayName: 'renamed' } }),
          'INVALID_FIELD',
          'user.id',
        ],
      ] as const) {
        const res = await unreached(attempt);
        expect([res.status, reasonOf(res), res.json.details[1].fieldViolations[0].field]).toEqual([400, reason, field]);
      }
    },
  );

  it('Grpc-Metadata-Authorization carrying a second identity: 400, whichever comes first', async () => {
    for (const headers of <Record<string, string>[]>[
      { 'grpc-metadata-authorization': `Bearer ${admin.token}`, authorization: `Bearer ${alice.token}` },
      { 'grpc-metadata-authorization': `Bearer ${admin.token}` },
    ]) {
      const res = await unreached(() => call('GET', '/v1/posts', { headers }));
      expect([res.status, reasonOf(res)]).toEqual([400, 'INVALID_HEADER']);
    }
  });

  it('600 Grpc-Metadata-* headers: 431, not 429', async () => {
    const headers = Object.fromEntries(Array.from({ length: 600 }, (_, i) => [`grpc-metadata-x${i}`, 'v']));
    const res = await unreached(() => call('GET', '/v1/posts', { headers }));
    expect([res.status, reasonOf(res)]).toEqual([431, 'HEADERS_TOO_LARGE']);
  });

  it('encoded slashes and traversal do not escape the route, the services never reached', async () => {
    await unreached(async () => {
      const encoded = await call('GET', '/v1/users/..%2F..%2Fadmin', { token: alice.token });
      expect([encoded.status, reasonOf(encoded)]).toEqual([400, 'INVALID_PATH_PARAMETER']);
      // Sent raw: fetch would resolve %2e%2e itself.
      const dots = await rawExchange(gateway.port, 'GET /v1/posts/%2e%2e HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      expect([statusLine(dots), reasonOf({ json: rawBody(dots) })]).toEqual([400, 'INVALID_PATH_PARAMETER']);
      const up = await rawExchange(gateway.port, 'GET /v1/posts/../users HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      expect([statusLine(up), reasonOf({ json: rawBody(up) })]).toEqual([404, 'ROUTE_NOT_FOUND']);
    });
  });
});

describe('the HTTP layer (items 4, 10)', () => {
  it.each([
    ['a bare CR in a header (CRLF injection)', 'GET /v1/posts HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n', 400],
    [
      'Content-Length with Transfer-Encoding (smuggling)',
      'POST /v1/posts HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      400,
    ],
    ['a malformed request line', 'GARBAGE\r\n\r\n', 400],
    ['headers past the parser limit', `GET /v1/posts HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431],
  ])('%s: a google.rpc.Status body and Connection: close, the services never reached', async (_what, bytes, status) => {
    const raw = await unreached(() => rawExchange(gateway.port, bytes));
    expect(statusLine(raw)).toBe(status);
    expect(raw).toMatch(/\r\nConnection: close\r\n/i);
    expect(rawBody(raw)).toMatchObject({ code: 3, message: expect.any(String) });
  });

  it('a bad percent-escape in the path: 400 Status body, the services never reached', async () => {
    const res = await unreached(() => call('GET', '/v1/posts/%zz'));
    expect([res.status, res.json.code, reasonOf(res)]).toEqual([400, 3, 'INVALID_PATH_PARAMETER']);
  });

  it('open watch streams are capped per client (item 13); a closed one frees its slot', async () => {
    const open = () =>
      new Promise<http.ClientRequest & { status?: number }>((resolve, reject) => {
        const req = http.get(`${base}/v1/posts:watch`, (res) => resolve(Object.assign(req, { status: res.statusCode })));
        req.on('error', reject);
      });
    const held = [await open(), await open(), await open()];
    expect(held.map((r) => r.status)).toEqual([200, 200, 200]);
    const refused = await unreached(() => call('GET', '/v1/posts:watch'));
    expect([refused.status, reasonOf(refused)]).toEqual([429, 'TOO_MANY_STREAMS']);
    held[0].destroy();
    await new Promise((r) => setTimeout(r, 200));
    const again = await open();
    expect(again.status).toBe(200);
    for (const r of [again, ...held]) r.destroy();
  });

  it('a body over the limit: 413, the services never reached', async () => {
    const res = await unreached(() => call('POST', '/v1/posts', { token: alice.token, body: { title: 't', body: 'x'.repeat(70 * 1024) } }));
    expect([res.status, reasonOf(res)]).toEqual([413, 'BODY_TOO_LARGE']);
  });

  it('security headers on every answer', async () => {
    const res = await call('GET', '/v1/posts');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('server')).toBeNull();
  });

  it('slow bodies time out, the buffered-body budget holds, none reaches the service, and normal requests keep their latency', async () => {
    const latency = async () => {
      const times: number[] = [];
      for (let i = 0; i < 5; i++) {
        const t = performance.now();
        expect((await call('GET', '/v1/posts')).status).toBe(200);
        times.push(performance.now() - t);
      }
      return times.sort((a, b) => a - b)[2];
    };
    const baseline = await latency();
    const created = await upstreamCalls('CreatePost');
    const started = Date.now();
    const head = (len: number) =>
      `POST /v1/posts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer ${alice.token}\r\nContent-Length: ${len}\r\n\r\n`;
    // Eight clients each send 60 KiB of a 64 KiB body and stall: 480 KiB > the 256 KiB budget.
    const stalled = Array.from({ length: 8 }, () => rawExchange(gateway.port, head(64 * 1024 - 1) + '{"title":"' + 'x'.repeat(60 * 1024), 6000));
    await new Promise((r) => setTimeout(r, 300));
    // Against this run's own baseline, with a generous factor (a loaded machine).
    expect(await latency()).toBeLessThan(baseline * 10 + 100);
    const answers = await Promise.all(stalled);
    const statuses = answers.map(statusLine).sort();
    // Some were refused by the budget (503 OVERLOADED), the rest cut by the request timeout (408).
    expect(statuses.every((s) => s === 408 || s === 503)).toBe(true);
    expect(statuses).toContain(503);
    expect(Date.now() - started).toBeLessThan(6000);
    expect(await upstreamCalls('CreatePost')).toBe(created);
  });
});

describe('rate limits (item 5)', () => {
  it('a password-guessing burst on /v1/sessions gets 429 RESOURCE_EXHAUSTED with Retry-After; other callers and routes are unaffected', async () => {
    const limited = await startGateway(resolveConfig({ port: 0, upstreams: { 'acme.user.v1': users.address, 'acme.content.v1': content.address } }), false);
    try {
      const b = `http://127.0.0.1:${limited.port}`;
      const guess = () =>
        fetch(`${b}/v1/sessions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ email: 'alice@example.com', password: 'wrong guess' }),
        });
      const logins = await upstreamCalls('Login');
      const answers = await Promise.all(Array.from({ length: 15 }, guess));
      const statuses = answers.map((r) => r.status);
      // The proto's Login limit: a burst of 10, then 30 a minute (one more may refill meanwhile).
      const refusedCount = statuses.filter((s) => s === 429).length;
      expect(statuses.filter((s) => s === 401).length + refusedCount).toBe(15);
      expect(refusedCount).toBeGreaterThanOrEqual(4);
      // Only the guesses let through reached the user service (and its scrypt).
      expect(await upstreamCalls('Login')).toBe(logins + 15 - refusedCount);
      const refused = answers.find((r) => r.status === 429)!;
      const body = (await refused.json()) as { code: number; details: { reason?: string }[] };
      expect(body.code).toBe(8);
      expect(body.details.find((d) => d.reason)?.reason).toBe('RATE_LIMITED');
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(refused.headers.get('ratelimit-limit')).toBe('10');
      expect(refused.headers.get('ratelimit-remaining')).toBe('0');
      // Another route (its own bucket, the default limit) still answers.
      expect((await fetch(`${b}/v1/posts`)).status).toBe(200);
    } finally {
      await limited.close();
    }
  });

  it('a flood past a configured route limit is refused without reaching the upstream', async () => {
    const limited = await startGateway(
      resolveConfig({
        port: 0,
        upstreams: { 'acme.user.v1': users.address, 'acme.content.v1': content.address },
        rateLimit: { overrides: { 'acme.content.v1.ContentService/CreatePost': { requestsPerMinute: 60, burst: 3 } } },
      }),
      false,
    );
    try {
      const b = `http://127.0.0.1:${limited.port}`;
      const created = await upstreamCalls('CreatePost');
      const flood = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          fetch(`${b}/v1/posts`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${alice.token}` },
            body: JSON.stringify({ title: `flood ${i}` }),
          }),
        ),
      );
      const statuses = flood.map((r) => r.status).sort();
      expect(statuses.filter((s) => s === 201)).toHaveLength(3);
      expect(statuses.filter((s) => s === 429)).toHaveLength(17);
      expect(await upstreamCalls('CreatePost')).toBe(created + 3);
      const mine = await call('GET', `/v1/users/${alice.id}/posts?pageSize=100`, { token: alice.token });
      expect(mine.json.posts.filter((p: { title: string }) => p.title.startsWith('flood '))).toHaveLength(3);
    } finally {
      await limited.close();
    }
  });
});

describe('the JWKS source down (item 12)', () => {
  it('public routes work, token or not; protected routes with a token answer 503', async () => {
    const blind = await startGateway(resolveConfig({ port: 0, upstreams: { 'acme.user.v1': '127.0.0.1:1', 'acme.content.v1': content.address } }), false);
    try {
      const b = `http://127.0.0.1:${blind.port}`;
      expect((await fetch(`${b}/v1/posts`)).status).toBe(200);
      expect((await fetch(`${b}/v1/posts`, { headers: { authorization: `Bearer ${alice.token}` } })).status).toBe(200);
      expect((await fetch(`${b}/v1/users`, { headers: { authorization: `Bearer ${alice.token}` } })).status).toBe(503);
    } finally {
      await blind.close();
    }
  });
});
