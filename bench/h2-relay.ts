/**
 * A TCP relay that counts the HTTP/2 frames passing through it, per call, in each direction:
 * put it between a gateway and its gRPC backend to compare what two clients make the server
 * do (frames, WINDOW_UPDATEs, PINGs, header-block bytes, and TCP reads: how well the client
 * batches its writes). How the h2 client's HPACK indexing and write batching were compared
 * with grpc-go's (gateway/upstream/h2/README.md).
 *
 *   node dist/bench/h2-relay.js --listen 50062 --backend 127.0.0.1:50061
 *   kill -USR2 <pid>   # prints the counts since the last report as one JSON line, then resets
 *
 * Reads are counted as the relay sees them, so a slow relay merges some: compare clients
 * through the same relay, not with other figures.
 */
import * as net from 'node:net';
import { argValue } from './ipc';

const FRAME_TYPES = ['DATA', 'HEADERS', 'PRIORITY', 'RST_STREAM', 'SETTINGS', 'PUSH_PROMISE', 'PING', 'GOAWAY', 'WINDOW_UPDATE', 'CONTINUATION'];
const PREFACE_LENGTH = 24;

interface Direction {
  frames: Map<string, number>;
  bytes: number;
  reads: number;
  headerBytes: number;
}

const fresh = (): Direction => ({ frames: new Map(), bytes: 0, reads: 0, headerBytes: 0 });
let toServer = fresh();
let toClient = fresh();

/** A frame parser for one direction of one connection; the client's side starts with the preface. */
function counter(direction: () => Direction, preface: number): (chunk: Buffer) => void {
  let pending: Buffer = Buffer.alloc(0);
  let skip = preface;
  return (chunk) => {
    const d = direction();
    d.bytes += chunk.length;
    d.reads++;
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    if (skip > 0) {
      const n = Math.min(skip, pending.length);
      pending = pending.subarray(n);
      skip -= n;
    }
    while (pending.length >= 9) {
      const length = pending.readUIntBE(0, 3);
      if (pending.length < 9 + length) break;
      const type = pending[3];
      const flags = pending[4];
      let name = FRAME_TYPES[type] ?? `TYPE_${type}`;
      if ((type === 4 || type === 6) && (flags & 1) !== 0) name += ' ACK';
      if (type === 8) name += pending.readUInt32BE(5) === 0 ? ' (connection)' : ' (stream)';
      if (type === 1) d.headerBytes += length;
      d.frames.set(name, (d.frames.get(name) ?? 0) + 1);
      pending = pending.subarray(9 + length);
    }
  };
}

function report(): void {
  const calls = toServer.frames.get('HEADERS') ?? 0;
  const per = (n: number): number => Math.round((n / Math.max(1, calls)) * 1000) / 1000;
  const side = (d: Direction): Record<string, unknown> => ({
    framesPerCall: Object.fromEntries([...d.frames].map(([name, n]) => [name, per(n)])),
    bytesPerCall: per(d.bytes),
    headerBlockBytesPerCall: per(d.headerBytes),
    readsPerCall: per(d.reads),
  });
  console.log(JSON.stringify({ calls, toServer: side(toServer), toClient: side(toClient) }));
  toServer = fresh();
  toClient = fresh();
}

function main(): void {
  const listen = Number(argValue('listen'));
  const [host, port] = (argValue('backend') ?? '').split(':');
  if (!listen || !host || !port) throw new Error('usage: h2-relay --listen PORT --backend HOST:PORT');
  net
    .createServer((client) => {
      const server = net.connect(Number(port), host);
      client.setNoDelay(true);
      server.setNoDelay(true);
      const up = counter(() => toServer, PREFACE_LENGTH);
      const down = counter(() => toClient, 0);
      client.on('data', (chunk: Buffer) => {
        up(chunk);
        server.write(chunk);
      });
      server.on('data', (chunk: Buffer) => {
        down(chunk);
        client.write(chunk);
      });
      client.on('close', () => server.destroy());
      server.on('close', () => client.destroy());
      client.on('error', () => server.destroy());
      server.on('error', () => client.destroy());
    })
    .listen(listen, '127.0.0.1', () => console.error(`h2-relay: 127.0.0.1:${listen} -> ${host}:${port}; kill -USR2 ${process.pid} to report`));
  process.on('SIGUSR2', report);
}

main();
