/**
 * The unary fast path (unary-fast-path.ts), differentially: two gateways on one echo backend,
 * one with the fast path and one with it disabled (every request through Fastify), get the
 * same raw HTTP/1.1 exchanges over real sockets; the answers must be the same bytes (the Date
 * line and generated request ids aside), and so must the "request completed" log lines and
 * the request metrics. `served` proves which requests took the fast path: unary routes do;
 * streams, probes, 404/405, preflights, HEAD, TE: trailers and odd content types do not.
 */
import { connect } from 'node:net';
import type { Gateway } from '../app';
import { resolveConfig } from '../config';
import { startGateway } from '../main';
import { loggerOptions } from '../../shared-kit';
import { startEchoBackend, type EchoBackend } from '../test-support/echo-backend';

const ORIGIN = 'https://app.example.com';
const BODY_LIMIT = 2048;
let backend: EchoBackend;
const gateways: { gateway: Gateway & { port: number }; lines: string[] }[] = [];

beforeAll(async () => {
  backend = await startEchoBackend();
  const config = resolveConfig({
    port: 0,
    upstreams: { 'acme.echo.v1': backend.target },
    auth: { mode: 'off' },
    bodyLimit: BODY_LIMIT,
    cors: { origins: [ORIGIN] },
    resilience: { retry: { maxAttempts: 2, initialBackoffMs: 1 } },
  });
  for (let i = 0; i < 2; i++) {
    const lines: string[] = [];
    const gateway = await startGateway(config, {
      ...loggerOptions('gateway', { level: 'info', format: 'json' }),
      stream: { write: (l: string) => lines.push(l) },
    });
    gateways.push({ gateway, lines });
  }
  gateways[1].gateway.fastPath!.disable();
});

afterAll(async () => {
  for (const { gateway } of gateways) await gateway.close();
  await backend.close();
});

/** Sends `raw` on a new connection; resolves with everything received once `count` answers are complete (or the socket closed). */
function exchange(port: number, raw: string, count: number, head = false): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let received = Buffer.alloc(0);
    const done = (): void => {
      socket.destroy();
      resolve(received.toString('latin1'));
    };
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (answers(received.toString('latin1'), head) >= count) done();
    });
    socket.on('close', done);
    socket.on('error', reject);
    socket.write(raw);
  });
}

/** Complete HTTP/1.1 answers in `text` (Content-Length or chunked framing). */
function answers(text: string, head: boolean): number {
  let n = 0;
  let at = 0;
  for (;;) {
    const end = text.indexOf('\r\n\r\n', at);
    if (end === -1) return n;
    const header = text.slice(at, end);
    let next = end + 4;
    const length = /\r\ncontent-length: *(\d+)/i.exec(header);
    if (head) {
      // no body
    } else if (/\r\ntransfer-encoding: *chunked/i.test(header)) {
      const last = text.indexOf('\r\n0\r\n', end);
      if (last === -1) return n;
      const trailersEnd = text.indexOf('\r\n\r\n', last + 2);
      if (trailersEnd === -1) return n;
      next = trailersEnd + 4;
    } else if (length) {
      next += Number(length[1]);
      if (text.length < next) return n;
    }
    n++;
    at = next;
  }
}

const normalize = (text: string): string =>
  text.replace(/\r\nDate: [^\r]*/g, '\r\nDate: -').replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, '<uuid>');

const req = (method: string, path: string, headers: Record<string, string> = {}, body?: string, version = '1.1'): string => {
  const lines = [`${method} ${path} HTTP/${version}`, 'Host: gateway.test', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  if (body !== undefined) lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  return `${lines.join('\r\n')}\r\n\r\n${body ?? ''}`;
};

const id = (n: string): Record<string, string> => ({ 'x-request-id': `diff-${n}` });
const json = { 'content-type': 'application/json' };
const message = JSON.stringify({ id: '7', name: 'n', nested: { inner: { value: 'v' } } });

// [name, raw request(s), answers expected, served by the fast path?, HEAD]
const CASES: [string, string, number, boolean, boolean][] = [
  ['GET', req('GET', '/v1/echo/42?name=x', id('get')), 1, true, false],
  ['GET, request id generated', req('GET', '/v1/echo/42'), 1, true, false],
  ['GET, unknown query parameter (400)', req('GET', '/v1/echo/42?bogus=1', id('q400')), 1, true, false],
  ['GET, upstream NOT_FOUND with details', req('GET', '/v1/fail/5', id('f5')), 1, true, false],
  ['GET, upstream UNAVAILABLE (retried)', req('GET', '/v1/fail/14', id('f14')), 1, true, false],
  ['GET with a body (not read)', req('GET', '/v1/echo/1', id('getbody'), '{"x":1}'), 1, true, false],
  ['POST JSON', req('POST', '/v1/echo', { ...id('post'), ...json }, message), 1, true, false],
  ['POST, no content type', req('POST', '/v1/echo', id('post-untyped'), message), 1, true, false],
  ['POST, empty content type', req('POST', '/v1/echo', { ...id('post-empty'), 'content-type': '' }, message), 1, true, false],
  ['POST, no body', req('POST', '/v1/echo', id('post-none')), 1, true, false],
  ['POST, malformed JSON (400)', req('POST', '/v1/echo', { ...id('post-bad'), ...json }, '{"id":'), 1, true, false],
  [
    'POST, body over the limit (413, connection closed)',
    req('POST', '/v1/echo', { ...id('post-big'), ...json }, `{"name":"${'x'.repeat(BODY_LIMIT)}"}`),
    1,
    true,
    false,
  ],
  [
    'POST chunked',
    `POST /v1/echo HTTP/1.1\r\nHost: g\r\nx-request-id: diff-chunked\r\ncontent-type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"id"\r\n5\r\n:"9"}\r\n0\r\n\r\n`,
    1,
    true,
    false,
  ],
  ['PUT', req('PUT', '/v1/echo/3', { ...id('put'), ...json }, '{"name":"p"}'), 1, true, false],
  ['PATCH', req('PATCH', '/v1/echo/3/nested', { ...id('patch'), ...json }, '{"inner":{"value":"z"}}'), 1, true, false],
  ['DELETE', req('DELETE', '/v1/echo/3', id('delete')), 1, true, false],
  ['POST, 201 answer', req('POST', '/v1/created', { ...id('created'), ...json }, '{"name":"c"}'), 1, true, false],
  ['GET, allowed origin (CORS headers)', req('GET', '/v1/echo/1', { ...id('cors'), origin: ORIGIN }), 1, true, false],
  ['GET, other origin', req('GET', '/v1/echo/1', { ...id('cors-other'), origin: 'https://evil.example' }), 1, true, false],
  ['GET, HTTP/1.0', req('GET', '/v1/echo/1', id('http10'), undefined, '1.0'), 1, true, false],
  ['GET, Connection: close', req('GET', '/v1/echo/1', { ...id('close'), connection: 'close' }), 1, true, false],
  ['two GETs pipelined', req('GET', '/v1/echo/1', id('pipe1')) + req('GET', '/v1/echo/2?name=b', id('pipe2')), 2, true, false],
  ['POST, text/plain (Fastify)', req('POST', '/v1/echo', { ...id('plain'), 'content-type': 'text/plain' }, message), 1, false, false],
  [
    'POST, JSON with charset (Fastify)',
    req('POST', '/v1/echo', { ...id('charset'), 'content-type': 'application/json; charset=utf-8' }, message),
    1,
    false,
    false,
  ],
  ['GET, TE: trailers (Fastify)', req('GET', '/v1/echo/1', { ...id('te'), te: 'trailers' }), 1, false, false],
  ['HEAD (Fastify)', req('HEAD', '/v1/echo/1', id('head')), 1, false, true],
  ['percent-escape (Fastify)', req('GET', '/v1/echo/%41', id('escape')), 1, false, false],
  ['bad percent-escape (Fastify)', req('GET', '/v1/echo/%ZZ', id('bad-escape')), 1, false, false],
  ['DELETE, 204 answer (Fastify)', req('DELETE', '/v1/removed/1', id('removed')), 1, false, false],
  ['custom method (Fastify)', req('SEARCH', '/v1/echo:search', { ...id('search'), ...json }, '{"name":"s"}'), 1, false, false],
  ['server stream (Fastify)', req('GET', '/v1/expand?count=2', id('expand')), 1, false, false],
  ['404 (Fastify)', req('GET', '/v1/nothing-here', id('404')), 1, false, false],
  ['405 (Fastify)', req('PATCH', '/v1/echo/1', id('405')), 1, false, false],
  ['preflight (Fastify)', req('OPTIONS', '/v1/echo/1', { ...id('preflight'), origin: ORIGIN, 'access-control-request-method': 'PUT' }), 1, false, false],
  ['probe (Fastify)', req('GET', '/healthz'), 1, false, false],
];

it.each(CASES)('%s: the same answer with and without the fast path', async (_name, raw, count, fast, head) => {
  const [a, b] = gateways.map((g) => g.gateway);
  const before = a.fastPath!.served;
  const viaFastPath = await exchange(a.port, raw, count, head);
  expect(a.fastPath!.served - before).toBe(fast ? count : 0);
  const viaFastify = await exchange(b.port, raw, count, head);
  expect(normalize(viaFastPath)).toBe(normalize(viaFastify));
  expect(viaFastPath).toMatch(/^HTTP\/1\.[01] \d{3} /);
});

it('writes the same request log lines and request metrics', async () => {
  // The lines are written when each response closes: let the last ones land.
  await new Promise((r) => setTimeout(r, 200));
  const completed = (lines: string[]): string[] =>
    lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((e) => e.msg === 'request completed')
      .map(({ time: _t, durationMs: _d, pid: _p, hostname: _h, ...rest }) => normalize(JSON.stringify(rest)));
  const [a, b] = gateways;
  expect(completed(a.lines).length).toBeGreaterThan(CASES.length - 2);
  expect(completed(a.lines)).toEqual(completed(b.lines));
  const counts = async (g: Gateway & { port: number }): Promise<string[]> => {
    const text = await (await fetch(`http://127.0.0.1:${g.port}/metrics`)).text();
    return text.split('\n').filter((l) => /^gateway_(http_requests_total|http_requests_in_flight|upstream_call_duration_seconds_count)/.test(l));
  };
  const [ma, mb] = [await counts(a.gateway), await counts(b.gateway)];
  expect(ma.length).toBeGreaterThan(5);
  expect(ma).toEqual(mb);
});

it('is taken for unary routes only while on; off when tracing is on is covered by tracing.test.ts', () => {
  expect(gateways[0].gateway.fastPath!.served).toBeGreaterThan(20);
  expect(gateways[1].gateway.fastPath!.served).toBe(0);
});
