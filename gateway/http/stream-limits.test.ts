/**
 * Stream limits end to end, over real sockets against the echo backend, on both transports:
 * the total cap on open streams (HTTP server, client and bidi streams and WebSocket calls
 * share it with the per-client cap), with its Status, close code and gauge.
 */
import * as http from 'node:http';
import { startHarness, type Harness } from '../test-support/gateway-harness';
import { errorReason, TRANSPORTS, type JsonBody } from '../test-support/http-client';
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
