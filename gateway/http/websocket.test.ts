/**
 * End-to-end: WebSocket access to the transcoded routes, over real sockets with the `ws`
 * client against the echo backend, on both transports: server streams, unary, client
 * streams, errors mid-stream (error frame + close 4000+code), cancellation both ways,
 * binding selection, subprotocol, auth by header and by subprotocol, and the limits.
 */
import * as http from 'node:http';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { startHarness, type Harness } from '../test-support/gateway-harness';
import { TRANSPORTS, waitFor } from '../test-support/http-client';
import { WsClient } from '../test-support/ws-client';

const ANY = 'type.googleapis.com/';
const EXPAND = '/acme.echo.v1.EchoService/Expand';
const CHAT = '/acme.conformance.v1.ShapesService/Chat';
const COLLECT = '/acme.echo.v1.EchoService/Collect';
const SUBPROTOCOL = 'acme.grpc-json.v1';

/** The Status that Expand ends with when asked to fail with `code` (echo-backend.ts). */
const streamFailure = (code: number) => ({
  code,
  message: 'stream failed',
  details: [
    { '@type': `${ANY}google.rpc.BadRequest`, fieldViolations: [{ field: 'name', description: 'too short' }] },
    { '@type': `${ANY}google.rpc.ErrorInfo`, reason: 'ECHO_FAILED', domain: 'echo.acme.dev', metadata: { k: 'v' } },
  ],
});

/** The ErrorInfo reason of an `{"error": Status}` frame. */
function reasonOf(frame: unknown): string | undefined {
  const details = (frame as { error?: { details?: Array<{ reason?: string }> } }).error?.details ?? [];
  return details.find((d) => d.reason !== undefined)?.reason;
}

describe.each(TRANSPORTS)('WebSocket over %s', (transport) => {
  let h: Harness;
  let ws: string;
  beforeAll(async () => {
    h = await startHarness({ transport, websocket: { maxMessageBytes: 4096 } }, ['acme.echo.v1', 'acme.conformance.v1.ShapesService']);
    ws = h.baseUrl.replace('http:', 'ws:');
  });
  afterAll(() => h.close());

  it('server stream: a result frame per message, then close 1000', async () => {
    const c = await WsClient.connect(`${ws}/v1/expand?count=3&text=hi`);
    expect(await c.end()).toEqual({
      texts: [{ result: { name: 'hi' } }, { result: { name: 'hi', small: 1 } }, { result: { name: 'hi', small: 2 } }],
      close: { code: 1000, reason: '' },
    });
  });

  it('server stream failing mid-stream: the messages, an error frame with the full Status, close 4000+code with the Status as reason', async () => {
    const c = await WsClient.connect(`${ws}/v1/expand?count=2&failCode=5`);
    const { texts, close } = await c.end();
    expect(texts).toEqual([{ result: {} }, { result: { small: 1 } }, { error: streamFailure(5) }]);
    expect(close).toEqual({ code: 4005, reason: JSON.stringify({ code: 5, message: 'stream failed' }) });
  });

  it('unary on a GET binding: one result frame, close 1000', async () => {
    const c = await WsClient.connect(`${ws}/v1/echo/42?name=n`);
    expect(await c.end()).toEqual({ texts: [{ result: { id: '42', name: 'n' } }], close: { code: 1000, reason: '' } });
  });

  it('unary failing: error frame and close 4000+code', async () => {
    const c = await WsClient.connect(`${ws}/v1/fail/7`);
    const { texts, close } = await c.end();
    expect(texts).toHaveLength(1);
    expect((texts[0] as { error: { code: number } }).error.code).toBe(7);
    expect(close.code).toBe(4007);
  });

  it('a POST-only binding is reached by the upgrade; its first text frame is the body', async () => {
    const c = await WsClient.connect(`${ws}/v1/created`);
    c.send({ name: 'made', small: 3 });
    expect(await c.end()).toEqual({ texts: [{ result: { name: 'made', small: 3 } }], close: { code: 1000, reason: '' } });
  });

  it('$method picks the binding when a path has several methods; GET is the default', async () => {
    // /v1/echo/{id} is bound to GET, PUT (body "*") and DELETE.
    const put = await WsClient.connect(`${ws}/v1/echo/5?$method=PUT`);
    put.send({ name: 'x' });
    expect((await put.end()).texts).toEqual([{ result: { id: '5', name: 'x' } }]);
    const get = await WsClient.connect(`${ws}/v1/echo/5?name=q`);
    expect((await get.end()).texts).toEqual([{ result: { id: '5', name: 'q' } }]);
  });

  it('client stream: a message per text frame, the empty frame half-closes, one result', async () => {
    const c = await WsClient.connect(`${ws}/v1/collect`);
    c.send({ name: 'a' });
    c.send({ name: 'b', small: 2 });
    c.send('');
    expect(await c.end()).toEqual({
      texts: [{ result: { messages: [{ name: 'a' }, { name: 'b', small: 2 }] } }],
      close: { code: 1000, reason: '' },
    });
  });

  it('client stream with a body field: each frame is that field, path values on every message', async () => {
    const c = await WsClient.connect(`${ws}/v1/collect-nested/9`);
    c.send({ value: 'x' });
    c.send({ value: 'y' });
    c.send('');
    const { texts, close } = await c.end();
    expect(close.code).toBe(1000);
    expect(texts).toEqual([
      {
        result: {
          messages: [
            { id: '9', nested: { value: 'x' } },
            { id: '9', nested: { value: 'y' } },
          ],
        },
      },
    ]);
  });

  it('a bad message in a client stream: error frame INVALID_ARGUMENT, close 4003', async () => {
    const c = await WsClient.connect(`${ws}/v1/collect`);
    c.send('{"small": "not a number"}');
    const { texts, close } = await c.end();
    expect(close.code).toBe(4003);
    expect((texts[0] as { error: { code: number } }).error.code).toBe(3);
  });

  it('the client closing cancels the upstream stream at once (CANCELLED)', async () => {
    const before = h.backend.cancelled.length;
    const c = await WsClient.connect(`${ws}/v1/expand?count=1000&intervalMs=50`);
    await c.waitForFrames(1);
    c.socket.close(1000);
    await c.closed;
    await waitFor(() => h.backend.cancelled.slice(before).includes(EXPAND), 2000, 'upstream cancelled');
  });

  it('a dead peer (no pong) is cut by the keep-alive and its upstream cancelled', async () => {
    const k = await startHarness({ transport, websocket: { pingIntervalMs: 100 } });
    try {
      const c = await WsClient.connect(`${k.baseUrl.replace('http:', 'ws:')}/v1/expand?count=1000&intervalMs=50`, [], { autoPong: false });
      const close = await c.closed;
      expect(close.code).toBe(1006); // terminated: no close frame
      await waitFor(() => k.backend.cancelled.includes(EXPAND), 2000, 'upstream cancelled');
    } finally {
      await k.close();
    }
  });

  it.each([
    ['no route', '/v1/nowhere', 4005, 'ROUTE_NOT_FOUND'],
    ['a $method with no binding', '/v1/expand?$method=PUT', 4012, 'METHOD_NOT_ALLOWED'],
    ['an unknown query parameter', '/v1/expand?nope=1', 4003, 'UNKNOWN_QUERY_PARAMETER'],
  ])('refused after the handshake: %s', async (_name, path, code, reason) => {
    const c = await WsClient.connect(`${ws}${path}`);
    const { texts, close } = await c.end();
    expect(close.code).toBe(code);
    expect(reasonOf(texts[0])).toBe(reason);
    expect(JSON.parse(close.reason)).toMatchObject({ code: code - 4000 });
  });

  it('a second message to a unary call is UNEXPECTED_MESSAGE', async () => {
    const c = await WsClient.connect(`${ws}/v1/slow?delayMs=2000`);
    c.send({});
    const { texts, close } = await c.end();
    expect(close.code).toBe(4003);
    expect(reasonOf(texts[0])).toBe('UNEXPECTED_MESSAGE');
  });

  it('a binary frame is refused (4003 UNSUPPORTED_MEDIA_TYPE)', async () => {
    const c = await WsClient.connect(`${ws}/v1/collect`);
    c.socket.send(Buffer.from('{}'), { binary: true });
    const { texts, close } = await c.end();
    expect(close.code).toBe(4003);
    expect(reasonOf(texts[0])).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('a message larger than websocket.maxMessageBytes closes with 1009', async () => {
    const c = await WsClient.connect(`${ws}/v1/collect`);
    c.send({ name: 'x'.repeat(5000) });
    expect((await c.closed).code).toBe(1009);
  });

  it('the subprotocol is echoed when offered; a foreign one alone fails the handshake', async () => {
    const c = await WsClient.connect(`${ws}/v1/expand?count=1`, [SUBPROTOCOL]);
    expect(c.socket.protocol).toBe(SUBPROTOCOL);
    expect((await c.end()).close.code).toBe(1000);
    await expect(WsClient.connect(`${ws}/v1/expand?count=1`, ['mqtt'])).rejects.toThrow(/subprotocol/);
  });

  it('bidi echo, interleaved: each answer arrives before the next message is sent; half-close ends it OK', async () => {
    const c = await WsClient.connect(`${ws}/v1/chat/7`);
    c.send({ value: 'a' });
    await c.waitForFrames(1);
    expect(c.texts).toEqual([{ result: { id: '7', nested: { value: 'a' } } }]);
    c.send({ value: 'b', inner: { value: 'deep' } });
    await c.waitForFrames(2);
    expect(c.texts[1]).toEqual({ result: { id: '7', nested: { value: 'b', inner: { value: 'deep' } } } });
    c.send('');
    expect((await c.end()).close).toEqual({ code: 1000, reason: '' });
  });

  it('bidi: the upstream failing mid-stream sends its Status (with details) and closes 4000+code', async () => {
    const c = await WsClient.connect(`${ws}/v1/chat/7`);
    c.send({ value: 'a' });
    await c.waitForFrames(1);
    c.send({ value: 'fail' });
    const { texts, close } = await c.end();
    expect(texts[0]).toEqual({ result: { id: '7', nested: { value: 'a' } } });
    expect(texts[1]).toEqual({ error: { ...streamFailure(10), message: 'bidi failed' } });
    expect(close).toEqual({ code: 4010, reason: JSON.stringify({ code: 10, message: 'bidi failed' }) });
  });

  it('bidi: the client closing cancels the upstream at once (CANCELLED)', async () => {
    const before = h.backend.cancelled.length;
    const c = await WsClient.connect(`${ws}/v1/chat/7`);
    c.send({ value: 'a' });
    await c.waitForFrames(1);
    c.socket.close(1000);
    await c.closed;
    await waitFor(() => h.backend.cancelled.slice(before).includes(CHAT), 2000, 'upstream cancelled');
  });

  it('bidi: a bad message mid-stream fails the call (4003 INVALID_ARGUMENT) and cancels the upstream', async () => {
    const before = h.backend.cancelled.length;
    const c = await WsClient.connect(`${ws}/v1/chat/7`);
    c.send({ value: 'a' });
    await c.waitForFrames(1);
    c.send('{"value": 5}');
    const { texts, close } = await c.end();
    expect(close.code).toBe(4003);
    expect((texts[1] as { error: { code: number } }).error.code).toBe(3);
    await waitFor(() => h.backend.cancelled.slice(before).includes(CHAT), 2000, 'upstream cancelled');
  });

  it('client stream: messages reach the upstream as they arrive (the call starts before the first frame)', async () => {
    const collectsBefore = h.backend.calls.get(COLLECT) ?? 0;
    const c = await WsClient.connect(`${ws}/v1/collect`);
    await waitFor(() => (h.backend.calls.get(COLLECT) ?? 0) > collectsBefore, 2000, 'upstream call opened');
    c.send({ name: 'late' });
    c.send('');
    expect((await c.end()).texts).toEqual([{ result: { messages: [{ name: 'late' }] } }]);
  });

  it('a slow reader pauses the upstream (HTTP/2 flow control) instead of buffering its stream', async () => {
    // ~100 MB in 100,000 messages; the client reads nothing for a while.
    const c = await WsClient.connect(`${ws}/v1/expand?count=100000&text=${'x'.repeat(1000)}`);
    c.socket.pause();
    await waitFor(() => h.backend.expandSent > 1000, 5000, 'stream started');
    let sent = -1;
    // The backend stops once every window and buffer on the way is full: its count stands still.
    for (let i = 0; i < 50 && sent !== h.backend.expandSent; i++) {
      sent = h.backend.expandSent;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(h.backend.expandSent).toBe(sent);
    // ~4-6 MB measured: the h2 window (4 MiB), streamBufferBytes and the socket buffers; not the 100 MB.
    expect(sent).toBeLessThan(20_000);
    c.socket.resume();
    await waitFor(() => h.backend.expandSent > sent + 1000, 10_000, 'upstream resumed');
    c.socket.close();
    await c.closed;
  });
});

describe('WebSocket limits', () => {
  let h: Harness;
  let ws: string;
  beforeAll(async () => {
    h = await startHarness({ websocket: { maxMessagesPerSecond: 1, messageBurst: 2 }, limits: { maxStreamsPerClient: 2 } });
    ws = h.baseUrl.replace('http:', 'ws:');
  });
  afterAll(() => h.close());

  it('messages past the per-connection rate close with 4008 MESSAGE_RATE_LIMITED', async () => {
    const c = await WsClient.connect(`${ws}/v1/collect`);
    for (let i = 0; i < 3; i++) c.send({ name: `m${i}` });
    const { texts, close } = await c.end();
    expect(close.code).toBe(4008);
    expect(reasonOf(texts[0])).toBe('MESSAGE_RATE_LIMITED');
  });

  it('open streams per client are shared by HTTP streams and WebSocket connections', async () => {
    const controller = new AbortController();
    const res = await fetch(`${h.baseUrl}/v1/expand?count=1000&intervalMs=100`, { signal: controller.signal });
    expect(res.status).toBe(200);
    const first = await WsClient.connect(`${ws}/v1/expand?count=1000&intervalMs=100`);
    await first.waitForFrames(1);
    const refused = await WsClient.connect(`${ws}/v1/expand?count=1`);
    const { texts, close } = await refused.end();
    expect(close.code).toBe(4008);
    expect(reasonOf(texts[0])).toBe('TOO_MANY_STREAMS');
    controller.abort();
    first.socket.close();
    await first.closed;
  });

  it('open connections end UNAVAILABLE (4014 SHUTTING_DOWN) when the gateway shuts down', async () => {
    const k = await startHarness();
    const c = await WsClient.connect(`${k.baseUrl.replace('http:', 'ws:')}/v1/expand?count=1000&intervalMs=50`);
    await c.waitForFrames(1);
    await k.close();
    const { texts, close } = await c.end();
    expect(close.code).toBe(4014);
    expect(reasonOf(texts[texts.length - 1])).toBe('SHUTTING_DOWN');
  });
});

describe('WebSocket auth', () => {
  let h: Harness;
  let ws: string;
  let jwks: http.Server;
  let token: string;
  beforeAll(async () => {
    const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'EdDSA' };
    jwks = http.createServer((_req, res) => res.end(JSON.stringify({ keys: [jwk] })));
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    const { port } = jwks.address() as { port: number };
    token = await new SignJWT({ role: 'admin' })
      .setProtectedHeader({ alg: 'EdDSA', kid: 'k1' })
      .setSubject('u1')
      .setIssuer('acme-user')
      .setAudience('acme')
      .setExpirationTime('1h')
      .sign(privateKey);
    h = await startHarness({ auth: { mode: 'jwt', jwks: `http://127.0.0.1:${port}/jwks.json` } });
    ws = h.baseUrl.replace('http:', 'ws:');
  });
  afterAll(async () => {
    await h.close();
    await new Promise((resolve) => jwks.close(resolve));
  });

  it('refused without a token: error frame UNAUTHENTICATED, close 4016', async () => {
    const c = await WsClient.connect(`${ws}/v1/expand?count=1`);
    const { texts, close } = await c.end();
    expect(close.code).toBe(4016);
    expect(reasonOf(texts[0])).toBe('UNAUTHENTICATED');
  });

  it('accepted with an Authorization header', async () => {
    const c = await WsClient.connect(`${ws}/v1/expand?count=1`, [], { headers: { authorization: `Bearer ${token}` } });
    expect(await c.end()).toEqual({ texts: [{ result: {} }], close: { code: 1000, reason: '' } });
  });

  it('accepted with a bearer subprotocol (browsers); only acme.grpc-json.v1 is echoed; the service gets the token', async () => {
    const c = await WsClient.connect(`${ws}/v1/expand?count=1`, [SUBPROTOCOL, `bearer.${token}`]);
    expect(c.socket.protocol).toBe(SUBPROTOCOL);
    expect(await c.end()).toEqual({ texts: [{ result: {} }], close: { code: 1000, reason: '' } });
    expect(h.backend.lastMetadata?.get('authorization')).toEqual([`Bearer ${token}`]);
  });

  it.each([
    ['a bad token', [SUBPROTOCOL, 'bearer.not-a-jwt']],
    ['a bearer without acme.grpc-json.v1', ['x', 'bearer.abc']],
  ])('refused with %s', async (_name, protocols) => {
    // Without our subprotocol the server echoes none and a strict client fails the handshake.
    if (!protocols.includes(SUBPROTOCOL)) {
      await expect(WsClient.connect(`${ws}/v1/expand?count=1`, protocols)).rejects.toThrow(/subprotocol/);
      return;
    }
    const c = await WsClient.connect(`${ws}/v1/expand?count=1`, protocols);
    const { texts, close } = await c.end();
    expect(close.code).toBe(4016);
    expect(reasonOf(texts[0])).toBe('UNAUTHENTICATED');
  });

  it('a header and a subprotocol with different tokens are refused', async () => {
    const c = await WsClient.connect(`${ws}/v1/expand?count=1`, [SUBPROTOCOL, `bearer.${token}`], { headers: { authorization: 'Bearer other' } });
    const { close } = await c.end();
    expect(close.code).toBe(4016);
  });
});
