/**
 * End-to-end conformance, part 3: upstream statuses → HTTP (grpc-gateway's
 * HTTPStatusFromCode table) with google.rpc.Status bodies and their details, an unreachable
 * upstream, and deadlines (grpc-timeout header and the configured default).
 */
import * as net from 'node:net';
import { startHarness, type Harness } from '../test-support/gateway-harness';
import { errorReason, readJson, TRANSPORTS, waitFor } from '../test-support/http-client';

const ANY = 'type.googleapis.com/';
const SLOW = '/acme.echo.v1.EchoService/Slow';

const CODES: Array<[code: number, name: string, http: number]> = [
  [1, 'CANCELLED', 499],
  [2, 'UNKNOWN', 500],
  [3, 'INVALID_ARGUMENT', 400],
  [4, 'DEADLINE_EXCEEDED', 504],
  [5, 'NOT_FOUND', 404],
  [6, 'ALREADY_EXISTS', 409],
  [7, 'PERMISSION_DENIED', 403],
  [8, 'RESOURCE_EXHAUSTED', 429],
  [9, 'FAILED_PRECONDITION', 400],
  [10, 'ABORTED', 409],
  [11, 'OUT_OF_RANGE', 400],
  [12, 'UNIMPLEMENTED', 501],
  [13, 'INTERNAL', 500],
  [14, 'UNAVAILABLE', 503],
  [15, 'DATA_LOSS', 500],
  [16, 'UNAUTHENTICATED', 401],
];

/** A loopback port nobody listens on. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe.each(TRANSPORTS)('transcoding over %s: upstream errors and deadlines', (transport) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ transport });
  });
  afterAll(() => h.close());

  it.each(CODES)('code %i (%s) → HTTP %i with a Status body', async (code, _name, http) => {
    const res = await h.request('GET', `/v1/fail/${code}?message=boom%20${code}`);
    expect(res.status).toBe(http);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await readJson(res)).toEqual({ code, message: `boom ${code}`, details: [] });
  });

  // Fail answers with callback(error) where error.code is 0: grpc-js then ends the call with
  // status OK and no message. A unary client must not make up an empty response: both
  // transports report UNIMPLEMENTED "No message received", as @grpc/grpc-js's client does.
  it('code 0: OK without a response message → 501 UNIMPLEMENTED, not an empty 200', async () => {
    const res = await h.request('GET', '/v1/fail/0?message=nothing');
    expect(res.status).toBe(501);
    expect(await readJson(res)).toEqual({ code: 12, message: 'No message received', details: [] });
  });

  it('rich details decode to JSON Any, @type first', async () => {
    const res = await h.request('GET', '/v1/fail/9?message=no&details=true');
    expect(res.status).toBe(400);
    const status = await readJson(res);
    expect(status).toEqual({
      code: 9,
      message: 'no',
      details: [
        { '@type': `${ANY}google.rpc.BadRequest`, fieldViolations: [{ field: 'name', description: 'too short' }] },
        { '@type': `${ANY}google.rpc.ErrorInfo`, reason: 'ECHO_FAILED', domain: 'echo.acme.dev', metadata: { k: 'v' } },
      ],
    });
    for (const detail of status.details) expect(Object.keys(detail)[0]).toBe('@type');
  });

  it('an error keeps upstream headers as grpc-metadata-* headers', async () => {
    const res = await h.request('GET', '/v1/fail/5', { headers: { 'grpc-metadata-foo': 'bar' } });
    expect(res.status).toBe(404);
    expect(res.headers.get('grpc-metadata-echo-foo')).toBe('bar');
  });

  it('grpc-timeout shorter than the call → 504, and the backend sees the call cancelled', async () => {
    const started = Date.now();
    const res = await h.request('GET', '/v1/slow?delayMs=2000', { headers: { 'grpc-timeout': '50m' } });
    expect(res.status).toBe(504);
    expect((await readJson(res)).code).toBe(4);
    expect(Date.now() - started).toBeLessThan(1500);
    await waitFor(() => h.backend.cancelled.includes(SLOW), 2000, 'the backend to see the cancel');
  });

  it('grpc-timeout: 0S is a deadline already past → 504', async () => {
    const res = await h.request('GET', '/v1/slow?delayMs=0', { headers: { 'grpc-timeout': '0S' } });
    expect(res.status).toBe(504);
  });

  it('grpc-timeout longer than the call → 200', async () => {
    const res = await h.request('GET', '/v1/slow?delayMs=10', { headers: { 'grpc-timeout': '5S' } });
    expect(res.status).toBe(200);
    expect(await readJson(res)).toEqual({ delayMs: 10 });
  });

  it.each(['abc', '50', '123456789m', '1.5S', '-1S', '10x'])('malformed grpc-timeout %p → 400 INVALID_TIMEOUT', async (value) => {
    const res = await h.request('GET', '/v1/slow?delayMs=0', { headers: { 'grpc-timeout': value } });
    expect(res.status).toBe(400);
    expect(errorReason(await readJson(res))).toBe('INVALID_TIMEOUT');
  });
});

describe.each(TRANSPORTS)('transcoding over %s: an unreachable upstream', (transport) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ transport, upstreams: { 'acme.echo.v1': `127.0.0.1:${await closedPort()}` } });
  });
  afterAll(() => h.close());

  it.each(['/v1/echo/1', '/v1/expand?count=1'])('GET %s → 503 with a Status body', async (path) => {
    const res = await h.request('GET', path);
    expect(res.status).toBe(503);
    const status = await readJson(res);
    expect(status).toMatchObject({ code: 14, message: expect.any(String), details: expect.any(Array) });
  });
});

describe.each(TRANSPORTS)('transcoding over %s: resilience.timeoutMs', (transport) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      transport,
      resilience: { timeoutMs: 100, overrides: { 'acme.echo.v1.EchoService/Echo': { timeoutMs: 5000 } } },
    });
  });
  afterAll(() => h.close());

  it.each<{ name: string; path: string; headers: Record<string, string>; status: number }>([
    { name: 'a call slower than the default → 504', path: '/v1/slow?delayMs=2000', headers: {}, status: 504 },
    { name: 'a call within the default → 200', path: '/v1/slow?delayMs=0', headers: {}, status: 200 },
    { name: 'a longer grpc-timeout cannot extend the configured timeout', path: '/v1/slow?delayMs=300', headers: { 'grpc-timeout': '3S' }, status: 504 },
    { name: 'a shorter grpc-timeout wins', path: '/v1/echo/1', headers: { 'grpc-timeout': '0S' }, status: 504 },
    { name: 'a per-method timeout overrides the default', path: '/v1/echo/1', headers: {}, status: 200 },
  ])('$name', async ({ path, headers, status }) => {
    const res = await h.request('GET', path, { headers });
    expect(res.status).toBe(status);
  });
});
