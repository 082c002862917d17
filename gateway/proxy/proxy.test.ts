/**
 * Plain HTTP routes end to end: the gateway in this process, its HTTP upstreams as separate
 * processes (test-support/http-upstream-main.ts) on loopback.
 */
import { createHash, randomBytes } from 'node:crypto';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import * as path from 'node:path';
import { freePort } from '../../shared-kit/free-port';
import { NodeProcess, stopAll } from '../../shared-kit/test-support/node-process';
import { startHarness, type Harness } from '../test-support/gateway-harness';

const MAIN = path.join(__dirname, 'test-support', 'http-upstream-main.ts');

interface Upstream {
  readonly proc: NodeProcess;
  readonly url: string;
  readonly port: number;
}

async function startUpstream(name: string): Promise<Upstream> {
  const proc = new NodeProcess(MAIN, ['--name', name], { NODE_OPTIONS: '--disable-warning=MODULE_TYPELESS_PACKAGE_JSON' });
  const port = await proc.port();
  return { proc, port, url: `http://127.0.0.1:${port}` };
}

interface Raw {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** A request with node:http (Host and raw paths as given), its whole answer. */
function raw(base: string, method: string, rawPath: string, headers: Record<string, string> = {}, body?: Buffer): Promise<Raw> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: hostname, port, method, path: rawPath, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const json = (r: Raw): Record<string, unknown> => JSON.parse(r.body) as Record<string, unknown>;
const reasonOf = (r: Raw): string | undefined => (json(r).details as { reason?: string }[] | undefined)?.find((d) => d.reason)?.reason;

let a: Upstream;
let b: Upstream;
let victim: Upstream;
let deadPort: number;
let h: Harness;

beforeAll(async () => {
  [a, b, victim, deadPort] = await Promise.all([startUpstream('a'), startUpstream('b'), startUpstream('victim'), freePort()]);
  h = await startHarness({
    docs: false,
    httpRoutes: {
      prefix: '/api',
      routes: {
        legacy: { path: '/legacy/**', upstreams: a.url },
        keep: { path: '/keep/**', upstreams: `${a.url}/base/`, stripPrefix: false },
        exact: { path: '/ping', upstreams: a.url },
        rr: { path: '/rr/**', upstreams: [a.url, b.url] },
        optin: { path: '/optin/**', upstreams: a.url, sensitiveHeaders: [], host: 'preserve' },
        dead: { path: '/dead/**', upstreams: `http://127.0.0.1:${deadPort}`, optional: true, healthIntervalMs: 100 },
        timeout: { path: '/timeout/**', upstreams: a.url, timeoutMs: 300 },
        flaky: { path: '/flaky/**', upstreams: a.url, retry: { maxAttempts: 3, initialBackoffMs: 1, maxBackoffMs: 5 } },
        victim: { path: '/victim/**', upstreams: victim.url, healthIntervalMs: 100 },
      },
    },
  });
}, 60_000);

afterAll(async () => {
  await h?.close();
  await stopAll();
});

describe('paths', () => {
  it.each([
    ['/api/legacy/a/b?c=d&e', '/a/b?c=d&e'],
    ['/api/legacy', '/'],
    ['/api/legacy/', '/'],
    ['/api/legacy/x%2Fy', '/x%2Fy'],
    ['/api/keep/a?z=1', '/base/keep/a?z=1'],
    ['/api/ping', '/'],
  ])('%s goes upstream as %s', async (sent, seen) => {
    const r = await raw(h.baseUrl, 'GET', sent);
    expect(r.status).toBe(200);
    expect(json(r).url).toBe(seen);
  });

  it('answers 404 outside the routes, and 400 for a ".." segment', async () => {
    expect((await raw(h.baseUrl, 'GET', '/api/legacyx')).status).toBe(404);
    expect((await raw(h.baseUrl, 'GET', '/api/ping/more')).status).toBe(404);
    const r = await raw(h.baseUrl, 'GET', '/api/legacy/../../etc/passwd');
    expect(r.status).toBe(400);
    expect(reasonOf(r)).toBe('BAD_REQUEST');
  });
});

describe('headers', () => {
  const sent = {
    host: 'client.example',
    cookie: 'session=abc',
    authorization: 'Bearer not-for-the-upstream',
    'proxy-authorization': 'Basic eA==',
    'x-forwarded-for': '10.0.0.1',
    'x-forwarded-host': 'evil.example',
    'x-forwarded-proto': 'https',
    'x-custom': 'kept',
  };

  it('drops sensitive and hop-by-hop headers, sets X-Forwarded-*, rewrites Host', async () => {
    const r = await raw(h.baseUrl, 'GET', '/api/legacy/echo', sent);
    const seen = json(r).headers as Record<string, string>;
    expect(seen.cookie).toBeUndefined();
    expect(seen.authorization).toBeUndefined();
    expect(seen['proxy-authorization']).toBeUndefined();
    expect(seen['x-custom']).toBe('kept');
    expect(seen.host).toBe(`127.0.0.1:${a.port}`);
    expect(seen['x-forwarded-for']).toBe('10.0.0.1, 127.0.0.1');
    // Not from a trusted proxy: the client's own claims are replaced.
    expect(seen['x-forwarded-host']).toBe('client.example');
    expect(seen['x-forwarded-proto']).toBe('http');
    expect(seen['x-forwarded-prefix']).toBe('/api/legacy');
    expect(r.headers['x-request-id']).toBe(seen['x-request-id']);
  });

  it('drops Set-Cookie from the answer unless the route opts in', async () => {
    const dropped = await raw(h.baseUrl, 'GET', '/api/legacy/set-cookie');
    expect(dropped.headers['set-cookie']).toBeUndefined();
    expect(dropped.headers['x-upstream']).toBe('a');
    const kept = await raw(h.baseUrl, 'GET', '/api/optin/set-cookie');
    expect(kept.headers['set-cookie']).toEqual(['session=secret; HttpOnly']);
  });

  it('forwards what a route opts in to, and preserves Host when asked', async () => {
    const seen = json(await raw(h.baseUrl, 'GET', '/api/optin/echo', sent)).headers as Record<string, string>;
    expect(seen.cookie).toBe('session=abc');
    expect(seen.authorization).toBe('Bearer not-for-the-upstream');
    expect(seen['proxy-authorization']).toBeUndefined();
    expect(seen.host).toBe('client.example');
  });
});

describe('streaming', () => {
  it('streams a large chunked upload upstream as it arrives', async () => {
    const { hostname, port } = new URL(h.baseUrl);
    const parts = Array.from({ length: 256 }, () => randomBytes(64 * 1024)); // 16 MiB
    const sha256 = createHash('sha256').update(Buffer.concat(parts)).digest('hex');
    let secondHalfAt = 0;
    const answer = await new Promise<Raw>((resolve, reject) => {
      const req = httpRequest(
        { host: hostname, port, method: 'POST', path: '/api/legacy/upload', headers: { 'content-type': 'application/octet-stream' } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString() }));
        },
      );
      req.on('error', reject);
      for (const p of parts.slice(0, 128)) req.write(p);
      setTimeout(() => {
        secondHalfAt = Date.now();
        for (const p of parts.slice(128)) req.write(p);
        req.end();
      }, 500);
    });
    expect(answer.status).toBe(200);
    const got = json(answer);
    expect(got.bytes).toBe(16 * 1024 * 1024);
    expect(got.sha256).toBe(sha256);
    // The upstream had the first bytes before the client sent its second half.
    expect(got.firstChunkAt as number).toBeLessThan(secondHalfAt);
  });

  it('streams a slow chunked answer back chunk by chunk', async () => {
    const { hostname, port } = new URL(h.baseUrl);
    const arrivals: number[] = [];
    let text = '';
    await new Promise<void>((resolve, reject) => {
      httpRequest({ host: hostname, port, path: '/api/legacy/slow?n=5&ms=200' }, (res) => {
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
          arrivals.push(Date.now());
        });
        res.on('end', resolve);
      })
        .on('error', reject)
        .end();
    });
    const lines = text.trim().split('\n');
    expect(lines).toHaveLength(5);
    expect(arrivals.length).toBeGreaterThanOrEqual(4);
    // Each chunk reached the client about when the upstream wrote it, not all at the end.
    const sentAt = lines.map((l) => Number(l.split(' ')[2]));
    expect(arrivals[0] - sentAt[0]).toBeLessThan(150);
    expect(arrivals[arrivals.length - 1] - arrivals[0]).toBeGreaterThan(600);
  });
});

describe('upstreams', () => {
  it('takes the upstreams in turn', async () => {
    const names: unknown[] = [];
    for (let i = 0; i < 4; i++) names.push(json(await raw(h.baseUrl, 'GET', '/api/rr/who')).name);
    expect(new Set(names)).toEqual(new Set(['a', 'b']));
    expect(names[0]).not.toBe(names[1]);
    expect(names[2]).toBe(names[0]);
    expect(names[3]).toBe(names[1]);
  });

  it('answers a fast 503 for a dead upstream, without its address', async () => {
    const started = Date.now();
    const r = await raw(h.baseUrl, 'GET', '/api/dead/x');
    expect(Date.now() - started).toBeLessThan(1000);
    expect(r.status).toBe(503);
    expect(r.headers['content-type']).toBe('application/json');
    expect(reasonOf(r)).toBe('UPSTREAM_UNAVAILABLE');
    expect(json(r).message).toBe('http:dead is unavailable');
    expect(r.body).not.toContain('127.0.0.1');
    expect(r.body).not.toContain(String(deadPort));
  });

  it('answers 504 when the upstream does not answer in time', async () => {
    const started = Date.now();
    const r = await raw(h.baseUrl, 'GET', '/api/timeout/late?ms=3000');
    expect(Date.now() - started).toBeLessThan(2000);
    expect(r.status).toBe(504);
    expect(reasonOf(r)).toBe('DEADLINE_EXCEEDED');
  });
});

describe('retries', () => {
  const count = async (key: string): Promise<unknown> => json(await raw(a.url, 'GET', `/count?key=${key}`)).count;

  it('retries a GET that met a 503 or a dropped connection', async () => {
    const flaky = await raw(h.baseUrl, 'GET', '/api/flaky/flaky?key=g1&fail=2');
    expect(flaky.status).toBe(200);
    expect(await count('g1')).toBe(3);
    const reset = await raw(h.baseUrl, 'GET', '/api/flaky/reset?key=g2&fail=1');
    expect(reset.status).toBe(200);
    expect(await count('g2')).toBe(2);
  });

  it('never retries a POST', async () => {
    const flaky = await raw(h.baseUrl, 'POST', '/api/flaky/flaky?key=p1&fail=1', { 'content-type': 'application/json' }, Buffer.from('{}'));
    expect(flaky.status).toBe(503);
    expect(json(flaky).flaky).toBe(true); // the upstream's own answer, passed through
    expect(await count('p1')).toBe(1);
    const reset = await raw(h.baseUrl, 'POST', '/api/flaky/reset?key=p2&fail=1', { 'content-type': 'application/json' }, Buffer.from('{}'));
    expect(reset.status).toBe(503);
    expect(reasonOf(reset)).toBe('UPSTREAM_UNAVAILABLE');
    expect(await count('p2')).toBe(1);
  });

  it('gives up after maxAttempts and passes the last answer on', async () => {
    const r = await raw(h.baseUrl, 'GET', '/api/flaky/flaky?key=g3&fail=10');
    expect(r.status).toBe(503);
    expect(await count('g3')).toBe(3);
  });
});

describe('readiness and metrics', () => {
  const readyz = async (): Promise<{
    status: number;
    body: { ready: boolean; notServing: string[]; upstreams: Record<string, { health: string; required: boolean }> };
  }> => {
    const r = await raw(h.baseUrl, 'GET', '/readyz');
    return { status: r.status, body: JSON.parse(r.body) };
  };
  const until = async (check: () => Promise<boolean>, ms = 5000): Promise<void> => {
    const end = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > end) throw new Error('condition not met in time');
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  it('lists every HTTP route in /readyz; a dead optional one does not make the gateway unready', async () => {
    await until(async () => (await readyz()).body.upstreams['http:dead']?.health === 'UNREACHABLE');
    const { status, body } = await readyz();
    expect(status).toBe(200);
    expect(body.upstreams['http:legacy']).toMatchObject({ required: true });
    expect(body.upstreams['http:dead']).toMatchObject({ health: 'UNREACHABLE', required: false });
    expect(JSON.stringify(body)).not.toContain('127.0.0.1');
  });

  it('a killed upstream shows in /readyz (503, named) and its route answers 503', async () => {
    await until(async () => (await readyz()).body.upstreams['http:victim']?.health === 'SERVING');
    victim.proc.kill('SIGKILL');
    await victim.proc.exited;
    await until(async () => (await readyz()).status === 503);
    const { body } = await readyz();
    expect(body.notServing).toEqual(['http:victim']);
    const r = await raw(h.baseUrl, 'GET', '/api/victim/x');
    expect(r.status).toBe(503);
    expect(reasonOf(r)).toBe('UPSTREAM_UNAVAILABLE');
  });

  it('counts requests by route pattern', async () => {
    const text = (await raw(h.baseUrl, 'GET', '/metrics')).body;
    expect(text).toMatch(/gateway_http_requests_total\{route="\/api\/legacy\/\*\*",method="GET",status="200"\} [1-9]/);
    expect(text).toContain('gateway_upstream_breaker_state{service="http:legacy",state="off"} 1');
  });
});
