import { encodeFrame, FrameDecoder } from './h2-framing';

/** Feeds `wire` to a decoder in chunks of the given sizes (the rest in one last chunk). */
function decode(wire: Buffer, sizes: number[], max = 1 << 20): { messages: string[]; ok: boolean; partial: boolean } {
  const decoder = new FrameDecoder(max);
  const messages: string[] = [];
  const receiver = { onFrame: (m: Buffer) => messages.push(m.toString()) };
  let pos = 0;
  let ok = true;
  for (const size of [...sizes, wire.length]) {
    if (pos >= wire.length || !ok) break;
    ok = decoder.write(wire.subarray(pos, pos + size), receiver);
    pos += size;
  }
  return { messages, ok, partial: decoder.partial };
}

const wire = Buffer.concat(['hello', '', 'a longer message'].map((m) => encodeFrame(Buffer.from(m))));

describe('FrameDecoder', () => {
  it.each([
    ['one chunk', []],
    ['one byte at a time', Array(wire.length).fill(1)],
    ['split inside a prefix', [3, 4, 2]],
    ['split inside a body', [7, 1, 20]],
  ])('decodes frames fed as %s', (_case, sizes) => {
    expect(decode(wire, sizes)).toEqual({ messages: ['hello', '', 'a longer message'], ok: true, partial: false });
  });

  it('reports a frame over the limit, with its announced size', () => {
    const decoder = new FrameDecoder(4);
    expect(decoder.write(encodeFrame(Buffer.from('12345')), { onFrame: () => undefined })).toBe(false);
    expect(decoder.oversize).toBe(5);
  });

  it('says when the input stopped mid-frame', () => {
    expect(decode(wire.subarray(0, 8), []).partial).toBe(true);
  });

  it('passes the compressed flag through', () => {
    const frame = encodeFrame(Buffer.from('z'));
    frame[0] = 1;
    const flags: boolean[] = [];
    new FrameDecoder(10).write(frame, { onFrame: (_m, compressed) => flags.push(compressed) });
    expect(flags).toEqual([true]);
  });
});
