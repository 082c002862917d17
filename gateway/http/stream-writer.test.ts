/**
 * Stream writer extras over real sockets (issue 13): SSE `retry:` advice, `: keep-alive`
 * comments while the upstream is quiet and the `event: end` of an OK stream, and HTTP/1.1 trailers on NDJSON streams for clients
 * that send `TE: trailers`.
 */
import * as http from 'node:http';
import { startHarness, type Harness } from '../test-support/gateway-harness';

interface Exchange {
  readonly headers: http.IncomingHttpHeaders;
  readonly trailers: NodeJS.Dict<string>;
  readonly body: string;
}

/** A GET read to its end with node:http, trailers included. */
function get(url: string, headers: http.OutgoingHttpHeaders): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ headers: res.headers, trailers: res.trailers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

describe('stream writer: SSE keep-alive and retry, HTTP trailers', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ transport: 'h2', limits: { sseKeepAliveMs: 50, sseRetryMs: 1500 } });
  });
  afterAll(() => h.close());

  it('SSE: `retry:` first, then keep-alive comments while the upstream is quiet', async () => {
    const res = await get(`${h.baseUrl}/v1/expand?count=2&text=k&intervalMs=400`, { accept: 'text/event-stream' });
    expect(res.headers['content-type']).toBe('text/event-stream');
    expect(res.body.startsWith('retry: 1500\n\n')).toBe(true);
    const first = res.body.indexOf('data: {"name":"k"}\n\n');
    const second = res.body.indexOf('data: {"name":"k","small":1}\n\n');
    expect(first).toBeGreaterThan(0);
    expect(second).toBeGreaterThan(first);
    // Between the two messages (400 ms apart) at least one comment went out.
    expect(res.body.slice(first, second)).toContain('\n\n: keep-alive\n\n');
    expect(res.trailers).toEqual({});
  });

  it('SSE: an OK end is `event: end` with the trailing metadata (EventSource reads no trailers and would reconnect on a bare end)', async () => {
    const res = await get(`${h.baseUrl}/v1/expand?count=1&text=e`, { accept: 'text/event-stream', te: 'trailers' });
    expect(res.body.endsWith('data: {"name":"e"}\n\nevent: end\ndata: {"trailers":{"grpc-metadata-x-trailer":"done"}}\n\n')).toBe(true);
    expect(res.headers.trailer).toBeUndefined();
    expect(res.trailers).toEqual({});
    const failed = await get(`${h.baseUrl}/v1/expand?count=1&failCode=5`, { accept: 'text/event-stream' });
    expect(failed.body).toMatch(/event: error\ndata: \{"code":5,[^\n]*\n\n$/);
    expect(failed.body).not.toContain('event: end');
  });

  it('NDJSON with TE: trailers ends with grpc-status, grpc-message and trailer metadata as HTTP trailers', async () => {
    const res = await get(`${h.baseUrl}/v1/expand?count=2&text=t`, { te: 'deflate;q=0.5, Trailers' });
    expect(res.headers['transfer-encoding']).toBe('chunked');
    expect(res.headers.trailer).toBe('grpc-status, grpc-message');
    expect(res.body).toBe('{"result":{"name":"t"}}\n{"result":{"name":"t","small":1}}\n');
    expect(res.trailers).toEqual({ 'grpc-status': '0', 'grpc-message': '', 'grpc-metadata-x-trailer': 'done' });
  });

  it('NDJSON with TE: trailers: a failure after the first line is an error line and its status in the trailers', async () => {
    const res = await get(`${h.baseUrl}/v1/expand?count=1&failCode=5`, { te: 'trailers' });
    const lines = res.body.trim().split('\n');
    expect(JSON.parse(lines[1])).toMatchObject({ error: { code: 5, message: 'stream failed' } });
    expect(res.trailers).toMatchObject({ 'grpc-status': '5', 'grpc-message': 'stream failed' });
  });

  it('without TE: trailers, no Trailer header and no trailers', async () => {
    const res = await get(`${h.baseUrl}/v1/expand?count=1`, {});
    expect(res.headers.trailer).toBeUndefined();
    expect(res.trailers).toEqual({});
    expect(res.body).toBe('{"result":{}}\n');
  });
});
