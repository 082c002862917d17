/**
 * HTTP/1.1 trailers on unary answers (issue 13), over real sockets with node:http reading
 * `res.trailers`: a client that sends `TE: trailers` gets the upstream's trailing metadata
 * after a chunked body, declared in `Trailer` (as grpc-gateway's ForwardResponseMessage sends
 * them), instead of as headers; without it, or over HTTP/1.0, or with no body to follow, they
 * stay headers. The echo backend ends every unary call with the trailer `x-trailer: done`.
 */
import * as http from 'node:http';
import * as net from 'node:net';
import { startHarness, type Harness } from '../test-support/gateway-harness';
import { TRANSPORTS } from '../test-support/http-client';

interface Exchange {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly trailers: NodeJS.Dict<string>;
  readonly body: string;
}

/** One request read to its end with node:http, trailers included. */
function request(url: string, method: string, headers: http.OutgoingHttpHeaders, body?: string): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, trailers: res.trailers, body: text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe.each(TRANSPORTS)('unary trailers over %s', (transport) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ transport });
  });
  afterAll(() => h.close());

  it('TE: trailers: the upstream trailers follow the chunked body, declared in Trailer; not headers', async () => {
    const res = await request(`${h.baseUrl}/v1/echo/42?name=n`, 'GET', { te: 'trailers' });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ id: '42', name: 'n' });
    expect(res.headers['transfer-encoding']).toBe('chunked');
    expect(res.headers['content-length']).toBeUndefined();
    expect(res.headers.trailer).toBe('grpc-metadata-x-trailer');
    expect(res.headers['grpc-metadata-x-trailer']).toBeUndefined();
    expect(res.trailers).toEqual({ 'grpc-metadata-x-trailer': 'done' });
    // Response headers (the backend echoes request metadata as echo-*) stay headers.
    expect(res.headers['content-type']).toBe('application/json');
  });

  it('a POST with a body, TE listing trailers among others: the same', async () => {
    const res = await request(`${h.baseUrl}/v1/echo`, 'POST', { te: 'gzip, trailers;q=1', 'content-type': 'application/json' }, '{"name":"p"}');
    expect(JSON.parse(res.body)).toEqual({ name: 'p' });
    expect(res.trailers).toEqual({ 'grpc-metadata-x-trailer': 'done' });
  });

  it('without TE: trailers, as before: one content-length answer, the trailers as headers', async () => {
    const res = await request(`${h.baseUrl}/v1/echo/42`, 'GET', {});
    expect(res.headers['content-length']).toBe(String(Buffer.byteLength(res.body)));
    expect(res.headers.trailer).toBeUndefined();
    expect(res.headers['grpc-metadata-x-trailer']).toBe('done');
    expect(res.trailers).toEqual({});
  });

  it('a failed call with TE: trailers: its Status JSON, then its trailers (the backend`s Fail sends x-trailer: failed)', async () => {
    const res = await request(`${h.baseUrl}/v1/fail/7`, 'GET', { te: 'trailers' });
    expect(res.status).toBe(403);
    expect(JSON.parse(res.body)).toMatchObject({ code: 7 });
    expect(res.headers.trailer).toBe('grpc-metadata-x-trailer');
    expect(res.headers['grpc-metadata-x-trailer']).toBeUndefined();
    expect(res.trailers).toEqual({ 'grpc-metadata-x-trailer': 'failed' });
    const plain = await request(`${h.baseUrl}/v1/fail/7`, 'GET', {});
    expect(plain.headers['grpc-metadata-x-trailer']).toBe('failed');
    expect(plain.trailers).toEqual({});
  });

  it('success_status 204 has no body for trailers to follow: they stay headers', async () => {
    const res = await request(`${h.baseUrl}/v1/removed/3`, 'DELETE', { te: 'trailers' });
    expect(res.status).toBe(204);
    expect(res.headers['grpc-metadata-x-trailer']).toBe('done');
    expect(res.trailers).toEqual({});
  });

  it('HTTP/1.0 has no trailers: headers, whatever TE says', async () => {
    const port = new URL(h.baseUrl).port;
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(Number(port), '127.0.0.1', () => socket.write('GET /v1/echo/7 HTTP/1.0\r\nTE: trailers\r\n\r\n'));
      let text = '';
      socket.setEncoding('latin1');
      socket.on('data', (c: string) => (text += c));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    const head = raw.slice(0, raw.indexOf('\r\n\r\n')).toLowerCase();
    expect(head).toContain('grpc-metadata-x-trailer: done');
    expect(head).not.toContain('transfer-encoding');
    expect(raw.slice(raw.indexOf('\r\n\r\n') + 4)).toBe('{"id":"7"}');
  });
});

describe('unary trailers, grpc-gateway preset', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ compat: 'grpc-gateway' });
  });
  afterAll(() => h.close());

  it('TE: trailers: under grpc-gateway`s Grpc-Trailer- prefix, as it names them', async () => {
    const res = await request(`${h.baseUrl}/v1/echo/1`, 'GET', { te: 'trailers' });
    expect(res.headers.trailer).toBe('grpc-trailer-x-trailer');
    expect(res.trailers).toEqual({ 'grpc-trailer-x-trailer': 'done' });
  });
});
