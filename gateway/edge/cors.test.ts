/**
 * CORS over real sockets: preflights answered 204 (never 405) for listed origins, actual
 * responses (unary, errors, server streams) carrying the allow and expose headers, and an
 * origin that is not listed getting no Access-Control-* header at all.
 */
import { resolveConfig } from '../config';
import { startHarness, type Harness } from '../test-support/gateway-harness';
import { errorReason, rawRequest } from '../test-support/http-client';

const APP = 'https://app.example.com';
const EVIL = 'https://evil.example.net';

const corsHeaders = (headers: Record<string, unknown>): string[] => Object.keys(headers).filter((k) => k.startsWith('access-control-'));

describe('CORS with an allow list', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ docs: false, cors: { origins: [APP, 'http://localhost:3000'], credentials: true } });
  });
  afterAll(() => h.close());

  const preflight = (origin: string, path = '/v1/echo/1', method = 'PATCH', headers = 'authorization, content-type') =>
    rawRequest(`${h.baseUrl}${path}`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': method, 'access-control-request-headers': headers },
    });

  it('answers a preflight from a listed origin with 204 and the allow headers', async () => {
    const res = await preflight(APP);
    expect(res.status).toBe(204);
    expect(res.body.length).toBe(0);
    expect(res.headers['access-control-allow-origin']).toBe(APP);
    expect(res.headers['access-control-allow-credentials']).toBe('true');
    // The methods routed for /v1/echo/{id} (GET, PUT, DELETE), not PATCH: the browser refuses it.
    expect(res.headers['access-control-allow-methods']).toBe('DELETE, GET, PUT');
    expect(res.headers['access-control-allow-headers']).toBe('authorization, content-type');
    expect(res.headers['access-control-max-age']).toBe('600');
    expect(res.headers.vary).toMatch(/Origin/);
    expect(res.headers['x-request-id']).toBeDefined();
  });

  it.each([
    ['/v1/echo', 'POST'],
    // :reverse with POST, and "7:reverse" as the {id} of the other bindings (the 405 Allow says the same).
    ['/v1/echo/7:reverse', 'DELETE, GET, POST, PUT'],
    ['/v1/echo/7/nested', 'PATCH'],
    ['/v1/echo/literal', 'DELETE, GET, PUT'],
    ['/v1/files/a/b/c', 'GET'],
    ['/v1/echo/1?x=1', 'DELETE, GET, PUT'],
  ])('a preflight for %s lists the methods routed there: %s', async (path, methods) => {
    const res = await preflight(APP, path, 'POST');
    expect(res.status).toBe(204);
    expect(res.headers['access-control-allow-methods']).toBe(methods);
  });

  it('a preflight for a path no route serves is answered as the request would be: 404, no allowed methods', async () => {
    const res = await preflight('http://localhost:3000', '/v1/nothing/here', 'POST');
    expect(res.status).toBe(404);
    expect(errorReason(JSON.parse(res.body.toString()))).toBe('ROUTE_NOT_FOUND');
    expect(res.headers['access-control-allow-origin']).toBe('http://localhost:3000');
    expect(res.headers['access-control-allow-methods']).toBeUndefined();
  });

  it('gives an origin that is not listed no CORS headers: its preflight is an ordinary OPTIONS (405)', async () => {
    const res = await preflight(EVIL);
    expect(res.status).toBe(405);
    expect(errorReason(JSON.parse(res.body.toString()))).toBe('METHOD_NOT_ALLOWED');
    expect(corsHeaders(res.headers)).toEqual([]);
    const get = await rawRequest(`${h.baseUrl}/v1/echo/1`, { headers: { origin: EVIL } });
    expect(get.status).toBe(200);
    expect(corsHeaders(get.headers)).toEqual([]);
    expect(get.headers.vary).toMatch(/Origin/);
  });

  it('an origin that differs only in scheme, port or a suffix is not listed', async () => {
    for (const origin of ['http://app.example.com', 'https://app.example.com:8443', 'https://app.example.com.evil.net', 'null']) {
      const res = await preflight(origin);
      expect([origin, res.status, corsHeaders(res.headers)]).toEqual([origin, 405, []]);
    }
  });

  it('an actual request from a listed origin gets the allow and expose headers', async () => {
    const res = await rawRequest(`${h.baseUrl}/v1/echo/1`, { headers: { origin: APP } });
    expect(res.status).toBe(200);
    expect(res.headers['access-control-allow-origin']).toBe(APP);
    expect(res.headers['access-control-allow-credentials']).toBe('true');
    const exposed = String(res.headers['access-control-expose-headers']).split(', ');
    expect(exposed).toEqual(expect.arrayContaining(['x-request-id', 'x-trace-id', 'traceresponse', 'grpc-status', 'retry-after', 'ratelimit-remaining']));
    expect(res.headers['access-control-allow-methods']).toBeUndefined();
  });

  it('errors and server streams carry them too', async () => {
    const failed = await rawRequest(`${h.baseUrl}/v1/fail/5`, { headers: { origin: APP } });
    expect(failed.status).toBe(404);
    expect(failed.headers['access-control-allow-origin']).toBe(APP);
    const stream = await rawRequest(`${h.baseUrl}/v1/expand?count=2&text=s`, { headers: { origin: APP, accept: 'text/event-stream' } });
    expect(stream.status).toBe(200);
    expect(stream.headers['access-control-allow-origin']).toBe(APP);
    expect(stream.headers['access-control-expose-headers']).toMatch(/x-request-id/);
  });

  it('an OPTIONS without Access-Control-Request-Method is no preflight', async () => {
    const res = await rawRequest(`${h.baseUrl}/v1/echo/1`, { method: 'OPTIONS', headers: { origin: APP } });
    expect(res.status).toBe(405);
    expect(res.headers['access-control-allow-origin']).toBe(APP);
  });
});

describe('CORS off (the default) and any origin', () => {
  it('off: no CORS headers, a preflight is an ordinary OPTIONS', async () => {
    const h = await startHarness({ docs: false });
    try {
      const res = await rawRequest(`${h.baseUrl}/v1/echo/1`, { method: 'OPTIONS', headers: { origin: APP, 'access-control-request-method': 'GET' } });
      expect(res.status).toBe(405);
      expect(corsHeaders(res.headers)).toEqual([]);
      expect(res.headers.vary).toBeUndefined();
    } finally {
      await h.close();
    }
  });

  it('"*": any origin, answered with *', async () => {
    const h = await startHarness({ docs: false, cors: { origins: ['*'], maxAgeSeconds: 60, allowedHeaders: ['content-type'] } });
    try {
      const res = await rawRequest(`${h.baseUrl}/v1/echo`, {
        method: 'OPTIONS',
        headers: { origin: EVIL, 'access-control-request-method': 'POST', 'access-control-request-headers': 'x-anything' },
      });
      expect(res.status).toBe(204);
      expect(res.headers['access-control-allow-origin']).toBe('*');
      expect(res.headers['access-control-allow-credentials']).toBeUndefined();
      expect(res.headers['access-control-allow-headers']).toBe('content-type');
      expect(res.headers['access-control-max-age']).toBe('60');
    } finally {
      await h.close();
    }
  });

  it('`methods` bounds what a preflight lists; a plain HTTP route lists what it forwards', async () => {
    const h = await startHarness({
      docs: false,
      cors: { origins: [APP], methods: ['GET', 'PUT', 'POST'] },
      httpRoutes: { routes: { legacy: { path: '/legacy/**', upstreams: 'http://127.0.0.1:1', optional: true } } },
    });
    try {
      const ask = (path: string) => rawRequest(`${h.baseUrl}${path}`, { method: 'OPTIONS', headers: { origin: APP, 'access-control-request-method': 'PUT' } });
      expect((await ask('/v1/echo/1')).headers['access-control-allow-methods']).toBe('GET, PUT');
      const nested = await ask('/v1/echo/1/nested');
      expect([nested.status, nested.headers['access-control-allow-methods']]).toEqual([204, undefined]);
      for (const path of ['/legacy', '/legacy/a/b']) {
        const res = await ask(path);
        expect([path, res.status, res.headers['access-control-allow-methods']]).toEqual([path, 204, 'GET, POST, PUT']);
      }
    } finally {
      await h.close();
    }
  });

  it.each([
    [{ origins: ['*'], credentials: true }, /credentials/],
    [{ origins: ['https://app.example.com/'] }, /scheme:\/\/host/],
    [{ origins: ['HTTPS://APP.EXAMPLE.COM'] }, /lower case/],
    [{ origins: [APP], maxAgeSeconds: -1 }, /maxAgeSeconds/],
    [{ origins: [APP], wildcard: true }, /cors.wildcard/],
  ])('refuses %j at start', (cors, message) => {
    expect(() => resolveConfig({ cors: cors as never })).toThrow(message);
  });
});
