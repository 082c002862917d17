/**
 * Bidi and client streams over HTTP/1.1, end to end: a real node:http client writes a chunked
 * NDJSON body line by line while it reads `{"result":…}` lines back, against the echo backend
 * (acme.echo.v1.EchoService.Chat answers each message as it arrives), on both transports.
 */
import { startHarness, type Harness } from '../test-support/gateway-harness';
import { TRANSPORTS, violatedFields, waitFor } from '../test-support/http-client';
import { openNdjsonStream } from '../test-support/ndjson-stream';

const CHAT = '/acme.echo.v1.EchoService/Chat';

describe.each(TRANSPORTS)('bidi over HTTP/1.1 on %s', (transport) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ transport });
  });
  afterAll(() => h.close());

  const cancelledChats = () => h.backend.cancelled.filter((p) => p === CHAT).length;

  it('answers each line before the request body ends, then ends cleanly at half-close', async () => {
    const s = openNdjsonStream(`${h.baseUrl}/v1/echo:chat`);
    s.send({ name: 'one' });
    const res = await s.response;
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/x-ndjson');
    expect(await s.next()).toEqual({ result: { name: 'one' } });
    // The body is still open: the answer came back while the client was still sending.
    expect(s.request.writableEnded).toBe(false);
    s.send('{"name":"two", "small": 2}\r\n\n   \n');
    expect(await s.next()).toEqual({ result: { name: 'two', small: 2 } });
    s.send('{"name":');
    s.send('"split across chunks"}\n');
    expect(await s.next()).toEqual({ result: { name: 'split across chunks' } });
    s.end();
    expect(await s.rest()).toEqual([]);
    expect(res.headers['grpc-metadata-echo-content-type']).toBeUndefined();
  });

  it('an upstream failure mid-stream ends with an {"error": Status} line', async () => {
    const s = openNdjsonStream(`${h.baseUrl}/v1/echo:chat`);
    s.send({ name: 'a' });
    expect(await s.next()).toEqual({ result: { name: 'a' } });
    s.send({ name: 'fail', small: 9 });
    const last = await s.next();
    expect(last.error).toMatchObject({ code: 9, message: 'stream failed' });
    expect(await s.rest()).toEqual([]);
    s.destroy();
  });

  it('a bad line mid-stream ends with a 400 error line, and the upstream is cancelled', async () => {
    const before = cancelledChats();
    const s = openNdjsonStream(`${h.baseUrl}/v1/echo:chat`);
    s.send({ name: 'a' });
    expect(await s.next()).toEqual({ result: { name: 'a' } });
    s.send({ small: 'not a number' });
    const last = await s.next();
    expect(last.error.code).toBe(3);
    expect(violatedFields(last.error)).toEqual(['small']);
    await waitFor(() => cancelledChats() > before, 2000, 'the backend to see the cancel');
    s.destroy();
  });

  it('a client that goes away cancels the upstream at once', async () => {
    const before = cancelledChats();
    const s = openNdjsonStream(`${h.baseUrl}/v1/echo:chat`);
    s.send({ name: 'a' });
    expect(await s.next()).toEqual({ result: { name: 'a' } });
    const gone = Date.now();
    s.destroy();
    await waitFor(() => cancelledChats() > before, 2000, 'the backend to see the cancel');
    expect(Date.now() - gone).toBeLessThan(2000);
  });

  it('a bad first line is a plain 400 (nothing was written yet)', async () => {
    const s = openNdjsonStream(`${h.baseUrl}/v1/echo:chat`);
    s.send('{not json}\n');
    const res = await s.response;
    // The upstream accepted the call first (its headers commit the 200), so the error is a line.
    if (res.statusCode === 200) expect((await s.next()).error.code).toBe(3);
    else expect(res.statusCode).toBe(400);
    s.destroy();
  });

  it('client streaming reads its body line by line too', async () => {
    const s = openNdjsonStream(`${h.baseUrl}/v1/collect`);
    s.send({ name: 'a' });
    await new Promise((r) => setTimeout(r, 50));
    s.send({ name: 'b' });
    s.end();
    expect((await s.response).statusCode).toBe(200);
    expect(await s.rest()).toEqual([{ messages: [{ name: 'a' }, { name: 'b' }] }]);
  });
});
