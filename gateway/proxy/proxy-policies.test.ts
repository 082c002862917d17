/**
 * The edge policies on plain HTTP routes: auth from config (a JWKS served on loopback), the
 * per-route rate limit and the route's circuit breaker; the upstream is its own process.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { exportJWK, generateKeyPair, SignJWT, type KeyLike } from 'jose';
import { freePort } from '../../shared-kit/free-port';
import { NodeProcess, stopAll } from '../../shared-kit/test-support/node-process';
import { startHarness, type Harness } from '../test-support/gateway-harness';

const MAIN = path.join(__dirname, 'test-support', 'http-upstream-main.ts');

let upstream: string;
let jwks: Server;
let privateKey: KeyLike;
let h: Harness;

const token = (claims: Record<string, unknown> = {}): Promise<string> =>
  new SignJWT({ role: 'user', ...claims })
    .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
    .setSubject('u1')
    .setIssuer('test-issuer')
    .setAudience('test-api')
    .setExpirationTime('5m')
    .sign(privateKey);

async function get(p: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
  const res = await fetch(h.baseUrl + p, { headers });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}
const reasonOf = (body: Record<string, unknown>): string | undefined => (body.details as { reason?: string }[] | undefined)?.find((d) => d.reason)?.reason;

beforeAll(async () => {
  const proc = new NodeProcess(MAIN, ['--name', 'policy'], { NODE_OPTIONS: '--disable-warning=MODULE_TYPELESS_PACKAGE_JSON' });
  upstream = `http://127.0.0.1:${await proc.port()}`;
  const keys = await generateKeyPair('ES256');
  privateKey = keys.privateKey;
  const jwk = { ...(await exportJWK(keys.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  jwks = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
  const dead = `http://127.0.0.1:${await freePort()}`;
  h = await startHarness({
    docs: false,
    auth: { mode: 'jwt', jwks: `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`, issuer: 'test-issuer', audience: 'test-api' },
    httpRoutes: {
      routes: {
        secure: { path: '/secure/**', upstreams: upstream },
        admin: { path: '/admin/**', upstreams: upstream, roles: ['admin'] },
        open: { path: '/open/**', upstreams: upstream, public: true },
        bearer: { path: '/bearer/**', upstreams: upstream, sensitiveHeaders: ['cookie', 'set-cookie'] },
        limited: { path: '/limited/**', upstreams: upstream, public: true, rateLimit: { requestsPerMinute: 60, burst: 2 } },
        breaker: {
          path: '/breaker/**',
          upstreams: dead,
          public: true,
          breaker: { consecutiveFailures: 2, halfOpenAfterMs: 60_000 },
          retry: { maxAttempts: 1 },
        },
      },
    },
  });
}, 60_000);

afterAll(async () => {
  await h?.close();
  await new Promise((resolve) => jwks?.close(resolve));
  await stopAll();
});

describe('auth on plain HTTP routes', () => {
  it('refuses a protected route without a valid token, before any upstream call', async () => {
    const none = await get('/secure/x');
    expect(none.status).toBe(401);
    expect(reasonOf(none.body)).toBe('UNAUTHENTICATED');
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    const forged = await get('/secure/x', { authorization: `Bearer ${(await token()).slice(0, -4)}AAAA` });
    expect(forged.status).toBe(401);
  });

  it('lets a valid token through, and the token stays at the gateway unless the route opts in', async () => {
    const bearer = `Bearer ${await token()}`;
    const secure = await get('/secure/x', { authorization: bearer });
    expect(secure.status).toBe(200);
    expect((secure.body.headers as Record<string, string>).authorization).toBeUndefined();
    const optedIn = await get('/bearer/x', { authorization: bearer });
    expect(optedIn.status).toBe(200);
    expect((optedIn.body.headers as Record<string, string>).authorization).toBe(bearer);
  });

  it('checks roles, and a public route needs no token', async () => {
    expect((await get('/admin/x', { authorization: `Bearer ${await token()}` })).status).toBe(403);
    expect((await get('/admin/x', { authorization: `Bearer ${await token({ role: 'admin' })}` })).status).toBe(200);
    expect((await get('/open/x')).status).toBe(200);
  });
});

describe('limits and breaker on plain HTTP routes', () => {
  it('rate-limits per caller with the route limit', async () => {
    expect((await get('/limited/a')).status).toBe(200);
    expect((await get('/limited/b')).status).toBe(200);
    const refused = await get('/limited/c');
    expect(refused.status).toBe(429);
    expect(reasonOf(refused.body)).toBe('RATE_LIMITED');
    expect(refused.headers.get('retry-after')).toBe('1');
  });

  it('opens the route breaker after consecutive failures: 503 CIRCUIT_OPEN at once', async () => {
    for (let i = 0; i < 2; i++) expect(reasonOf((await get('/breaker/x')).body)).toBe('UPSTREAM_UNAVAILABLE');
    const open = await get('/breaker/x');
    expect(open.status).toBe(503);
    expect(reasonOf(open.body)).toBe('CIRCUIT_OPEN');
    expect(Number(open.headers.get('retry-after'))).toBeGreaterThan(0);
    const ready = (await (await fetch(`${h.baseUrl}/readyz`)).json()) as { upstreams: Record<string, { breaker: string }> };
    expect(ready.upstreams['http:breaker'].breaker).toBe('open');
  });
});
