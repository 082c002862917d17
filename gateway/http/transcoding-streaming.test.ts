/**
 * End-to-end conformance, part 5: server streams as NDJSON (grpc-gateway's framing) and as
 * Server-Sent Events, cancellation when the client goes away, client streams from an NDJSON
 * body, google.api.HttpBody in both directions, and success_status.
 */
import { startHarness, type Harness } from '../test-support/gateway-harness';
import { disconnectAfterFirstChunk, readJson, TRANSPORTS, violatedFields, waitFor } from '../test-support/http-client';

const ANY = 'type.googleapis.com/';
const EXPAND = '/acme.echo.v1.EchoService/Expand';

/** The Status that Expand ends with when asked to fail with `code`. */
function streamFailure(code: number) {
  return {
    code,
    message: 'stream failed',
    details: [
      { '@type': `${ANY}google.rpc.BadRequest`, fieldViolations: [{ field: 'name', description: 'too short' }] },
      { '@type': `${ANY}google.rpc.ErrorInfo`, reason: 'ECHO_FAILED', domain: 'echo.acme.dev', metadata: { k: 'v' } },
    ],
  };
}

const ndjson = (text: string): unknown[] =>
  text
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));

/** Parses an SSE body into its events (blocks without data, `retry:` or comments, are none). */
function sseEvents(text: string): Array<{ event: string; data: unknown }> {
  return text
    .split('\n\n')
    .filter((block) => /^data: /m.test(block))
    .map((block) => {
      let event = 'message';
      let data = '';
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data += line.slice(6);
      }
      return { event, data: JSON.parse(data) };
    });
}

describe.each(TRANSPORTS)('transcoding over %s: streaming, HttpBody and success status', (transport) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ transport });
  });
  afterAll(() => h.close());

  it.each([
    {
      name: 'messages then a clean end',
      query: 'count=3&text=hi',
      lines: [{ result: { name: 'hi' } }, { result: { name: 'hi', small: 1 } }, { result: { name: 'hi', small: 2 } }],
    },
    {
      name: 'messages then a failure line',
      query: 'count=2&failCode=5',
      lines: [{ result: {} }, { result: { small: 1 } }, { error: streamFailure(5) }],
    },
    { name: 'no messages, a clean end', query: 'count=0', lines: [] },
  ])('NDJSON: $name', async ({ query, lines }) => {
    const res = await h.request('GET', `/v1/expand?${query}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-ndjson');
    expect(res.headers.get('grpc-metadata-echo-x-forwarded-proto')).toBe('http');
    const text = await res.text();
    expect(text === '' ? [] : ndjson(text)).toEqual(lines);
  });

  it.each([
    [7, 403],
    [14, 503],
  ])('a stream failing with %i before any message → plain %i response', async (code, http) => {
    const res = await h.request('GET', `/v1/expand?count=0&failCode=${code}`);
    expect(res.status).toBe(http);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await readJson(res)).toEqual(streamFailure(code));
  });

  it('SSE: data events for messages', async () => {
    const res = await h.request('GET', '/v1/expand?count=2&text=s', { headers: { accept: 'text/event-stream' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const text = await res.text();
    expect(text.startsWith('retry: 3000\n\n')).toBe(true);
    expect(sseEvents(text)).toEqual([
      { event: 'message', data: { name: 's' } },
      { event: 'message', data: { name: 's', small: 1 } },
      // The end, with the trailing metadata: EventSource would otherwise reconnect and call again.
      { event: 'end', data: { trailers: { 'grpc-metadata-x-trailer': 'done' } } },
    ]);
  });

  it('SSE: an error event on failure', async () => {
    const res = await h.request('GET', '/v1/expand?count=1&failCode=10', { headers: { accept: 'text/event-stream' } });
    expect(sseEvents(await res.text())).toEqual([
      { event: 'message', data: {} },
      { event: 'error', data: streamFailure(10) },
    ]);
  });

  it('a client that disconnects mid-stream cancels the upstream call', async () => {
    const before = h.backend.cancelled.filter((p) => p === EXPAND).length;
    const first = await disconnectAfterFirstChunk(`${h.baseUrl}/v1/expand?count=100&intervalMs=50`);
    expect(JSON.parse(first.split('\n')[0])).toEqual({ result: {} });
    await waitFor(() => h.backend.cancelled.filter((p) => p === EXPAND).length > before, 2000, 'the backend to see the cancel');
  });

  it('client streaming: an NDJSON body is one message per line', async () => {
    const res = await h.request('POST', '/v1/collect', {
      body: '{"name":"a"}\n\n{"name":"b","id":"2"}\n',
      headers: { 'content-type': 'application/x-ndjson' },
    });
    expect(res.status).toBe(200);
    expect(await readJson(res)).toEqual({ messages: [{ name: 'a' }, { name: 'b', id: '2' }] });
  });

  it('client streaming: an empty body sends no messages', async () => {
    const res = await h.request('POST', '/v1/collect', { body: '' });
    expect(await readJson(res)).toEqual({});
  });

  it('client streaming: a bad line → 400 naming the field', async () => {
    const res = await h.request('POST', '/v1/collect', { body: '{"name":"a"}\n{"small":"x"}\n' });
    expect(res.status).toBe(400);
    expect(violatedFields(await readJson(res))).toEqual(['small']);
  });

  it.each([
    { name: 'HttpBody field: PNG bytes', path: '/v1/blobs/pic', type: 'image/png', body: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 255, 10]) },
    { name: 'HttpBody field: text', path: '/v1/blobs/note', type: 'text/plain; charset=utf-8', body: Buffer.from('héllo') },
    { name: 'whole-request HttpBody', path: '/v1/raw', type: 'application/octet-stream', body: Buffer.from([1, 2, 3]) },
    { name: 'whole-request HttpBody with a JSON type', path: '/v1/raw', type: 'application/json', body: Buffer.from('{not json') },
  ])('$name answers the same bytes and content type', async ({ path, type, body }) => {
    const res = await h.request('POST', path, { body, headers: { 'content-type': type } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(type);
    expect(Buffer.from(await res.arrayBuffer())).toEqual(body);
  });

  it('success_status 201: POST /v1/created', async () => {
    const res = await h.request('POST', '/v1/created', { body: '{"name":"new"}' });
    expect(res.status).toBe(201);
    expect(await readJson(res)).toEqual({ name: 'new' });
  });

  it('success_status 204: DELETE /v1/removed/{id} has an empty body', async () => {
    const res = await h.request('DELETE', '/v1/removed/3');
    expect(res.status).toBe(204);
    expect(res.headers.get('content-type')).toBeNull();
    expect(await res.text()).toBe('');
    expect(res.headers.get('grpc-metadata-x-trailer')).toBe('done');
  });
});
