import { BAIL } from './codec-scope';
import { JsonSink } from './json-sink';

const fatal = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** JsonSink.utf8String of `bytes[start, end)` as text, or 'BAIL'. */
function rendered(bytes: Uint8Array, start = 0, end = bytes.length): string {
  const sink = new JsonSink();
  sink.reset();
  sink.byte(0x5b);
  try {
    sink.utf8String(bytes, start, end);
  } catch (err) {
    if (err !== BAIL) throw err;
    return 'BAIL';
  }
  sink.byte(0x5d);
  return sink.text(0, sink.pos);
}

/** What protobuf-es gives: a fatal decode, then JSON.stringify. */
function expected(bytes: Uint8Array): string {
  try {
    return `[${JSON.stringify(fatal.decode(bytes))}]`;
  } catch {
    return 'BAIL';
  }
}

describe('JsonSink.utf8String: JSON.stringify of a fatal UTF-8 decode, or BAIL', () => {
  it.each([
    ['empty', []],
    ['plain ASCII', [0x61, 0x62, 0x63]],
    ['escapes at both ends', [0x22, 0x61, 0x5c, 0x0a, 0x62, 0x01, 0x1f, 0x7f, 0x22]],
    ['a run ending in a two-byte sequence', [0x61, 0x62, 0xc3, 0xa9]],
    ['non-ASCII first', [0xe6, 0x97, 0xa5, 0x61]],
    ['four bytes', [0xf0, 0x9f, 0x98, 0x80, 0x5c]],
    ['a truncated sequence at the end', [0x61, 0xe6, 0x97]],
    ['a lone continuation byte', [0x61, 0x80, 0x62]],
    ['an overlong form', [0xc0, 0xaf]],
    ['an encoded surrogate', [0xed, 0xa0, 0x80]],
    ['past U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
    ['0xff', [0x61, 0xff]],
  ])('%s', (_name, list) => {
    const bytes = Uint8Array.from(list);
    expect(rendered(bytes)).toBe(expected(bytes));
  });

  it('a slice of a larger buffer reads only its own bytes', () => {
    const bytes = Buffer.from('xx"a\u00e9b\u0001c"yy', 'utf8');
    expect(rendered(bytes, 2, bytes.length - 2)).toBe(expected(bytes.subarray(2, bytes.length - 2)));
  });

  it('agrees on 20,000 random byte strings', () => {
    let seed = 5;
    const rnd = (n: number): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) >> 8) % n;
    const pieces = [
      [0x61],
      [0x7a, 0x30],
      [0x22],
      [0x5c],
      [0x0a],
      [0x00],
      [0x1f],
      [0x7f],
      [0xc3, 0xa9],
      [0xe6, 0x97, 0xa5],
      [0xf0, 0x9f, 0x98, 0x80],
      [0x80],
      [0xc3],
      [0xed, 0xa0, 0x80],
      [0xff],
    ];
    for (let k = 0; k < 20_000; k++) {
      const list: number[] = [];
      const count = rnd(12);
      // Mostly valid text, now and then one invalid piece.
      for (let i = 0; i < count; i++) list.push(...pieces[rnd(k % 4 === 0 ? pieces.length : 11)]);
      const bytes = Uint8Array.from(list);
      expect([list, rendered(bytes)]).toEqual([list, expected(bytes)]);
    }
  });
});
