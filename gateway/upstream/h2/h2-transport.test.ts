/**
 * Corner cases of the lean client that a grpc-js server never produces, driven by raw
 * node:http2 servers on loopback. The common behaviours are in transport-conformance.test.ts.
 */
import * as http2 from 'node:http2';
import * as net from 'node:net';
import { encodeFrame } from './h2-framing';
import { rejectedStatus } from '../../test-support/rejected-status';
import { encodeGrpcMessage } from './h2-metadata';
import { createH2Transport, type H2Transport, type H2TransportOptions } from './h2-transport';
import type { CallStatus, Metadata } from '../transport';

type Handler = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => void;

interface RawServer {
  port: number;
  /** Sessions accepted so far (one per client connection). */
  sessions: http2.ServerHttp2Session[];
  /** The TCP sockets under the sessions, to drop a connection without a GOAWAY. */
  sockets: net.Socket[];
  calls: number;
  pings: number;
  close(): Promise<void>;
}

const servers: RawServer[] = [];
const transports: H2Transport[] = [];

afterEach(async () => {
  await Promise.all(transports.splice(0).map((t) => t.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function rawServer(handler: Handler, settings: http2.Settings = {}, options: http2.ServerOptions = {}): Promise<RawServer> {
  const server = http2.createServer({ ...options, settings });
  const raw: RawServer = {
    port: 0,
    sessions: [],
    sockets: [],
    calls: 0,
    pings: 0,
    close: () => {
      for (const session of raw.sessions) session.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
  server.on('connection', (socket: net.Socket) => raw.sockets.push(socket));
  server.on('session', (session) => {
    raw.sessions.push(session);
    session.on('ping', () => {
      raw.pings++;
    });
  });
  server.on('stream', (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => {
    raw.calls++;
    handler(stream, headers);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  raw.port = (server.address() as net.AddressInfo).port;
  servers.push(raw);
  return raw;
}

function transport(target: string | RawServer, options: Partial<H2TransportOptions> = {}): H2Transport {
  const t = createH2Transport(typeof target === 'string' ? target : `127.0.0.1:${target.port}`, options);
  transports.push(t);
  return t;
}

const GRPC = { ':status': 200, 'content-type': 'application/grpc' };

/** A well-behaved answer: headers, each message in its own write, then status trailers. */
function answer(stream: http2.ServerHttp2Stream, messages: string[]): void {
  stream.respond(GRPC, { waitForTrailers: true });
  stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
  for (const m of messages) stream.write(encodeFrame(Buffer.from(m)));
  stream.end();
}

const echo: Handler = (stream) => answer(stream, ['pong']);

const call = (t: H2Transport, path = '/test.Echo/Unary') => t.unary(path, Buffer.from('ping'), { metadata: [] });
const text = (m: Uint8Array) => Buffer.from(m).toString();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Streamed {
  headers: Metadata[];
  messages: string[];
  status: CallStatus;
}
function stream(t: H2Transport): Promise<Streamed> {
  return new Promise((resolve) => {
    const out: Streamed = { headers: [], messages: [], status: undefined as unknown as CallStatus };
    t.serverStream(
      '/test.Echo/Stream',
      Buffer.alloc(0),
      { metadata: [] },
      {
        onHeaders: (h) => out.headers.push(h),
        onMessage: (m) => {
          out.messages.push(text(m));
        },
        onEnd: (s) => resolve({ ...out, status: s }),
      },
    );
  });
}

describe('responses', () => {
  it('reads the status of a trailers-only response', async () => {
    const server = await rawServer((s) =>
      s.respond(
        {
          ...GRPC,
          'grpc-status': '5',
          'grpc-message': encodeGrpcMessage('no such 100% thing ✓'),
          'x-extra': 'yes',
        },
        { endStream: true },
      ),
    );
    const t = transport(server);
    const st = await rejectedStatus(call(t));
    expect(st).toMatchObject({ code: 5, message: 'no such 100% thing ✓' });
    expect(st.trailers).toContainEqual(['x-extra', 'yes']);
    const streamed = await stream(t);
    expect(streamed.headers).toEqual([]); // trailers-only: no response headers
    expect(streamed.status.code).toBe(5);
  });

  it('reassembles a message written one byte per DATA frame', async () => {
    const message = Buffer.from('a message split into many DATA frames');
    const server = await rawServer(async (s) => {
      s.respond(GRPC, { waitForTrailers: true });
      s.on('wantTrailers', () => s.sendTrailers({ 'grpc-status': '0' }));
      const frame = encodeFrame(message);
      for (let i = 0; i < frame.length; i++) {
        await new Promise((resolve) => s.write(frame.subarray(i, i + 1), resolve));
        await new Promise((resolve) => setImmediate(resolve));
      }
      s.end();
    });
    expect(text((await call(transport(server))).message)).toBe(message.toString());
  });

  it('splits two messages sent in one DATA frame', async () => {
    const server = await rawServer((s) => {
      s.respond(GRPC, { waitForTrailers: true });
      s.on('wantTrailers', () => s.sendTrailers({ 'grpc-status': '0' }));
      s.end(Buffer.concat([encodeFrame(Buffer.from('one')), encodeFrame(Buffer.from('two')), encodeFrame(Buffer.alloc(0))]));
    });
    const streamed = await stream(transport(server));
    expect(streamed).toMatchObject({ messages: ['one', 'two', ''], status: { code: 0 } });
  });

  it.each([
    [
      'trailers without grpc-status',
      (s: http2.ServerHttp2Stream) => {
        s.respond(GRPC, { waitForTrailers: true });
        s.on('wantTrailers', () => s.sendTrailers({ 'x-no-status': 'sorry' }));
        s.end(encodeFrame(Buffer.from('x')));
      },
      2,
    ],
    [
      'an end without trailers',
      (s: http2.ServerHttp2Stream) => {
        s.respond(GRPC);
        s.end(encodeFrame(Buffer.from('x')));
      },
      13,
    ],
  ])('maps a missing grpc-status (%s)', async (_case, handler, code) => {
    const server = await rawServer(handler);
    expect((await rejectedStatus(call(transport(server)))).code).toBe(code);
  });

  it.each([
    [400, 13],
    [401, 16],
    [403, 7],
    [404, 12],
    [429, 14],
    [502, 14],
    [503, 14],
    [504, 14],
    [500, 2],
  ])('maps HTTP status %i without grpc-status to code %i', async (httpStatus, code) => {
    const server = await rawServer((s) => s.respond({ ':status': httpStatus, 'content-type': 'text/html' }, { endStream: true }));
    expect(await rejectedStatus(call(transport(server)))).toMatchObject({ code, message: `Received HTTP status code ${httpStatus}` });
  });

  it('maps an HTML error page with a non-200 status by its HTTP status', async () => {
    const server = await rawServer((s) => {
      s.respond({ ':status': 503, 'content-type': 'text/html' });
      s.end('<html><body>down for maintenance</body></html>');
    });
    expect((await rejectedStatus(call(transport(server)))).code).toBe(14);
  });

  it.each([
    ['no message', [], 'No message received'],
    ['two messages', ['a', 'b'], 'Too many responses received'],
  ])('fails a unary call with %s as UNIMPLEMENTED', async (_case, messages, message) => {
    const server = await rawServer((s) => answer(s, messages));
    expect(await rejectedStatus(call(transport(server)))).toMatchObject({ code: 12, message });
  });

  it('rejects a compressed frame without grpc-encoding as INTERNAL', async () => {
    const server = await rawServer((s) => {
      const frame = encodeFrame(Buffer.from('zzz'));
      frame[0] = 1;
      s.respond(GRPC, { waitForTrailers: true });
      s.on('wantTrailers', () => s.sendTrailers({ 'grpc-status': '0' }));
      s.end(frame);
    });
    expect((await rejectedStatus(call(transport(server)))).code).toBe(13);
  });

  it('rejects a message over maxReceiveMessageLength as RESOURCE_EXHAUSTED', async () => {
    const server = await rawServer((s) => answer(s, ['0123456789']));
    expect((await rejectedStatus(call(transport(server, { maxReceiveMessageLength: 5 })))).code).toBe(8);
  });
});

describe('requests', () => {
  it('sends the gRPC request headers, grpc-timeout and metadata, and no reserved names', async () => {
    let seen: http2.IncomingHttpHeaders = {};
    const server = await rawServer((s, headers) => {
      seen = headers;
      echo(s, headers);
    });
    await transport(server).unary('/pkg.Svc/M', Buffer.alloc(0), {
      deadline: Date.now() + 5000,
      metadata: [
        ['x-a', '1'],
        ['x-b-bin', Buffer.from([0xfb, 0xff])],
        ['te', 'gzip'],
        ['grpc-timeout', '1n'],
        ['content-type', 'x'],
      ],
    });
    expect(seen).toMatchObject({
      ':method': 'POST',
      ':scheme': 'http',
      ':path': '/pkg.Svc/M',
      ':authority': `127.0.0.1:${server.port}`,
      'content-type': 'application/grpc',
      te: 'trailers',
      'x-a': '1',
      'x-b-bin': '+/8',
    });
    expect(seen['grpc-timeout']).toMatch(/^(49\d\d|5000)m$/);
  });

  it('fails a call with an invalid metadata value as INTERNAL without sending it', async () => {
    const server = await rawServer(echo);
    const st = await rejectedStatus(transport(server).unary('/x/y', Buffer.alloc(0), { metadata: [['x-a', 'line\nbreak']] }));
    expect(st.code).toBe(13);
    expect(server.calls).toBe(0);
  });
});

describe('connections', () => {
  it('moves to a new connection after GOAWAY', async () => {
    const server = await rawServer((s, h) => {
      if (server.calls === 1) s.session!.goaway(http2.constants.NGHTTP2_NO_ERROR, s.id);
      echo(s, h);
    });
    const t = transport(server);
    expect(text((await call(t)).message)).toBe('pong');
    expect(text((await call(t)).message)).toBe('pong');
    expect(server.sessions.length).toBe(2);
  });

  it('opens more connections when the server allows one stream each', async () => {
    const server = await rawServer((s, h) => setTimeout(() => echo(s, h), 30), { maxConcurrentStreams: 1 });
    const t = transport(server);
    const results = await Promise.all(Array.from({ length: 5 }, () => call(t)));
    expect(results.map((r) => text(r.message))).toEqual(Array(5).fill('pong'));
    expect(server.sessions.length).toBeGreaterThan(1);
  });

  it('round-robins over the addresses of an ipv4: target', async () => {
    const a = await rawServer(echo);
    const b = await rawServer(echo);
    const t = transport(`ipv4:127.0.0.1:${a.port},127.0.0.1:${b.port}`);
    for (let i = 0; i < 10; i++) await call(t);
    expect(a.calls).toBeGreaterThan(0);
    expect(b.calls).toBeGreaterThan(0);
    expect(a.calls + b.calls).toBe(10);
  });

  it('resolves a dns: target', async () => {
    const server = await rawServer(echo);
    expect(text((await call(transport(`dns:localhost:${server.port}`))).message)).toBe('pong');
  });

  it('sends keepalive PINGs', async () => {
    const server = await rawServer(echo);
    const t = transport(server, { keepaliveIntervalMs: 20, keepalivePermitWithoutCalls: true });
    await call(t);
    await sleep(150);
    expect(server.pings).toBeGreaterThan(0);
  });

  it('fails calls in flight with UNAVAILABLE when the connection drops', async () => {
    const server: RawServer = await rawServer((s) => {
      s.respond(GRPC);
      setTimeout(() => server.sockets.forEach((socket) => socket.destroy()), 20);
    });
    expect((await rejectedStatus(call(transport(server)))).code).toBe(14);
  });

  it('backs off after a failed connection instead of retrying at once', async () => {
    let connections = 0;
    const dead = net.createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve));
    try {
      const t = transport(`127.0.0.1:${(dead.address() as net.AddressInfo).port}`, { initialBackoffMs: 60_000 });
      for (let i = 0; i < 5; i++) expect((await rejectedStatus(call(t))).code).toBe(14);
      expect(connections).toBe(1);
    } finally {
      await new Promise((resolve) => dead.close(resolve));
    }
  });

  it('cancels calls in flight on close()', async () => {
    const server = await rawServer(() => {
      /* never answers */
    });
    const t = createH2Transport(`127.0.0.1:${server.port}`);
    const pending = rejectedStatus(call(t));
    await sleep(20);
    await t.close();
    expect((await pending).code).toBe(1);
  });
});

describe('HTTP/2 framing (our own client session against nghttp2)', () => {
  it('reads padded HEADERS and DATA frames', async () => {
    const server = await rawServer(echo, {}, { paddingStrategy: http2.constants.PADDING_STRATEGY_MAX });
    const t = transport(server);
    expect(text((await call(t)).message)).toBe('pong');
    expect((await stream(t)).messages).toEqual(['pong']);
  });

  it('reads response headers split over CONTINUATION frames', async () => {
    const big = 'b'.repeat(40_000);
    const server = await rawServer(
      (s) => {
        s.respond({ ...GRPC, 'x-big': big }, { waitForTrailers: true });
        s.on('wantTrailers', () => s.sendTrailers({ 'grpc-status': '0', 'x-big-trailer': big }));
        s.end(encodeFrame(Buffer.from('pong')));
      },
      { maxHeaderListSize: 1 << 20 },
    );
    const result = await call(transport(server));
    expect(result.headers).toContainEqual(['x-big', big]);
    expect(result.trailers).toContainEqual(['x-big-trailer', big]);
  });

  it('keeps its HPACK table in step over many calls with changing headers', async () => {
    const server = await rawServer((s, h) => {
      s.respond({ ...GRPC, 'x-echo': String(h['x-n']).repeat(20) }, { waitForTrailers: true });
      s.on('wantTrailers', () => s.sendTrailers({ 'grpc-status': '0', 'x-trailer': `t${String(h['x-n'])}` }));
      s.end(encodeFrame(Buffer.from('pong')));
    });
    const t = transport(server);
    for (let n = 0; n < 300; n++) {
      const result = await t.unary('/pkg.S/M', Buffer.alloc(0), { metadata: [['x-n', `value-${n}`]] });
      expect(result.headers).toContainEqual(['x-echo', `value-${n}`.repeat(20)]);
      expect(result.trailers).toContainEqual(['x-trailer', `tvalue-${n}`]);
    }
  });

  it("indexes each method's request headers in the server's HPACK table, through evictions and a smaller table", async () => {
    for (const headerTableSize of [4096, 200]) {
      const seen: string[] = [];
      const server = await rawServer(
        (s, h) => {
          seen.push(`${String(h[':path'])} ${String(h[':authority'])} ${String(h.te)} ${String(h['content-type'])} ${String(h['x-n'])}`);
          echo(s, h);
        },
        { headerTableSize },
      );
      const t = transport(server);
      // 60 methods with long paths: far more than a 4 KiB table holds, so entries are evicted and re-sent.
      const paths = Array.from({ length: 60 }, (_, i) => `/pkg.Service${i}/Method${'x'.repeat(i * 3)}`);
      const expected: string[] = [];
      for (let n = 0; n < 300; n++) {
        const path = paths[(n * 7) % paths.length];
        await t.unary(path, Buffer.from('ping'), { metadata: [['x-n', String(n)]], deadline: Date.now() + 5000 });
        expected.push(`${path} 127.0.0.1:${server.port} trailers application/grpc ${n}`);
      }
      expect(seen).toEqual(expected);
      expect(server.sessions).toHaveLength(1);
    }
  });

  it('sends a large request within a small server window, waiting for WINDOW_UPDATE', async () => {
    const server = await rawServer(
      (s) => {
        let received = 0;
        s.on('data', (chunk: Buffer) => {
          received += chunk.length;
        });
        s.on('end', () => answer(s, [String(received)]));
      },
      { initialWindowSize: 1000 },
    );
    const t = transport(server);
    const request = Buffer.alloc(300_000, 7);
    expect(text((await t.unary('/pkg.S/M', request, { metadata: [] })).message)).toBe(String(request.length + 5));
    const streaming = t.clientStream('/pkg.S/C', { metadata: [] });
    for (let i = 0; i < 20; i++) streaming.write(Buffer.alloc(10_000, i));
    streaming.end();
    expect(text((await streaming.result).message)).toBe(String(20 * 10_005));
  });

  it('ends a client stream the server answered early without sending more', async () => {
    const server = await rawServer((s) => {
      s.once('data', () => answer(s, ['early']));
    });
    const streaming = transport(server).clientStream('/pkg.S/C', { metadata: [] });
    streaming.write(Buffer.from('first'));
    const result = await streaming.result;
    streaming.write(Buffer.from('late'));
    streaming.end();
    expect(text(result.message)).toBe('early');
  });

  it.each([
    [http2.constants.NGHTTP2_REFUSED_STREAM, 14, 'Stream refused by server'],
    [http2.constants.NGHTTP2_ENHANCE_YOUR_CALM, 8, 'Bandwidth exhausted or memory limit exceeded'],
    [http2.constants.NGHTTP2_INTERNAL_ERROR, 13, 'Received RST_STREAM with code 2'],
  ])('maps RST_STREAM %i from the server to its status', async (rstCode, code, message) => {
    const server = await rawServer((s) => {
      s.on('error', () => undefined); // node reports its own reset as an error
      s.close(rstCode);
    });
    expect(await rejectedStatus(call(transport(server)))).toMatchObject({ code, message });
  });

  it('reassembles frames that arrive a few bytes at a time', async () => {
    const server = await rawServer((s, h) => {
      s.respond({ ...GRPC, 'x-echo': String(h['x-n']) }, { waitForTrailers: true });
      s.on('wantTrailers', () => s.sendTrailers({ 'grpc-status': '0' }));
      s.end(encodeFrame(Buffer.from(`pong ${String(h['x-n'])}`)));
    });
    // A relay that hands the server's bytes to the client in 1-7 byte pieces, one per turn.
    const relay = net.createServer((client) => {
      const upstream = net.connect(server.port, '127.0.0.1');
      client.pipe(upstream);
      let queue = Promise.resolve();
      upstream.on('data', (chunk: Buffer) => {
        queue = queue.then(async () => {
          for (let i = 0; i < chunk.length;) {
            const n = 1 + (i % 7);
            client.write(chunk.subarray(i, i + n));
            i += n;
            await new Promise((resolve) => setImmediate(resolve));
          }
        });
      });
      const close = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('close', close);
      upstream.on('close', close);
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    try {
      const t = transport(`127.0.0.1:${(relay.address() as net.AddressInfo).port}`);
      for (let n = 0; n < 5; n++) {
        const result = await t.unary('/pkg.S/M', Buffer.alloc(0), { metadata: [['x-n', String(n)]] });
        expect(text(result.message)).toBe(`pong ${n}`);
        expect(result.headers).toContainEqual(['x-echo', String(n)]);
      }
      await t.close();
    } finally {
      await new Promise((resolve) => relay.close(resolve));
    }
  });

  it('settles every call, and never throws, whatever frames a server sends', async () => {
    let seed = 99;
    const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n;
    const frame = (type: number, flags: number, id: number, payload: Buffer) => {
      const header = Buffer.alloc(9);
      header.writeUIntBE(payload.length, 0, 3);
      header[3] = type;
      header[4] = flags;
      header.writeUInt32BE(id, 5);
      return Buffer.concat([header, payload]);
    };
    const garbage = net.createServer((socket) => {
      socket.resume();
      const out = [frame(4, 0, 0, Buffer.alloc(0))]; // an empty SETTINGS, then anything
      for (let i = 0; i < 20; i++) {
        const payload = Buffer.alloc(rnd(40));
        for (let j = 0; j < payload.length; j++) payload[j] = rnd(256);
        out.push(frame(rnd(11), rnd(256), rnd(4) === 0 ? 0 : 1 + 2 * rnd(3), payload));
      }
      socket.end(Buffer.concat(out));
    });
    await new Promise<void>((resolve) => garbage.listen(0, '127.0.0.1', resolve));
    try {
      for (let n = 0; n < 40; n++) {
        const t = transport(`127.0.0.1:${(garbage.address() as net.AddressInfo).port}`, { initialBackoffMs: 1 });
        const outcome = await call(t).then(
          () => 'ok',
          (err: Error) => err.name,
        );
        expect(['ok', 'CallError']).toContain(outcome);
        await t.close();
      }
    } finally {
      await new Promise((resolve) => garbage.close(resolve));
    }
  });

  it('fails calls as UNAVAILABLE when the server does not speak HTTP/2', async () => {
    const http1 = net.createServer((socket) => socket.resume().end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n'));
    await new Promise<void>((resolve) => http1.listen(0, '127.0.0.1', resolve));
    try {
      const t = transport(`127.0.0.1:${(http1.address() as net.AddressInfo).port}`);
      expect((await rejectedStatus(call(t))).code).toBe(14);
    } finally {
      await new Promise((resolve) => http1.close(resolve));
    }
  });
});
