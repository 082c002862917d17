import { HeaderBlockWriter, HpackDecoder, HpackError } from './hpack';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** A literal field with incremental indexing and a new name, strings raw (RFC 7541 6.2.1). */
function indexed(name: string, value: string): Buffer {
  const str = (s: string) => Buffer.concat([Buffer.from([s.length]), Buffer.from(s, 'latin1')]);
  return Buffer.concat([Buffer.from([0x40]), str(name), str(value)]);
}

describe('HPACK decoder: RFC 7541 Appendix C', () => {
  it('C.3: requests without Huffman, sharing one dynamic table', () => {
    const d = new HpackDecoder();
    expect(d.decode(hex('828684410f7777772e6578616d706c652e636f6d'))).toEqual(
      [':method', 'GET', ':scheme', 'http', ':path', '/', ':authority', 'www.example.com']);
    expect(d.decode(hex('828684be58086e6f2d6361636865'))).toEqual(
      [':method', 'GET', ':scheme', 'http', ':path', '/', ':authority', 'www.example.com', 'cache-control', 'no-cache']);
    expect(d.decode(hex('828785bf400a637573746f6d2d6b65790c637573746f6d2d76616c7565'))).toEqual(
      [':method', 'GET', ':scheme', 'https', ':path', '/index.html', ':authority', 'www.example.com', 'custom-key', 'custom-value']);
  });

  it('C.4: the same requests with Huffman-coded strings', () => {
    const d = new HpackDecoder();
    expect(d.decode(hex('828684418cf1e3c2e5f23a6ba0ab90f4ff'))).toEqual(
      [':method', 'GET', ':scheme', 'http', ':path', '/', ':authority', 'www.example.com']);
    expect(d.decode(hex('828684be5886a8eb10649cbf'))).toEqual(
      [':method', 'GET', ':scheme', 'http', ':path', '/', ':authority', 'www.example.com', 'cache-control', 'no-cache']);
    expect(d.decode(hex('828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf'))).toEqual(
      [':method', 'GET', ':scheme', 'https', ':path', '/index.html', ':authority', 'www.example.com', 'custom-key', 'custom-value']);
  });
});

describe('HPACK decoder: dynamic table', () => {
  it('evicts the oldest entries when the table is full, and indexes newest first', () => {
    const d = new HpackDecoder(400);
    const value = 'v'.repeat(120); // 1 + 120 + 32 = 153 bytes each: two fit in 400
    for (const name of ['a', 'b', 'c']) d.decode(indexed(name, value));
    // Index 62 is the newest (c), 63 the oldest still there (b); a was evicted.
    expect(d.decode(Buffer.from([0x80 | 62, 0x80 | 63]))).toEqual(['c', value, 'b', value]);
    expect(() => d.decode(Buffer.from([0x80 | 64]))).toThrow(HpackError);
  });

  it('applies a size update at the start of a block, and refuses one above the advertised limit', () => {
    const d = new HpackDecoder(4096);
    d.decode(indexed('x-a', '1'));
    expect(d.decode(Buffer.from([0x20]))).toEqual([]); // size 0: everything evicted
    expect(() => d.decode(Buffer.from([0x80 | 62]))).toThrow(HpackError);
    expect(() => d.decode(Buffer.from([0x3f, 0xe2, 0x1f]))).toThrow(/above/); // 4097
    expect(() => d.decode(Buffer.from([0x82, 0x20]))).toThrow(/after a header field/);
  });

  it.each([
    ['a truncated integer', '7f'],
    ['a truncated string', '0003616263'.slice(0, 6)],
    ['index 0', '80'],
    ['Huffman padding longer than 7 bits', '0081ff'],
    ['Huffman padding that is not all ones', '000161' + '8100'],
  ])('rejects %s', (_what, block) => {
    expect(() => new HpackDecoder().decode(hex(block))).toThrow(HpackError);
  });
});

describe('HPACK encoder', () => {
  it('writes static matches as indexes and everything else as raw literals a decoder reads back', () => {
    const w = new HeaderBlockWriter(4); // grows
    const fields = [':method', 'POST', ':scheme', 'http', ':path', '/pkg.S/M', 'content-type', 'application/grpc',
      'te', 'trailers', 'x-long', 'y'.repeat(300)];
    for (let i = 0; i < fields.length; i += 2) w.add(fields[i], fields[i + 1]);
    const block = w.bytes();
    expect(block[0]).toBe(0x83); // :method POST, fully indexed
    expect(block[1]).toBe(0x86); // :scheme http
    expect(new HpackDecoder().decode(block)).toEqual(fields);
  });
});

describe('HPACK decoder: hostile input', () => {
  it('answers random bytes with a result or an HpackError, never another exception', () => {
    let seed = 12345;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
    for (let n = 0; n < 5000; n++) {
      const block = Buffer.alloc(1 + (rnd() % 64));
      for (let i = 0; i < block.length; i++) block[i] = rnd() & 0xff;
      const decoder = new HpackDecoder();
      try {
        decoder.decode(block);
      } catch (err) {
        expect(err).toBeInstanceOf(HpackError);
      }
    }
  });
});
