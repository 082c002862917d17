/**
 * What one unary call costs the server on the wire (issue 16: the backend's CPU per call behind
 * our client), read by a hand-written HTTP/2 peer on a real socket: the frames of each call and
 * the size and shape of its header block. Then the same calls against nghttp2 (node:http2), which
 * must decode every per-call value (request id, grpc-timeout) right through evictions.
 */
import * as http2 from 'node:http2';
import type * as net from 'node:net';
import { h2Frame as frame, rawH2Peer, type RawH2Peer } from '../../test-support/raw-h2-peer';
import { HpackDecoder } from './hpack';
import { createH2Transport } from './h2-transport';

const [DATA, HEADERS, SETTINGS] = [0x0, 0x1, 0x4];
const [END_STREAM, END_HEADERS] = [0x1, 0x4];
const NAMES = ['DATA', 'HEADERS', 'PRIORITY', 'RST_STREAM', 'SETTINGS', 'PUSH_PROMISE', 'PING', 'GOAWAY', 'WINDOW_UPDATE', 'CONTINUATION'];

/** :status 200 (static 8), content-type (static name 31) application/grpc, as literals without indexing. */
const RESPONSE = Buffer.concat([Buffer.from([0x88, 0x0f, 0x10, 16]), Buffer.from('application/grpc')]);
/** grpc-status: 0, a literal with a new name. */
const TRAILERS = Buffer.concat([Buffer.from([0x00, 11]), Buffer.from('grpc-status'), Buffer.from([1]), Buffer.from('0')]);
/** One empty gRPC message. */
const MESSAGE = Buffer.alloc(5);

interface SeenCall {
  /** Frames the client sent on this stream, by name (an empty DATA is "DATA(empty)", END_STREAM adds "+ES"). */
  frames: string[];
  headerBlockBytes: number;
  headers: string[];
}

/** A peer (one connection) that answers every call at once and records what each cost it; frames on stream 0 apart. */
async function countingPeer(): Promise<RawH2Peer & { calls: Map<number, SeenCall>; connectionFrames: string[] }> {
  const calls = new Map<number, SeenCall>();
  const connectionFrames: string[] = [];
  const decoder = new HpackDecoder();
  const peer = await rawH2Peer(({ type, flags, stream: id, payload }, socket) => {
    const name = `${NAMES[type] ?? type}${type === DATA && payload.length === 0 ? '(empty)' : ''}${(type === DATA || type === HEADERS) && (flags & END_STREAM) !== 0 ? '+ES' : ''}`;
    if (id === 0) return void connectionFrames.push(`${name}${type === SETTINGS && (flags & 0x1) !== 0 ? ' ACK' : ''}`);
    let call = calls.get(id);
    if (call === undefined) calls.set(id, (call = { frames: [], headerBlockBytes: 0, headers: [] }));
    call.frames.push(name);
    if (type === HEADERS) {
      expect(flags & END_HEADERS).toBe(END_HEADERS);
      call.headerBlockBytes = payload.length;
      call.headers = decoder.decode(payload);
    }
    if ((flags & END_STREAM) === 0) return;
    socket.write(
      Buffer.concat([frame(HEADERS, END_HEADERS, id, RESPONSE), frame(DATA, 0, id, MESSAGE), frame(HEADERS, END_HEADERS | END_STREAM, id, TRAILERS)]),
    );
  });
  return Object.assign(peer, { calls, connectionFrames });
}

const header = (headers: string[], name: string): string | undefined => headers[headers.indexOf(name) + 1];

it('a unary call is one HEADERS and one DATA with END_STREAM; per-call values name their header by index', async () => {
  const peer = await countingPeer();
  const t = createH2Transport(`127.0.0.1:${peer.port}`);
  try {
    const ids: string[] = [];
    for (let n = 0; n < 40; n++) {
      const id = `9b2c6a0e-1f3d-4c5b-8a7e-${String(n).padStart(12, '0')}`;
      ids.push(id);
      const metadata: Array<[string, string]> = [
        ['x-request-id', id],
        ['x-forwarded-for', '10.1.2.3'],
        ['x-forwarded-proto', 'http'],
      ];
      await t.unary('/bench.v1.EchoService/GetItem', Buffer.from('request'), { metadata, deadline: Date.now() + 30_000 });
    }
    const calls = [...peer.calls.values()];
    expect(calls).toHaveLength(40);
    for (const [i, call] of calls.entries()) {
      // No empty DATA to end the stream, no WINDOW_UPDATE or PING per call.
      expect(call.frames).toEqual(['HEADERS', 'DATA+ES']);
      expect(header(call.headers, 'x-request-id')).toBe(ids[i]);
      expect(header(call.headers, 'grpc-timeout')).toMatch(/^(30000|29\d\d\d)m$/);
    }
    // After the first call: 7 bytes of fixed fields, 2 of forwarded ones, the request id as a 2-byte
    // name reference and its 37 bytes of value, the timeout 9 bytes (a name reference and its
    // value), 1 once a value that came twice in a row is indexed, 21 when it is being inserted.
    // Every call took 81 bytes before per-call names were referenced.
    const later = calls.slice(1).map((c) => c.headerBlockBytes);
    expect(Math.max(...later)).toBeLessThanOrEqual(7 + 2 + 39 + 21);
    expect(later.filter((bytes) => bytes <= 7 + 2 + 39 + 9).length).toBeGreaterThanOrEqual(later.length * 0.75);
    // The connection: our SETTINGS and window, the ACK of the peer's SETTINGS; nothing per call.
    expect(peer.connectionFrames).toEqual(['SETTINGS', 'WINDOW_UPDATE', 'SETTINGS ACK']);
  } finally {
    await t.close();
    await peer.close();
  }
});

it('nghttp2 reads every request id and timeout right, through evictions of a 200-byte table', async () => {
  const seen: string[] = [];
  const server = http2.createServer({ settings: { headerTableSize: 200 } });
  server.on('stream', (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => {
    seen.push(`${String(headers['x-request-id'])} ${String(headers['grpc-timeout'])} ${String(headers['x-forwarded-host'])}`);
    stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
    stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
    stream.end(MESSAGE);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const t = createH2Transport(`127.0.0.1:${(server.address() as net.AddressInfo).port}`);
  try {
    const expected: string[] = [];
    for (let n = 0; n < 200; n++) {
      const id = `req-${n}-${'x'.repeat(n % 50)}`;
      const host = `host-${n % 7}.example.com`;
      // Deadlines that repeat in runs (indexed) and change (name references), some far enough to evict.
      const timeoutMs = [5_000, 5_000, 5_000, 60_000 + n][n % 4];
      const deadline = Date.now() + timeoutMs;
      await t.unary('/pkg.S/M', Buffer.from('ping'), {
        metadata: [
          ['x-request-id', id],
          ['x-forwarded-host', host],
        ],
        deadline,
      });
      const [timeout] = seen[seen.length - 1].split(' ').slice(1);
      const ms = Number(timeout.slice(0, -1)) * (timeout.endsWith('S') ? 1000 : 1);
      expect(ms).toBeGreaterThanOrEqual(timeoutMs - 1000);
      expect(ms).toBeLessThanOrEqual(timeoutMs + 1000);
      expected.push(`${id} ${timeout} ${host}`);
    }
    expect(seen).toEqual(expected);
  } finally {
    await t.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
