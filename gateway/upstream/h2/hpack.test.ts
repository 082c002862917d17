import { HpackDecoder, HpackError } from './hpack';
import { HeaderBlockWriter, HpackEncoder, IndexedField } from './hpack-encoder';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** A literal field with incremental indexing and a new name, strings raw (RFC 7541 6.2.1). */
function indexed(name: string, value: string): Buffer {
  const str = (s: string) => Buffer.concat([Buffer.from([s.length]), Buffer.from(s, 'latin1')]);
  return Buffer.concat([Buffer.from([0x40]), str(name), str(value)]);
}

describe('HPACK decoder: RFC 7541 Appendix C', () => {
  it('C.3: requests without Huffman, sharing one dynamic table', () => {
    const d = new HpackDecoder();
    expect(d.decode(hex('828684410f7777772e6578616d706c652e636f6d'))).toEqual([
      ':method',
      'GET',
      ':scheme',
      'http',
      ':path',
      '/',
      ':authority',
      'www.example.com',
    ]);
    expect(d.decode(hex('828684be58086e6f2d6361636865'))).toEqual([
      ':method',
      'GET',
      ':scheme',
      'http',
      ':path',
      '/',
      ':authority',
      'www.example.com',
      'cache-control',
      'no-cache',
    ]);
    expect(d.decode(hex('828785bf400a637573746f6d2d6b65790c637573746f6d2d76616c7565'))).toEqual([
      ':method',
      'GET',
      ':scheme',
      'https',
      ':path',
      '/index.html',
      ':authority',
      'www.example.com',
      'custom-key',
      'custom-value',
    ]);
  });

  it('C.4: the same requests with Huffman-coded strings', () => {
    const d = new HpackDecoder();
    expect(d.decode(hex('828684418cf1e3c2e5f23a6ba0ab90f4ff'))).toEqual([':method', 'GET', ':scheme', 'http', ':path', '/', ':authority', 'www.example.com']);
    expect(d.decode(hex('828684be5886a8eb10649cbf'))).toEqual([
      ':method',
      'GET',
      ':scheme',
      'http',
      ':path',
      '/',
      ':authority',
      'www.example.com',
      'cache-control',
      'no-cache',
    ]);
    expect(d.decode(hex('828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf'))).toEqual([
      ':method',
      'GET',
      ':scheme',
      'https',
      ':path',
      '/index.html',
      ':authority',
      'www.example.com',
      'custom-key',
      'custom-value',
    ]);
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
    const fields = [':method', 'POST', ':scheme', 'http', ':path', '/pkg.S/M', 'content-type', 'application/grpc', 'te', 'trailers', 'x-long', 'y'.repeat(300)];
    for (let i = 0; i < fields.length; i += 2) w.add(fields[i], fields[i + 1]);
    const block = w.bytes();
    expect(block[0]).toBe(0x83); // :method POST, fully indexed
    expect(block[1]).toBe(0x86); // :scheme http
    expect(new HpackDecoder().decode(block)).toEqual(fields);
  });
});

describe('HPACK encoder: dynamic table', () => {
  /** Encodes `fields` (plus literals) as one block with `encoder`. */
  function block(encoder: HpackEncoder, fields: IndexedField[], metadata: Array<[string, string]> = []): Buffer {
    const w = new HeaderBlockWriter(16);
    encoder.begin(w);
    for (const f of fields) encoder.field(w, f);
    for (const [name, value] of metadata) encoder.metadata(w, name, value);
    return Buffer.from(w.bytes());
  }
  const flat = (fields: IndexedField[]) => fields.flatMap((f) => [f.name, f.value]);
  const methodFields = (path: string) => [
    new IndexedField(':method', 'POST'),
    new IndexedField(':scheme', 'http'),
    new IndexedField(':path', path),
    new IndexedField(':authority', 'backend:50051'),
    new IndexedField('content-type', 'application/grpc'),
    new IndexedField('te', 'trailers'),
    new IndexedField('user-agent', 'acme-gateway/1'),
  ];

  it("sends a method's fields once as literals with indexing, then as one byte each", () => {
    const encoder = new HpackEncoder();
    const decoder = new HpackDecoder();
    const fields = methodFields('/pkg.Service/Method');
    const first = block(encoder, fields, [['grpc-timeout', '99m']]);
    expect(first[2] & 0xc0).toBe(0x40); // :path: literal with incremental indexing
    expect(decoder.decode(first)).toEqual([...flat(fields), 'grpc-timeout', '99m']);
    const second = block(encoder, fields, [['grpc-timeout', '98m']]);
    // 7 fields in 7 bytes (2 static, 5 dynamic; the first call's timeout is the newest entry),
    // then the timeout: a literal whose name refers to that entry (62).
    expect([...second.subarray(0, 10)]).toEqual([0x83, 0x86, 0xc3, 0xc2, 0xc1, 0xc0, 0xbf, 0x0f, 0x2f, 3]);
    expect(decoder.decode(second)).toEqual([...flat(fields), 'grpc-timeout', '98m']);
    expect(decoder.decode(block(encoder, fields))).toEqual(flat(fields));
  });

  it('stays in step with a decoder across evictions, size updates and shared fields (random)', () => {
    let seed = 11;
    const rnd = (n: number): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n;
    const pool = Array.from({ length: 40 }, (_, i) => methodFields(`/pkg.S${i}/M${'x'.repeat(rnd(200))}`));
    pool.push([new IndexedField('x-big', 'v'.repeat(5000))]); // never fits: a literal without indexing
    for (let run = 0; run < 10; run++) {
      const encoder = new HpackEncoder();
      const decoder = new HpackDecoder();
      for (let i = 0; i < 200; i++) {
        if (rnd(25) === 0) encoder.setPeerLimit([0, 64, 300, 1000, 4096, 65536][rnd(6)]);
        const fields = pool[rnd(pool.length)];
        const metadata: Array<[string, string]> = [
          ['x-request-id', String(i)],
          ['grpc-timeout', `${29_995 + rnd(6)}m`],
          ['traceparent', `00-${'a'.repeat(rnd(60))}-01`],
          ['x-forwarded-for', `10.0.0.${rnd(30)}`],
          ['authorization', `Bearer t${rnd(3)}`],
        ];
        expect(decoder.decode(block(encoder, fields, metadata))).toEqual([...flat(fields), ...metadata.flat()]);
      }
    }
  });

  it('indexes repeating metadata, never per-call values or credentials', () => {
    const encoder = new HpackEncoder();
    const decoder = new HpackDecoder();
    const fields = methodFields('/a.B/C');
    const metadata = (n: number): Array<[string, string]> => [
      ['x-forwarded-host', 'api.example.com'],
      ['x-request-id', `req-${n}`],
      ['authorization', 'Bearer abc'],
    ];
    expect(decoder.decode(block(encoder, fields, metadata(1)))).toEqual([...flat(fields), ...metadata(1).flat()]);
    const second = block(encoder, fields, metadata(2));
    expect(decoder.decode(second)).toEqual([...flat(fields), ...metadata(2).flat()]);
    expect(second[7]).toBe(0xbf); // x-forwarded-host: the dynamic entry before the request id
    // x-request-id: a literal without indexing, its name a reference to the first call's entry (62: 15 + 47).
    expect([...second.subarray(8, 11)]).toEqual([0x0f, 0x2f, 'req-2'.length]);
    expect(second[11 + 'req-2'.length]).toBe(0x1f); // authorization: never indexed (static name 23)
    const third = block(encoder, fields, metadata(3));
    expect(third.length).toBe(second.length); // nothing inserted since
  });

  it('sends a per-call value as a literal with an indexed name, and indexes a value that repeats', () => {
    const encoder = new HpackEncoder();
    const decoder = new HpackDecoder();
    const fields = methodFields('/a.B/C');
    const timeouts = ['30000m', '29999m', '29999m', '29999m', '30000m', '29998m'];
    decoder.decode(block(encoder, fields)); // the method's fields in the table: 7 bytes from now on
    const sizes = timeouts.map((timeout) => {
      const b = block(encoder, fields, [['grpc-timeout', timeout]]);
      expect(decoder.decode(b)).toEqual([...flat(fields), 'grpc-timeout', timeout]);
      return b.length - 7;
    });
    // Inserted (name and value); a name reference (index 62: two bytes); repeated, so inserted;
    // then indexed (one byte); 30000m still in the table; 29998m a name reference again.
    expect(sizes).toEqual([1 + 13 + 7, 2 + 7, 1 + 13 + 7, 1, 1, 2 + 7]);
  });

  it('signals a smaller table before the next block, the smallest size first', () => {
    const encoder = new HpackEncoder();
    const fields = methodFields('/a.B/C');
    block(encoder, fields);
    encoder.setPeerLimit(0);
    encoder.setPeerLimit(100);
    const b = block(encoder, fields);
    expect([b[0], b[1]]).toEqual([0x20, 0x3f]); // size 0, then 100 (31 + 69)
    const decoder = new HpackDecoder();
    expect(decoder.decode(b)).toEqual(flat(fields));
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

describe('HpackDecoder header list limit (SETTINGS_MAX_HEADER_LIST_SIZE)', () => {
  it('refuses a small block of indexed references that would decode past the limit', () => {
    // 0x82 is the static entry ":method: GET" (7 + 3 + 32 = 42 bytes per field): 1 MiB would be 1 M fields.
    expect(() => new HpackDecoder().decode(Buffer.alloc(2000, 0x82))).toThrow(HpackError);
    expect(new HpackDecoder().decode(Buffer.alloc(1500, 0x82))).toHaveLength(3000);
  });
});
