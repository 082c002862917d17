/**
 * Stream limits end to end, over real sockets against the echo backend, on both transports:
 * the total cap on open streams (HTTP server, client and bidi streams and WebSocket calls
 * share it with the per-client cap), with its Status, close code and gauge; the per-stream idle
 * timeout (no message either way) on NDJSON, SSE, HTTP bidi and client streams and WebSocket.
 */
import * as http from 'node:http';
import * as net from 'node:net';
import { startHarness, type Harness } from '../test-support/gateway-harness';
import { errorReason, TRANSPORTS, waitFor, type JsonBody } from '../test-support/http-client';
import { openNdjsonStream } from '../test-support/ndjson-stream';
import { WsClient } from '../test-support/ws-client';

/** A streaming GET held open: resolves with its status once the head arrives. */
function holdGet(url: string): Promise<{ status: number; body: () => Promise<string>; close(): void }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      const ended = new Promise<string>((done) => {
        res.on('end', () => done(text));
        res.on('close', () => done(text));
      });
      resolve({ status: res.statusCode ?? 0, body: () => ended, close: () => req.destroy() });
    });
    req.on('error', reject);
  });
}

const wsReason = (frame: unknown): string | undefined => errorReason((frame as { error?: JsonBody }).error ?? {});

async function metric(baseUrl: string, name: string): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return Number(line?.split(' ')[1]);
}

describe.each(TRANSPORTS)('total open-stream cap on %s', (transport) => {
  let h: Harness;
  let ws: string;
  beforeAll(async () => {
    h = await startHarness({ transport, limits: { maxOpenStreams: 2, maxStreamsPerClient: 10 } });
    ws = h.baseUrl.replace('http:', 'ws:');
  });
  afterAll(() => h.close());

  it('past maxOpenStreams: 503 STREAMS_FULL for HTTP streams, 4014 for WebSocket; a closed stream frees its slot', async () => {
    const watch = await holdGet(`${h.baseUrl}/v1/expand?count=1000&intervalMs=100`);
    expect(watch.status).toBe(200);
    const socket = await WsClient.connect(`${ws}/v1/expand?count=1000&intervalMs=100`);
    await socket.waitForFrames(1);
    expect(await metric(h.baseUrl, 'gateway_stream_slots_open')).toBe(2);
    expect(await metric(h.baseUrl, 'gateway_stream_slots_max')).toBe(2);

    // A server stream, a client stream and a bidi stream over HTTP: all refused the same way.
    const refused = await holdGet(`${h.baseUrl}/v1/expand?count=1`);
    expect(refused.status).toBe(503);
    const body = JSON.parse(await refused.body()) as JsonBody;
    expect([body.code, errorReason(body)]).toEqual([14, 'STREAMS_FULL']);
    for (const path of ['/v1/collect', '/v1/echo:chat']) {
      const s = openNdjsonStream(`${h.baseUrl}${path}`);
      s.send({ name: 'a' });
      const res = await s.response;
      expect(res.statusCode).toBe(503);
      const [status] = await s.rest();
      expect(errorReason(status)).toBe('STREAMS_FULL');
      s.destroy();
    }
    const wsRefused = await WsClient.connect(`${ws}/v1/echo:chat`);
    const { texts, close } = await wsRefused.end();
    expect(close.code).toBe(4014);
    expect(wsReason(texts[0])).toBe('STREAMS_FULL');

    watch.close();
    await new Promise((r) => setTimeout(r, 100));
    const chat = openNdjsonStream(`${h.baseUrl}/v1/echo:chat`);
    chat.send({ name: 'in' });
    expect((await chat.response).statusCode).toBe(200);
    expect(await chat.next()).toEqual({ result: { name: 'in' } });
    chat.end();
    await chat.rest();
    socket.socket.close();
    await socket.closed;
  });
});

const EXPAND = '/acme.echo.v1.EchoService/Expand';
const CHAT = '/acme.echo.v1.EchoService/Chat';
const COLLECT = '/acme.echo.v1.EchoService/Collect';
// Generous against a loaded machine: the busy cases send every 150 ms and last well past it.
const IDLE_MS = 800;

describe.each(TRANSPORTS)('stream idle timeout on %s', (transport) => {
  let h: Harness;
  let ws: string;
  beforeAll(async () => {
    h = await startHarness({ transport, limits: { streamIdleTimeoutMs: IDLE_MS, sseKeepAliveMs: 100 } });
    ws = h.baseUrl.replace('http:', 'ws:');
  });
  afterAll(() => h.close());

  const cancelledCount = (path: string) => h.backend.cancelled.filter((p) => p === path).length;

  it('a quiet NDJSON server stream ends with a DEADLINE_EXCEEDED STREAM_IDLE_TIMEOUT line; the upstream is cancelled', async () => {
    const before = cancelledCount(EXPAND);
    const started = Date.now();
    const watch = await holdGet(`${h.baseUrl}/v1/expand?count=10&intervalMs=5000`);
    expect(watch.status).toBe(200);
    const lines = (await watch.body())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as JsonBody);
    expect(Date.now() - started).toBeGreaterThanOrEqual(IDLE_MS - 20);
    expect(lines[0]).toEqual({ result: {} });
    expect(lines[1].error.code).toBe(4);
    expect(errorReason(lines[1].error)).toBe('STREAM_IDLE_TIMEOUT');
    await waitFor(() => cancelledCount(EXPAND) > before, 2000, 'the backend to see the cancel');
  });

  it('a stream whose messages keep coming is not idle, however long it lasts', async () => {
    const watch = await holdGet(`${h.baseUrl}/v1/expand?count=10&intervalMs=150`);
    const lines = (await watch.body()).trim().split('\n');
    expect(lines).toHaveLength(10);
    expect(lines.every((l) => l.startsWith('{"result"'))).toBe(true);
  });

  it('SSE keep-alive comments are not activity: the stream still ends with event: error', async () => {
    const text = await new Promise<string>((resolve, reject) => {
      const req = http.get(`${h.baseUrl}/v1/expand?count=10&intervalMs=5000`, { headers: { accept: 'text/event-stream' } }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve(body));
      });
      req.on('error', reject);
    });
    expect(text.split(': keep-alive\n\n').length - 1).toBeGreaterThanOrEqual(2);
    const error = text.slice(text.indexOf('event: error\ndata: ') + 'event: error\ndata: '.length).trim();
    expect(errorReason(JSON.parse(error) as JsonBody)).toBe('STREAM_IDLE_TIMEOUT');
  });

  it('HTTP bidi: idle after an exchange ends with an error line, the upstream is cancelled and the connection closes', async () => {
    const before = cancelledCount(CHAT);
    const s = openNdjsonStream(`${h.baseUrl}/v1/echo:chat`);
    s.send({ name: 'a' });
    expect(await s.next()).toEqual({ result: { name: 'a' } });
    const last = await s.next();
    expect([last.error.code, errorReason(last.error)]).toEqual([4, 'STREAM_IDLE_TIMEOUT']);
    expect(await s.rest()).toEqual([]);
    await waitFor(() => cancelledCount(CHAT) > before, 2000, 'the backend to see the cancel');
    // The request body never ended: the gateway closed the connection rather than wait for it.
    await waitFor(() => s.request.socket?.destroyed === true, 2000, 'the connection to close');
  });

  it('HTTP client stream: request messages keep it open; a stalled body gets 504 STREAM_IDLE_TIMEOUT and Connection: close', async () => {
    const busy = openNdjsonStream(`${h.baseUrl}/v1/collect`);
    for (let i = 0; i < 9; i++) {
      busy.send({ name: `m${i}` });
      await new Promise((r) => setTimeout(r, 150));
    }
    busy.end();
    expect((await busy.response).statusCode).toBe(200);
    expect((await busy.rest())[0].messages).toHaveLength(9);

    const before = cancelledCount(COLLECT);
    const stalled = openNdjsonStream(`${h.baseUrl}/v1/collect`);
    stalled.send({ name: 'only' });
    // Blank lines are not messages.
    const blanks = setInterval(() => stalled.send('\n'), 100);
    const res = await stalled.response;
    clearInterval(blanks);
    expect(res.statusCode).toBe(504);
    expect(res.headers.connection).toBe('close');
    const [status] = await stalled.rest();
    expect([status.code, errorReason(status)]).toEqual([4, 'STREAM_IDLE_TIMEOUT']);
    await waitFor(() => cancelledCount(COLLECT) > before, 2000, 'the backend to see the cancel');
  });

  it('WebSocket: an idle call closes 4004 STREAM_IDLE_TIMEOUT and the upstream is cancelled; pings are not activity', async () => {
    const before = cancelledCount(CHAT);
    const c = await WsClient.connect(`${ws}/v1/echo:chat`);
    c.send({ name: 'a' });
    await c.waitForFrames(1);
    const pings = setInterval(() => c.socket.ping(), 100);
    const { texts, close } = await c.end();
    clearInterval(pings);
    expect(texts[0]).toEqual({ result: { name: 'a' } });
    expect(wsReason(texts[1])).toBe('STREAM_IDLE_TIMEOUT');
    expect(close.code).toBe(4004);
    await waitFor(() => cancelledCount(CHAT) > before, 2000, 'the backend to see the cancel');
  });

  it('WebSocket: messages either way keep a call open past the timeout', async () => {
    const c = await WsClient.connect(`${ws}/v1/echo:chat`);
    for (let i = 0; i < 9; i++) {
      c.send({ name: `m${i}` });
      await new Promise((r) => setTimeout(r, 150));
    }
    c.send('');
    const { texts, close } = await c.end();
    expect(texts).toHaveLength(9);
    expect(close.code).toBe(1000);
  });
});

/** Writes `bytes` on a fresh socket; resolves with what came back and when the server closed it. */
function rawExchange(port: number, bytes: string, ms = 5000): Promise<{ text: string; closedAfterMs: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = net.connect(port, '127.0.0.1', () => socket.write(bytes));
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ text, closedAfterMs: Infinity });
    }, ms);
    socket.on('data', (d) => (text += d.toString('latin1')));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text, closedAfterMs: Date.now() - started });
    });
    socket.on('error', reject);
  });
}

describe.each(TRANSPORTS)('streamed request bodies and limits.requestTimeoutMs on %s', (transport) => {
  const REQUEST_MS = 1000;
  let h: Harness;
  let port: number;
  beforeAll(async () => {
    h = await startHarness({ transport, limits: { requestTimeoutMs: REQUEST_MS, headersTimeoutMs: 500 } });
    port = Number(new URL(h.baseUrl).port);
  });
  afterAll(() => h.close());

  /** Sends a message every 200 ms for twice the request timeout, reading answers as they come. */
  const trickle = async (s: ReturnType<typeof openNdjsonStream>, n: number) => {
    for (let i = 0; i < n; i++) {
      s.send({ name: `m${i}` });
      await new Promise((r) => setTimeout(r, 200));
    }
    s.end();
  };

  it('a bidi body that outlasts the request timeout is not cut', async () => {
    const s = openNdjsonStream(`${h.baseUrl}/v1/echo:chat`);
    await trickle(s, (2 * REQUEST_MS) / 200);
    expect((await s.response).statusCode).toBe(200);
    const lines = await s.rest();
    expect(lines).toHaveLength((2 * REQUEST_MS) / 200);
    expect(lines.every((l) => 'result' in l)).toBe(true);
  });

  it('a client-stream body that outlasts the request timeout is not cut', async () => {
    const s = openNdjsonStream(`${h.baseUrl}/v1/collect`);
    await trickle(s, (2 * REQUEST_MS) / 200);
    expect((await s.response).statusCode).toBe(200);
    expect((await s.rest())[0].messages).toHaveLength((2 * REQUEST_MS) / 200);
  });

  it('a unary body that stalls still gets 408 REQUEST_TIMEOUT and its socket closed', async () => {
    const head = 'POST /v1/created HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n';
    const { text, closedAfterMs } = await rawExchange(port, head + '{"name":"sl');
    expect(Number(text.split(' ')[1])).toBe(408);
    expect(errorReason(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as JsonBody)).toBe('REQUEST_TIMEOUT');
    expect(closedAfterMs).toBeGreaterThanOrEqual(REQUEST_MS - 20);
    expect(closedAfterMs).toBeLessThan(REQUEST_MS + 1500);
  });

  it('a body trickled to a route that does not read it (GET /healthz) is cut at the request timeout too', async () => {
    const head = 'GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n';
    const { text, closedAfterMs } = await rawExchange(port, head);
    expect(Number(text.split(' ')[1])).toBe(200);
    expect(closedAfterMs).toBeLessThan(REQUEST_MS + 1500);
  });
});
