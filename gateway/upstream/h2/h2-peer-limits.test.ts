/**
 * What a hostile upstream gets from our HTTP/2 client (issue 12, item 11): a hand-written peer
 * on a real socket answers a call with one header block of 1 MiB of indexed references (a
 * million fields if decoded). The client advertised SETTINGS_MAX_HEADER_LIST_SIZE, stops
 * decoding at it, ends the connection with GOAWAY COMPRESSION_ERROR and fails the call UNAVAILABLE.
 */
import { rejectedStatus } from '../../test-support/rejected-status';
import { h2Frame as frame, rawH2Peer } from '../../test-support/raw-h2-peer';
import { MAX_HEADER_LIST_SIZE } from './hpack';
import { createH2Transport } from './h2-transport';

const [HEADERS, SETTINGS, GOAWAY, CONTINUATION] = [0x1, 0x4, 0x7, 0x9];
const END_HEADERS = 0x4;

it('a 1 MiB header block from the upstream: GOAWAY COMPRESSION_ERROR, the call fails UNAVAILABLE, the client advertised its limit', async () => {
  const seen: { settings: Map<number, number>; goawayCode?: number } = { settings: new Map() };
  const peer = await rawH2Peer(({ type, flags, stream, payload }, socket) => {
    if (type === SETTINGS && (flags & 0x1) === 0) {
      for (let i = 0; i + 6 <= payload.length; i += 6) seen.settings.set(payload.readUInt16BE(i), payload.readUInt32BE(i + 2));
    } else if (type === GOAWAY) {
      seen.goawayCode = payload.readUInt32BE(4);
    } else if (type === HEADERS && (flags & END_HEADERS) !== 0) {
      // 0x82 is the static entry ":method: GET": 64 frames of 16 KiB of it, one header block.
      const piece = Buffer.alloc(16 * 1024, 0x82);
      socket.write(frame(HEADERS, 0, stream, piece));
      for (let i = 1; i < 64; i++) socket.write(frame(CONTINUATION, i === 63 ? END_HEADERS : 0, stream, piece));
    }
  });
  const t = createH2Transport(`127.0.0.1:${peer.port}`);
  try {
    const status = await rejectedStatus(t.unary('/pkg.S/M', Buffer.alloc(0), { metadata: [], deadline: Date.now() + 5000 }));
    expect(status.code).toBe(14);
    expect(seen.settings.get(0x6)).toBe(MAX_HEADER_LIST_SIZE);
    for (let i = 0; i < 50 && seen.goawayCode === undefined; i++) await new Promise((r) => setTimeout(r, 20));
    expect(seen.goawayCode).toBe(0x9);
  } finally {
    await t.close();
    await peer.close();
  }
});
