/**
 * HPACK (RFC 7541) for the gRPC client. The encoder never touches the dynamic table:
 * request headers go out as literals without indexing, names indexed from the static table
 * when they are in it, strings raw (no Huffman), so a header block is cheap to build and a
 * method's fixed part can be built once. The decoder is complete: servers (nghttp2 among
 * them) index response headers and Huffman-code strings.
 */
import { HUFFMAN_CODES, HUFFMAN_LENGTHS } from './hpack-huffman';

/** A header block or string that breaks RFC 7541: a COMPRESSION_ERROR for the connection. */
export class HpackError extends Error {}

const STATIC_TABLE: ReadonlyArray<readonly [string, string]> = [
  [':authority', ''], [':method', 'GET'], [':method', 'POST'], [':path', '/'], [':path', '/index.html'],
  [':scheme', 'http'], [':scheme', 'https'], [':status', '200'], [':status', '204'], [':status', '206'],
  [':status', '304'], [':status', '400'], [':status', '404'], [':status', '500'], ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'], ['accept-language', ''], ['accept-ranges', ''], ['accept', ''],
  ['access-control-allow-origin', ''], ['age', ''], ['allow', ''], ['authorization', ''], ['cache-control', ''],
  ['content-disposition', ''], ['content-encoding', ''], ['content-language', ''], ['content-length', ''],
  ['content-location', ''], ['content-range', ''], ['content-type', ''], ['cookie', ''], ['date', ''], ['etag', ''],
  ['expect', ''], ['expires', ''], ['from', ''], ['host', ''], ['if-match', ''], ['if-modified-since', ''],
  ['if-none-match', ''], ['if-range', ''], ['if-unmodified-since', ''], ['last-modified', ''], ['link', ''],
  ['location', ''], ['max-forwards', ''], ['proxy-authenticate', ''], ['proxy-authorization', ''], ['range', ''],
  ['referer', ''], ['refresh', ''], ['retry-after', ''], ['server', ''], ['set-cookie', ''],
  ['strict-transport-security', ''], ['transfer-encoding', ''], ['user-agent', ''], ['vary', ''], ['via', ''],
  ['www-authenticate', ''],
];

/** Static-table index of each name (its first entry), and of each exact name+value pair. */
const STATIC_NAME = new Map<string, number>();
const STATIC_PAIR = new Map<string, number>();
STATIC_TABLE.forEach(([name, value], i) => {
  if (!STATIC_NAME.has(name)) STATIC_NAME.set(name, i + 1);
  STATIC_PAIR.set(`${name}\0${value}`, i + 1);
});

/** Appends header fields to a growing byte array; `bytes()` gives the block. */
export class HeaderBlockWriter {
  private buf: Buffer;
  private length = 0;

  constructor(capacity = 256) {
    this.buf = Buffer.allocUnsafe(capacity);
  }

  /** Adds one field; `value` is sent as its latin1 bytes (callers pass ASCII). */
  add(name: string, value: string): void {
    const pair = STATIC_PAIR.get(`${name}\0${value}`);
    if (pair !== undefined) return this.integer(pair, 7, 0x80);
    const index = STATIC_NAME.get(name);
    if (index !== undefined) {
      this.integer(index, 4, 0x00);
    } else {
      this.integer(0, 4, 0x00);
      this.string(name);
    }
    this.string(value);
  }

  /** Appends an already encoded block (a method's fixed headers). */
  append(block: Uint8Array): void {
    this.reserve(block.length);
    this.buf.set(block, this.length);
    this.length += block.length;
  }

  bytes(): Buffer {
    return this.buf.subarray(0, this.length);
  }

  private string(text: string): void {
    const size = Buffer.byteLength(text, 'latin1');
    this.integer(size, 7, 0x00);
    this.reserve(size);
    this.length += this.buf.write(text, this.length, 'latin1');
  }

  /** RFC 7541 5.1: an integer with an N-bit prefix, the first byte's high bits set to `flags`. */
  private integer(value: number, prefixBits: number, flags: number): void {
    this.reserve(6);
    const max = (1 << prefixBits) - 1;
    if (value < max) {
      this.buf[this.length++] = flags | value;
      return;
    }
    this.buf[this.length++] = flags | max;
    value -= max;
    while (value >= 128) {
      this.buf[this.length++] = (value & 0x7f) | 0x80;
      value = Math.floor(value / 128);
    }
    this.buf[this.length++] = value;
  }

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(grown, 0, 0, this.length);
    this.buf = grown;
  }
}

/** Huffman decoding tree, flattened: node i's children at 2i, 2i+1; leaves hold -(symbol+1). */
const EOS = 256;
const HUFFMAN_TREE = buildHuffmanTree();

function buildHuffmanTree(): Int32Array {
  const tree = new Int32Array(2 * 600);
  let nodes = 1;
  for (let symbol = 0; symbol <= EOS; symbol++) {
    const code = HUFFMAN_CODES[symbol];
    const length = HUFFMAN_LENGTHS[symbol];
    let node = 0;
    for (let bit = length - 1; bit >= 0; bit--) {
      const slot = 2 * node + ((code >>> bit) & 1);
      if (bit === 0) {
        tree[slot] = -(symbol + 1);
      } else {
        if (tree[slot] === 0) tree[slot] = nodes++;
        node = tree[slot];
      }
    }
  }
  return tree;
}

function huffmanDecode(src: Buffer, start: number, end: number): string {
  let out = '';
  let node = 0;
  let depth = 0;
  let ones = true;
  for (let i = start; i < end; i++) {
    const byte = src[i];
    for (let bit = 7; bit >= 0; bit--) {
      const b = (byte >>> bit) & 1;
      const next = HUFFMAN_TREE[2 * node + b];
      depth++;
      ones = ones && b === 1;
      if (next < 0) {
        const symbol = -next - 1;
        if (symbol === EOS) throw new HpackError('Huffman string contains EOS');
        out += String.fromCharCode(symbol);
        node = 0;
        depth = 0;
        ones = true;
      } else if (next === 0) {
        throw new HpackError('invalid Huffman code');
      } else {
        node = next;
      }
    }
  }
  // Padding: at most 7 bits, all ones (a prefix of EOS).
  if (depth > 7 || !ones) throw new HpackError('invalid Huffman padding');
  return out;
}

/** Entry overhead counted by the dynamic table's size (RFC 7541 4.1). */
const ENTRY_OVERHEAD = 32;

/** One connection's decoding context: its dynamic table lives as long as the connection. */
export class HpackDecoder {
  /** Newest first. */
  private readonly entries: Array<[string, string]> = [];
  private size = 0;
  private maxSize: number;
  private pos = 0;
  private src: Buffer = Buffer.alloc(0);

  /** `limit` is the SETTINGS_HEADER_TABLE_SIZE we advertised (4096 by default). */
  constructor(private readonly limit = 4096) {
    this.maxSize = limit;
  }

  /** Decodes a whole header block into node's raw form: [name, value, name, value...]. */
  decode(block: Buffer): string[] {
    this.src = block;
    this.pos = 0;
    const out: string[] = [];
    const end = block.length;
    let fieldsSeen = false;
    while (this.pos < end) {
      const byte = block[this.pos];
      if (byte & 0x80) {
        const [name, value] = this.entry(this.integer(7));
        out.push(name, value);
        fieldsSeen = true;
      } else if (byte & 0x40) {
        const index = this.integer(6);
        const name = index === 0 ? this.string() : this.entry(index)[0];
        const value = this.string();
        this.insert(name, value);
        out.push(name, value);
        fieldsSeen = true;
      } else if (byte & 0x20) {
        // A size update is only allowed at the start of a block.
        if (fieldsSeen) throw new HpackError('dynamic table size update after a header field');
        const size = this.integer(5);
        if (size > this.limit) throw new HpackError(`dynamic table size ${size} above ${this.limit}`);
        this.maxSize = size;
        this.evict(0);
      } else {
        // Literal without indexing (0000) or never indexed (0001): same layout.
        const index = this.integer(4);
        const name = index === 0 ? this.string() : this.entry(index)[0];
        out.push(name, this.string());
        fieldsSeen = true;
      }
    }
    this.src = EMPTY;
    return out;
  }

  private entry(index: number): readonly [string, string] {
    if (index === 0) throw new HpackError('index 0');
    if (index <= STATIC_TABLE.length) return STATIC_TABLE[index - 1];
    const entry = this.entries[index - STATIC_TABLE.length - 1];
    if (entry === undefined) throw new HpackError(`index ${index} beyond the tables`);
    return entry;
  }

  private insert(name: string, value: string): void {
    const size = name.length + value.length + ENTRY_OVERHEAD;
    this.evict(size);
    // An entry larger than the table empties it and is not added (RFC 7541 4.4).
    if (size > this.maxSize) return;
    this.entries.unshift([name, value]);
    this.size += size;
  }

  private evict(room: number): void {
    while (this.entries.length > 0 && this.size + room > this.maxSize) {
      const [name, value] = this.entries.pop()!;
      this.size -= name.length + value.length + ENTRY_OVERHEAD;
    }
  }

  private integer(prefixBits: number): number {
    const src = this.src;
    if (this.pos >= src.length) throw new HpackError('truncated integer');
    const max = (1 << prefixBits) - 1;
    let value = src[this.pos++] & max;
    if (value < max) return value;
    let shift = 0;
    for (;;) {
      if (this.pos >= src.length) throw new HpackError('truncated integer');
      const byte = src[this.pos++];
      value += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) break;
      shift += 7;
      if (shift > 28) throw new HpackError('integer too large');
    }
    return value;
  }

  private string(): string {
    const src = this.src;
    if (this.pos >= src.length) throw new HpackError('truncated string');
    const huffman = (src[this.pos] & 0x80) !== 0;
    const length = this.integer(7);
    const start = this.pos;
    const end = start + length;
    if (end > src.length) throw new HpackError('truncated string');
    this.pos = end;
    return huffman ? huffmanDecode(src, start, end) : src.toString('latin1', start, end);
  }
}

const EMPTY = Buffer.alloc(0);
