/**
 * The request log, over a real echo backend (which echoes request metadata back as
 * `Grpc-Metadata-echo-<name>` headers): one line per request with its ids, route, upstream
 * method, status and duration; x-request-id kept when sane, generated otherwise, echoed and
 * forwarded; and a bearer token, cookie or password never in any line at any level.
 */
import type { Gateway } from '../app';
import { resolveConfig } from '../config';
import { startGateway } from '../main';
import { loggerOptions } from '../../shared-kit';
import { freePort } from '../../shared-kit/free-port';
import { startEchoBackend, type EchoBackend } from '../test-support/echo-backend';

const TOKEN = 'eyJhbGciOiJFZERTQSJ9.c2VjcmV0LXBheWxvYWQ.c2lnbmF0dXJlLXRoYXQtbXVzdC1ub3QtbGVhaw';
const lines: string[] = [];
let backend: EchoBackend;
let gateway: Gateway & { port: number };
let base = '';

beforeAll(async () => {
  backend = await startEchoBackend();
  const config = resolveConfig({
    port: 0,
    upstreams: { 'acme.echo.v1': backend.target },
    auth: { mode: 'off' },
    resilience: { retry: { maxAttempts: 2, initialBackoffMs: 1 } },
  });
  // Every level, so nothing logged anywhere escapes the check.
  gateway = await startGateway(config, { ...loggerOptions('gateway', { level: 'trace', format: 'json' }), stream: { write: (l: string) => lines.push(l) } });
  base = `http://127.0.0.1:${gateway.port}`;
});

afterAll(async () => {
  await gateway.close();
  await backend.close();
});

const completed = (reqId: string): Record<string, unknown> | undefined =>
  lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((e) => e.msg === 'request completed' && e.reqId === reqId);

const waitForLine = async (reqId: string): Promise<Record<string, unknown>> => {
  for (let i = 0; i < 100; i++) {
    const line = completed(reqId);
    if (line) return line;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`no request line for ${reqId}:\n${lines.join('')}`);
};

it('writes one line per request with request id, trace id, route template, upstream method, status and duration', async () => {
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  const res = await fetch(`${base}/v1/echo/42?name=x`, { headers: { 'x-request-id': 'req-abc.123', traceparent: `00-${traceId}-00f067aa0ba902b7-01` } });
  expect(res.status).toBe(200);
  expect(res.headers.get('x-request-id')).toBe('req-abc.123');
  expect(res.headers.get('grpc-metadata-echo-x-request-id')).toBe('req-abc.123'); // forwarded upstream
  const line = await waitForLine('req-abc.123');
  expect(line).toMatchObject({ level: 30, traceId, method: 'GET', route: '/v1/echo/{id}', rpc: '/acme.echo.v1.EchoService/Echo', statusCode: 200 });
  expect(typeof line.durationMs).toBe('number');
  expect(lines.filter((l) => l.includes('"req-abc.123"'))).toHaveLength(1);
});

it.each([
  ['absent', undefined],
  ['too long', 'x'.repeat(129)],
  ['with spaces and quotes', 'a b"c'],
])('generates a request id when the incoming one is %s, and forwards that one', async (_name, given) => {
  const res = await fetch(`${base}/v1/echo/1`, { headers: given === undefined ? {} : { 'x-request-id': given } });
  const id = res.headers.get('x-request-id')!;
  expect(id).toMatch(/^[0-9a-f-]{36}$/);
  expect(res.headers.get('grpc-metadata-echo-x-request-id')).toBe(id);
  expect(await waitForLine(id)).toMatchObject({ statusCode: 200 });
});

it('never writes a token, cookie or password, at any level, whatever the request does', async () => {
  const secret = { authorization: `Bearer ${TOKEN}`, cookie: `session=${TOKEN}` };
  const requests: [string, RequestInit][] = [
    ['/v1/echo/1', { headers: secret }],
    [`/v1/echo/1?access_token=${TOKEN}`, { headers: secret }], // an unknown query parameter: 400
    ['/v1/fail/14', { headers: secret }], // upstream UNAVAILABLE, retried
    ['/v1/fail/13', { headers: secret }],
    [`/nowhere/${TOKEN}`, { headers: secret }], // 404
    ['/v1/echo', { method: 'POST', headers: { ...secret, 'content-type': 'application/json' }, body: `{"name":"${TOKEN}", bad json` }],
    ['/v1/echo', { method: 'POST', headers: { ...secret, 'content-type': 'text/plain' }, body: `password=${TOKEN}` }],
  ];
  const ids: string[] = [];
  for (const [path, init] of requests) ids.push((await fetch(base + path, init)).headers.get('x-request-id')!);
  for (const id of ids) await waitForLine(id);
  expect(lines.length).toBeGreaterThan(requests.length);
  expect(lines.filter((l) => l.includes(TOKEN) || l.includes('c2VjcmV0LXBheWxvYWQ'))).toEqual([]);
});

it('summarises an outage: 60 requests to a dead upstream give one `upstream call failed` line, not one per request', async () => {
  const deadLines: string[] = [];
  const dead = await startGateway(resolveConfig({ port: 0, upstreams: { 'acme.echo.v1': `127.0.0.1:${await freePort()}` }, auth: { mode: 'off' } }), {
    ...loggerOptions('gateway', { level: 'info', format: 'json' }),
    stream: { write: (l: string) => deadLines.push(l) },
  });
  try {
    const statuses = new Set<number>();
    for (let i = 0; i < 60; i++) statuses.add((await fetch(`http://127.0.0.1:${dead.port}/v1/echo/${i}`)).status);
    expect([...statuses]).toEqual([503]);
    const entries = deadLines.map((l) => JSON.parse(l) as { level: number; msg: string });
    expect(entries.filter((e) => e.msg === 'upstream call failed')).toHaveLength(1);
    // Besides the one line per request: a handful (the failure, the upstream's health, the breaker), never one per request.
    expect(entries.filter((e) => e.msg !== 'request completed' && e.level >= 40).length).toBeLessThan(6);
  } finally {
    await dead.close();
  }
});
