/**
 * A hand-written HTTP/2 server on a real socket, for tests of what our client puts on the wire:
 * it sends an empty SETTINGS, skips the client's preface, ACKs its SETTINGS and hands every other
 * frame to `onFrame` as it was received. Not a conformant server: just enough to read frames.
 */
import * as net from 'node:net';

const PREFACE_LENGTH = 24;
const SETTINGS = 0x4;
const ACK = 0x1;

/** One frame as it arrived. */
export interface RawFrame {
  type: number;
  flags: number;
  stream: number;
  payload: Buffer;
}

export interface RawH2Peer {
  readonly port: number;
  close(): Promise<void>;
}

/** A frame's bytes: the 9-byte header, then `payload`. */
export function h2Frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head.writeUInt8(type, 3);
  head.writeUInt8(flags, 4);
  head.writeUInt32BE(stream, 5);
  return Buffer.concat([head, payload]);
}

/** Listens on 127.0.0.1 (a port picked now); `onFrame` sees each connection's frames but its SETTINGS ACK. */
export async function rawH2Peer(onFrame: (frame: RawFrame, socket: net.Socket) => void): Promise<RawH2Peer> {
  const sockets: net.Socket[] = [];
  const server = net.createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => {});
    socket.write(h2Frame(SETTINGS, 0, 0, Buffer.alloc(0)));
    let buffered = Buffer.alloc(0);
    let prefaceSeen = false;
    socket.on('data', (data: Buffer) => {
      buffered = Buffer.concat([buffered, data]);
      if (!prefaceSeen) {
        if (buffered.length < PREFACE_LENGTH) return;
        buffered = buffered.subarray(PREFACE_LENGTH);
        prefaceSeen = true;
      }
      while (buffered.length >= 9 && buffered.length >= 9 + buffered.readUIntBE(0, 3)) {
        const length = buffered.readUIntBE(0, 3);
        const frame = { type: buffered[3], flags: buffered[4], stream: buffered.readUInt32BE(5) & 0x7fffffff, payload: buffered.subarray(9, 9 + length) };
        buffered = buffered.subarray(9 + length);
        if (frame.type === SETTINGS && (frame.flags & ACK) === 0) socket.write(h2Frame(SETTINGS, ACK, 0, Buffer.alloc(0)));
        onFrame(frame, socket);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
