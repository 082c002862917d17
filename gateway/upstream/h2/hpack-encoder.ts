/**
 * HPACK encoding (RFC 7541) for the gRPC client. A method's fixed request headers (:path,
 * :authority, content-type, te, user-agent) are sent once per connection as literals with
 * incremental indexing and from then on as one- or two-byte references into the dynamic
 * table, as grpc-go's client does: the server then decodes them from its table instead of
 * parsing and allocating the same strings on every call (the issue measured 35-60% more
 * backend CPU per call behind literals without indexing). Metadata is indexed the same way
 * (x-forwarded-*, accept-language and the like repeat), except values that differ on every
 * call (request ids, trace context, grpc-timeout), which would only churn the table: those
 * go out as literals whose name is a reference to a table entry of the same name (one byte
 * instead of the name's 13), and a value sent by two calls in a row (the timeout of a fixed
 * deadline: "30000m") is indexed like a fixed field. Credentials go out never indexed.
 * Strings are raw (no Huffman): cheaper to write, and once indexed a field costs nothing to
 * send anyway.
 */
import { ENTRY_OVERHEAD, STATIC_TABLE } from './hpack';

/** Static-table index of each name (its first entry), and of each exact name+value pair. */
const STATIC_NAME = new Map<string, number>();
const STATIC_PAIR = new Map<string, number>();
STATIC_TABLE.forEach(([name, value], i) => {
  if (!STATIC_NAME.has(name)) STATIC_NAME.set(name, i + 1);
  STATIC_PAIR.set(`${name}\0${value}`, i + 1);
});

/** The dynamic table we use at most, whatever larger size the server allows (its default). */
export const ENCODER_TABLE_SIZE = 4096;

/** Appends header fields to a growing byte array; `bytes()` gives the block. */
export class HeaderBlockWriter {
  private buf: Buffer;
  private length = 0;

  constructor(capacity = 256) {
    this.buf = Buffer.allocUnsafe(capacity);
  }

  /** Adds one field as a literal without indexing; `value` is sent as its latin1 bytes (callers pass ASCII). */
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

  /** The block so far; a view of the writer's buffer until reset() or more writes. */
  bytes(): Buffer {
    return this.buf.subarray(0, this.length);
  }

  /** Starts a new block in the same buffer (a connection reuses one writer for every request). */
  reset(): void {
    this.length = 0;
  }

  string(text: string): void {
    const size = text.length;
    this.integer(size, 7, 0x00);
    this.reserve(size);
    this.length += this.buf.write(text, this.length, size, 'latin1');
  }

  /** RFC 7541 5.1: an integer with an N-bit prefix, the first byte's high bits set to `flags`. */
  integer(value: number, prefixBits: number, flags: number): void {
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

/**
 * A header field worth keeping in a connection's dynamic table, built once (per method path)
 * and shared by every connection.
 */
export class IndexedField {
  /** Its size in a table (RFC 7541 4.1). */
  readonly size: number;
  /** Static index of the exact pair (sent as such, never inserted), or 0. */
  readonly staticPair: number;
  /** Static index of the name, or 0 (the name then goes out as a string). */
  readonly staticName: number;

  constructor(
    readonly name: string,
    readonly value: string,
  ) {
    this.size = name.length + value.length + ENTRY_OVERHEAD;
    this.staticPair = STATIC_PAIR.get(`${name}\0${value}`) ?? 0;
    this.staticName = STATIC_NAME.get(name) ?? 0;
  }
}

/**
 * Metadata names whose values differ on every call: indexing each value would only push the
 * method's fields out of the table (see HpackEncoder.perCall). grpc-timeout is one too.
 */
const PER_CALL_NAMES = new Set(['x-request-id', 'traceparent', 'tracestate', 'grpc-trace-bin', 'grpc-timeout']);
/** Credentials: literals never indexed (RFC 7541 7.1.3), so no intermediary indexes them either. */
const NEVER_INDEXED_NAMES = new Set(['authorization', 'proxy-authorization', 'cookie']);

/**
 * One connection's encoding context. Its dynamic table mirrors the server's decoder: an
 * entry is inserted exactly when a block carrying it is written, and blocks are written in
 * the order they are encoded (the session encodes each right before framing it).
 */
export class HpackEncoder {
  /**
   * Insertion number of each entry in the table, by name then value: looked up with the
   * strings the caller has, never a concatenated key (a name\0value string built per field
   * cost ~1 us a call in allocation, flattening and hashing: 1.3-2% of the gateway's CPU).
   */
  private readonly seq = new Map<string, Map<string, number>>();
  /** The table's entries, oldest first. */
  private readonly fifoNames: string[] = [];
  private readonly fifoValues: string[] = [];
  private readonly fifoSizes: number[] = [];
  private inserted = 0;
  /** Per-call names: the insertion number of an entry with that name (for name references), and the last value sent. */
  private readonly named = new Map<string, number>();
  private readonly lastValue = new Map<string, string>();
  private size = 0;
  private maxSize = ENCODER_TABLE_SIZE;
  /** Size updates owed at the start of the next block (RFC 7541 4.2): the smallest, then the final. */
  private updateMin = -1;

  /** The server's SETTINGS_HEADER_TABLE_SIZE: we use up to min(it, 4096). */
  setPeerLimit(limit: number): void {
    const size = Math.min(limit, ENCODER_TABLE_SIZE);
    if (size === this.maxSize) return;
    this.maxSize = size;
    this.updateMin = this.updateMin < 0 ? size : Math.min(this.updateMin, size);
    this.evict(0);
  }

  /** Begins a block: any owed table size update goes first. */
  begin(out: HeaderBlockWriter): void {
    if (this.updateMin < 0) return;
    if (this.updateMin < this.maxSize) out.integer(this.updateMin, 5, 0x20);
    out.integer(this.maxSize, 5, 0x20);
    this.updateMin = -1;
  }

  /** Writes a method's fixed field: an index when the table has it, else a literal that inserts it. */
  field(out: HeaderBlockWriter, field: IndexedField): void {
    if (field.staticPair !== 0) return out.integer(field.staticPair, 7, 0x80);
    this.write(out, field.name, field.value, field.size, field.staticName);
  }

  /** Writes a metadata field (ASCII): indexed like the fixed ones unless its value is per call or a credential. */
  metadata(out: HeaderBlockWriter, name: string, value: string): void {
    if (PER_CALL_NAMES.has(name)) return this.perCall(out, name, value);
    const staticName = STATIC_NAME.get(name) ?? 0;
    if (NEVER_INDEXED_NAMES.has(name)) {
      out.integer(staticName, 4, 0x10);
      if (staticName === 0) out.string(name);
      return out.string(value);
    }
    this.write(out, name, value, name.length + value.length + ENTRY_OVERHEAD, staticName);
  }

  /**
   * Writes a field whose value usually differs on every call (x-request-id, grpc-timeout):
   * indexed when the table has the pair; inserted when the table has no entry of that name
   * yet, or when the last call sent the same value (it repeats: a fixed deadline's timeout);
   * otherwise a literal without indexing that refers to the name in the table, so the server
   * neither parses nor allocates the name again (RFC 7541 6.2.2).
   */
  perCall(out: HeaderBlockWriter, name: string, value: string): void {
    const at = this.seq.get(name)?.get(value);
    if (at !== undefined) return out.integer(STATIC_TABLE.length + this.inserted - at, 7, 0x80);
    const repeated = this.lastValue.get(name) === value;
    this.lastValue.set(name, value);
    const staticName = STATIC_NAME.get(name) ?? 0;
    let nameIndex = staticName;
    if (nameIndex === 0) {
      const entry = this.named.get(name);
      // Insertion numbers are consecutive and the oldest leave first: `entry` is still in the table unless below this.
      if (entry !== undefined && entry >= this.inserted - this.fifoNames.length) nameIndex = STATIC_TABLE.length + this.inserted - entry;
    }
    if (nameIndex !== 0 && !repeated) {
      out.integer(nameIndex, 4, 0x00);
      return out.string(value);
    }
    this.write(out, name, value, name.length + value.length + ENTRY_OVERHEAD, staticName);
    const inserted = this.seq.get(name)?.get(value);
    if (staticName === 0 && inserted !== undefined) this.named.set(name, inserted);
  }

  private write(out: HeaderBlockWriter, name: string, value: string, size: number, staticName: number): void {
    const at = this.seq.get(name)?.get(value);
    if (at !== undefined) return out.integer(STATIC_TABLE.length + this.inserted - at, 7, 0x80);
    if (size > this.maxSize) {
      // It would only empty the table (RFC 7541 4.4): a literal without indexing.
      out.integer(staticName, 4, 0x00);
    } else {
      out.integer(staticName, 6, 0x40);
      this.evict(size);
      let values = this.seq.get(name);
      if (values === undefined) this.seq.set(name, (values = new Map()));
      values.set(value, this.inserted++);
      this.fifoNames.push(name);
      this.fifoValues.push(value);
      this.fifoSizes.push(size);
      this.size += size;
    }
    if (staticName === 0) out.string(name);
    out.string(value);
  }

  /** Evicts the oldest entries until `room` more bytes fit. */
  private evict(room: number): void {
    while (this.fifoNames.length > 0 && this.size + room > this.maxSize) {
      const name = this.fifoNames.shift()!;
      const values = this.seq.get(name)!;
      values.delete(this.fifoValues.shift()!);
      if (values.size === 0) this.seq.delete(name);
      this.size -= this.fifoSizes.shift()!;
    }
  }
}
