/**
 * The body reader on a real node:http server: bodies arriving in many pieces (declared length
 * or chunked) come out byte for byte, the limits answer with their reasons, and an abandoned
 * body gives its bytes back to the shared budget.
 */
import * as http from 'node:http';
import * as net from 'node:net';
import { randomBytes } from 'node:crypto';
import { createBodyReader } from './body-reader';

const reader = createBodyReader(1024 * 1024, 1536 * 1024);
let server: http.Server;
let port = 0;
/** What the server read for each request: the body or the error's reason. */
const results: { body?: Buffer; reason?: string }[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    reader.parse(undefined, req, (err, body) => {
      results.push(err ? { reason: (err as Error & { reason?: string }).reason ?? err.message } : { body });
      res.end(err ? 'error' : 'ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as net.AddressInfo).port;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Sends `body` in `pieces` writes with a pause between them, with a Content-Length or chunked. */
async function send(body: Buffer, pieces: number, chunked: boolean): Promise<{ body?: Buffer; reason?: string }> {
  const before = results.length;
  const req = http.request({ port, host: '127.0.0.1', method: 'POST', headers: chunked ? {} : { 'content-length': body.length } });
  const answered = new Promise<void>((resolve, reject) => {
    req.on('response', (res) => res.resume().on('end', resolve));
    req.on('error', reject);
  });
  const size = Math.ceil(body.length / pieces);
  for (let at = 0; at < body.length; at += size) {
    req.write(body.subarray(at, at + size));
    await sleep(2);
  }
  req.end();
  await answered;
  return results[before];
}

describe('body reader', () => {
  it.each([
    ['one piece, declared length', 100, 1, false],
    ['many pieces, declared length', 900 * 1024, 40, false],
    ['many pieces, chunked', 900 * 1024, 40, true],
    ['a few small pieces, chunked', 3000, 3, true],
    ['empty', 0, 1, false],
  ])('%s: the bytes come out as sent', async (_what, length, pieces, chunked) => {
    const body = randomBytes(length);
    const got = await send(body, pieces, chunked);
    expect(got.reason).toBeUndefined();
    expect(Buffer.compare(got.body!, body)).toBe(0);
    expect(reader.buffered()).toBe(0);
  });

  it('a body past the limit: BODY_TOO_LARGE, declared or not', async () => {
    expect((await send(randomBytes(1024 * 1024 + 1), 1, false)).reason).toBe('BODY_TOO_LARGE');
    expect((await send(randomBytes(1024 * 1024 + 1), 20, true)).reason).toBe('BODY_TOO_LARGE');
    expect(reader.buffered()).toBe(0);
  });

  it('an abandoned body gives its bytes back to the budget; past the budget: OVERLOADED', async () => {
    const hold = (): Promise<net.Socket> =>
      new Promise((resolve) => {
        const socket = net.connect(port, '127.0.0.1', () => {
          socket.write(`POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${1024 * 1024}\r\n\r\n`);
          socket.write(Buffer.alloc(1000 * 1024, 1), () => resolve(socket));
        });
      });
    const first = await hold();
    while (reader.buffered() < 1000 * 1024) await sleep(5);
    const before = results.length;
    const second = await hold();
    while (results.length === before) await sleep(5);
    expect(results[before].reason).toBe('OVERLOADED');
    first.destroy();
    second.destroy();
    while (reader.buffered() > 0) await sleep(5);
    expect(reader.buffered()).toBe(0);
  });
});
