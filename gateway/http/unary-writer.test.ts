import * as http from 'node:http';
import * as net from 'node:net';
import Fastify from 'fastify';
import type { Metadata } from '../upstream/transport';
import { hasReplyHooks, headerBlock, UnaryWriter } from './unary-writer';

// A node server answering each request twice over: /fast through UnaryWriter, /node the way
// Fastify's reply.send does (headers set by hooks on the raw response, then writeHead with the
// reply's headers, then end(body)). The two must put the same bytes on the wire.
const METADATA: Metadata = [
  ['x-user', 'alice'],
  ['x-bin', new Uint8Array([1, 2, 250])],
];
const TRAILERS: Metadata = [['x-took', '3ms']];

interface Case {
  hooks: Array<[string, string]>;
  headers: Metadata;
  trailers: Metadata;
  body: string | Uint8Array;
  status: number;
  type: string;
}

let server: http.Server;
let port: number;
let current: Case;
const fastResults: boolean[] = [];

function nodeWay(res: http.ServerResponse, c: Case): void {
  const headers: Record<string, string> = {};
  for (const [n, v] of c.headers) headers[`grpc-metadata-${n}`] = typeof v === 'string' ? v : Buffer.from(v).toString('base64');
  for (const [n, v] of c.trailers) headers[`grpc-trailer-${n}`] = typeof v === 'string' ? v : Buffer.from(v).toString('base64');
  headers['content-type'] = c.type;
  headers['content-length'] = String(typeof c.body === 'string' ? Buffer.byteLength(c.body) : c.body.byteLength);
  res.writeHead(c.status, headers);
  res.end(c.body);
}

beforeAll(async () => {
  server = http.createServer({ keepAliveTimeout: 5000 }, (req, res) => {
    const c = current;
    for (const [n, v] of c.hooks) res.setHeader(n, v);
    if (req.url === '/fast') {
      const writer = new UnaryWriter(server);
      const ok = writer.write(res, c.status, headerBlock(c.status, c.type)!, c.headers, 'grpc-metadata-', c.trailers, 'grpc-trailer-', c.body);
      fastResults.push(ok);
      // Refused: a plain answer (node's way would throw on the values some cases send).
      if (!ok) res.writeHead(200, { 'content-length': '2' }).end('{}');
    } else {
      nodeWay(res, c);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as net.AddressInfo).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  fastResults.length = 0;
});

/** Sends `raw` on one connection and reads until `responses` answers arrived (or the socket closed). */
function exchange(raw: string, responses: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(raw));
    let got = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      got += d;
      if (countResponses(got) >= responses) {
        socket.destroy();
        resolve(got);
      }
    });
    socket.on('close', () => resolve(got));
    socket.on('error', reject);
  });
}

/** Complete answers in `text` (each has a content-length). */
function countResponses(text: string): number {
  let n = 0;
  let at = 0;
  for (;;) {
    const end = text.indexOf('\r\n\r\n', at);
    if (end === -1) return n;
    const len = /content-length: (\d+)/i.exec(text.slice(at, end));
    const next = end + 4 + Number(len?.[1] ?? 0);
    if (next > text.length) return n;
    n++;
    at = next;
  }
}

const withoutDate = (text: string): string => text.replace(/Date: [^\r]+\r\n/g, 'Date: -\r\n');
const get = (path: string, extra = ''): string => `GET ${path} HTTP/1.1\r\nHost: x\r\n${extra}\r\n`;

describe('UnaryWriter', () => {
  it.each<[string, Partial<Case>]>([
    ['hook headers, metadata and trailers, a JSON body', {}],
    ['no hook headers, no metadata', { hooks: [], headers: [], trailers: [] }],
    ['a UTF-8 body', { body: '{"name":"Zoë ✓ 𝄞"}' }],
    ['a byte body of another type', { body: new Uint8Array([0, 1, 2, 255]), type: 'application/octet-stream' }],
    ['another success status', { status: 201 }],
  ])('writes the bytes node writes: %s', async (_name, over) => {
    current = {
      hooks: [
        ['x-content-type-options', 'nosniff'],
        ['cache-control', 'no-store'],
        ['x-request-id', 'req-1'],
      ],
      headers: METADATA,
      trailers: TRAILERS,
      body: '{"id":"12345","view":"VIEW_FULL"}',
      status: 200,
      type: 'application/json',
      ...over,
    };
    const fast = await exchange(get('/fast'), 1);
    const viaNode = await exchange(get('/node'), 1);
    expect(fastResults).toEqual([true]);
    expect(withoutDate(fast)).toBe(withoutDate(viaNode));
    expect(fast).toMatch(/^HTTP\/1\.1 \d+ /);
    expect(fast).toMatch(/\r\nDate: \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT\r\n/);
  });

  it('keeps pipelined answers in order on one connection', async () => {
    current = { hooks: [['x-request-id', 'p']], headers: [], trailers: [], body: '{"n":1}', status: 200, type: 'application/json' };
    const fast = await exchange(get('/fast') + get('/node') + get('/fast'), 3);
    const viaNode = await exchange(get('/node') + get('/node') + get('/node'), 3);
    expect(countResponses(fast)).toBe(3);
    expect(withoutDate(fast)).toBe(withoutDate(viaNode));
    expect(fastResults).toEqual([true, true]);
  });

  it.each<[string, string, Partial<Case>]>([
    ['the client asks to close', get('/fast', 'Connection: close\r\n'), {}],
    ['HTTP/1.0', 'GET /fast HTTP/1.0\r\nHost: x\r\n\r\n', {}],
    ['a hook set a header node treats specially', get('/fast'), { hooks: [['connection', 'close']] }],
    ['a metadata name a hook already set', get('/fast'), { hooks: [['grpc-metadata-x-user', 'bob']], headers: METADATA }],
    ['a metadata value an HTTP header cannot carry', get('/fast'), { headers: [['x-bad', 'a\r\nb']] }],
  ])('leaves the answer to node when %s', async (_name, request, over) => {
    current = { hooks: [], headers: [], trailers: [], body: '{}', status: 200, type: 'application/json', ...over };
    const text = await exchange(request, 1);
    expect(fastResults).toEqual([false]);
    expect(text).toMatch(/^HTTP\/1\.[01] 200 OK\r\n/);
  });

  it('refuses a content type node would refuse', () => {
    expect(headerBlock(200, 'text/plain\r\nx-injected: 1')).toBeUndefined();
  });
});

describe('hasReplyHooks', () => {
  it('reads Fastify scopes: none, onSend, preSerialization', async () => {
    const app = Fastify();
    const seen: Record<string, boolean> = {};
    await app.register(async (scope) => {
      scope.addHook('onReady', (done) => ((seen.plain = hasReplyHooks(scope)), done()));
    });
    await app.register(async (scope) => {
      scope.addHook('onSend', (_req, _reply, payload, done) => done(null, payload));
      scope.addHook('onReady', (done) => ((seen.onSend = hasReplyHooks(scope)), done()));
    });
    await app.register(async (scope) => {
      scope.addHook('preSerialization', (_req, _reply, payload, done) => done(null, payload));
      await scope.register(async (inner) => {
        inner.addHook('onReady', (done) => ((seen.inherited = hasReplyHooks(inner)), done()));
      });
    });
    await app.ready();
    await app.close();
    expect(seen).toEqual({ plain: false, onSend: true, inherited: true });
  });

  it('assumes hooks when it cannot read them', () => {
    expect(hasReplyHooks({})).toBe(true);
  });
});
