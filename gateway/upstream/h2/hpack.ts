/**
 * HPACK (RFC 7541) decoding for the gRPC client, and the static table the encoder
 * (hpack-encoder.ts) shares. The decoder is complete: servers (nghttp2 and grpc-go among
 * them) index response headers and Huffman-code strings.
 */
import { HUFFMAN_CODES, HUFFMAN_LENGTHS } from './hpack-huffman';

/** A header block or string that breaks RFC 7541: a COMPRESSION_ERROR for the connection. */
export class HpackError extends Error {}

/** The decoded header list size we advertise and enforce (as node:http2's default, 64 KiB). */
export const MAX_HEADER_LIST_SIZE = 64 * 1024;

export const STATIC_TABLE: ReadonlyArray<readonly [string, string]> = [
  [':authority', ''],
  [':method', 'GET'],
  [':method', 'POST'],
  [':path', '/'],
  [':path', '/index.html'],
  [':scheme', 'http'],
  [':scheme', 'https'],
  [':status', '200'],
  [':status', '204'],
  [':status', '206'],
  [':status', '304'],
  [':status', '400'],
  [':status', '404'],
  [':status', '500'],
  ['accept-charset', ''],
  ['accept-encoding', 'gzip, deflate'],
  ['accept-language', ''],
  ['accept-ranges', ''],
  ['accept', ''],
  ['access-control-allow-origin', ''],
  ['age', ''],
  ['allow', ''],
  ['authorization', ''],
  ['cache-control', ''],
  ['content-disposition', ''],
  ['content-encoding', ''],
  ['content-language', ''],
  ['content-length', ''],
  ['content-location', ''],
  ['content-range', ''],
  ['content-type', ''],
  ['cookie', ''],
  ['date', ''],
  ['etag', ''],
  ['expect', ''],
  ['expires', ''],
  ['from', ''],
  ['host', ''],
  ['if-match', ''],
  ['if-modified-since', ''],
  ['if-none-match', ''],
  ['if-range', ''],
  ['if-unmodified-since', ''],
  ['last-modified', ''],
  ['link', ''],
  ['location', ''],
  ['max-forwards', ''],
  ['proxy-authenticate', ''],
  ['proxy-authorization', ''],
  ['range', ''],
  ['referer', ''],
  ['refresh', ''],
  ['retry-after', ''],
  ['server', ''],
  ['set-cookie', ''],
  ['strict-transport-security', ''],
  ['transfer-encoding', ''],
  ['user-agent', ''],
  ['vary', ''],
  ['via', ''],
  ['www-authenticate', ''],
];

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
export const ENTRY_OVERHEAD = 32;

/** One connection's decoding context: its dynamic table lives as long as the connection. */
export class HpackDecoder {
  /** Newest first. */
  private readonly entries: Array<[string, string]> = [];
  private size = 0;
  private maxSize: number;
  private pos = 0;
  private src: Buffer = Buffer.alloc(0);

  /**
   * `limit` is the SETTINGS_HEADER_TABLE_SIZE we advertised (4096 by default); `maxListSize`
   * the SETTINGS_MAX_HEADER_LIST_SIZE (RFC 9113 §6.5.2: names + values + 32 per field): a
   * small block of indexed references could otherwise decode to millions of fields.
   */
  constructor(
    private readonly limit = 4096,
    private readonly maxListSize = MAX_HEADER_LIST_SIZE,
  ) {
    this.maxSize = limit;
  }

  /** Decodes a whole header block into node's raw form: [name, value, name, value...]. */
  decode(block: Buffer): string[] {
    this.src = block;
    this.pos = 0;
    const out: string[] = [];
    const end = block.length;
    let fieldsSeen = false;
    let listSize = 0;
    while (this.pos < end) {
      if (out.length > 0) {
        listSize += out[out.length - 2].length + out[out.length - 1].length + 32;
        if (listSize > this.maxListSize) throw new HpackError(`header list larger than ${this.maxListSize} bytes`);
      }
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
    if (out.length > 0 && listSize + out[out.length - 2].length + out[out.length - 1].length + 32 > this.maxListSize) {
      throw new HpackError(`header list larger than ${this.maxListSize} bytes`);
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
