/**
 * Upstream protobuf bytes → proto3 JSON text in one pass, with no message objects: the
 * text is exactly `JSON.stringify(toJson(desc, fromBinary(desc, bytes), options))` of
 * @bufbuild/protobuf (https://protobuf.dev/programming-guides/json/), or undefined when
 * the bytes hold something this writer leaves to protobuf-es (see codec-scope):
 *
 * - a well-known type with its own JSON form, or a non-proto3 message, actually present;
 * - fields out of field-number order, or a singular field given twice: protobuf-es keeps
 *   the last value (and merges messages) where a one-pass writer has already written the
 *   first. Encoders write fields in number order, once, so real traffic takes the fast path;
 * - two members of one oneof (the last wins), and malformed or truncated wire data.
 *
 * JSON is written in field-number order, as protobuf-es writes it; map entries in the
 * order a JavaScript object holds their keys (integer-like keys first), as protobuf-es's
 * map record does; unknown fields are skipped (proto3 messages cannot be extended).
 */
import type { DescField, DescMessage, ScalarType } from '@bufbuild/protobuf';
import { BOOL, BYTES, DOUBLE, FIXED32, FIXED64, FLOAT, INT32, INT64, SFIXED32, SFIXED64, SINT32, SINT64, STRING, UINT32, UINT64 } from './scalar-types';
import { fieldPlan, messagePlan, type FieldPlan, type JsonWriteOptions, type MessagePlan } from './binary-to-json-plan';
import { BAIL, MAX_DEPTH } from './codec-scope';
import { ENUM, LENGTH_DELIMITED, LIST, MAP, MESSAGE, wireTypeOf } from './field-shape';
import { float32Text } from './float32-text';
import { int64Text, JsonSink } from './json-sink';
import { WireReader } from './wire-reader';

const reader = new WireReader();
const sink = new JsonSink();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const TRUE = Buffer.from('true');
const FALSE = Buffer.from('false');

// The value readScalar read last (rendering is synchronous, so module state is safe).
let num = 0;
let lo = 0;
let hi = 0;
let start = 0;
let end = 0;

// The top-level field a response_body picks, and where its value landed in the sink.
let picked: FieldPlan | undefined;
let pickStart = -1;
let pickEnd = -1;

/** A message type's compiled JSON writer, optionally reduced to one top-level field. */
export class BinaryToJson {
  private readonly plan: MessagePlan;
  private readonly pick: FieldPlan | undefined;

  constructor(desc: DescMessage, options: JsonWriteOptions, pick?: DescField) {
    this.plan = messagePlan(desc, options);
    this.pick = pick && !this.plan.opaque ? fieldPlan(this.plan, pick) : undefined;
  }

  /** False when every instance goes to protobuf-es. */
  get usable(): boolean {
    return !this.plan.opaque;
  }

  /**
   * The JSON text of `bytes` (of the picked field's value, or of its zero value when it is
   * absent), or undefined to let protobuf-es render it.
   */
  render(bytes: Uint8Array): string | undefined {
    return this.renderWith(bytes, asText);
  }

  /**
   * `render` as UTF-8 bytes, without a string in between: a view of the process's one JSON
   * buffer, valid only until the next render (copy it before anything else renders).
   */
  renderBytes(bytes: Uint8Array): Uint8Array | undefined {
    return this.renderWith(bytes, asBytes);
  }

  private renderWith<T>(bytes: Uint8Array, out: (start: number, end: number) => T): T | undefined {
    if (this.plan.opaque) return undefined;
    reader.reset(bytes);
    sink.reset();
    picked = this.pick;
    pickStart = pickEnd = -1;
    try {
      writeMessage(this.plan, bytes.length, 0);
      if (!picked) return out(0, sink.pos);
      if (pickStart < 0) {
        sink.reset();
        sink.raw(picked.zero);
        return out(0, sink.pos);
      }
      return out(pickStart, pickEnd);
    } catch {
      // BAIL, or anything unforeseen: protobuf-es is the canonical path and words the error.
      return undefined;
    } finally {
      picked = undefined;
      sink.release();
    }
  }
}

const asText = (start: number, end: number): string => sink.text(start, end);
const asBytes = (start: number, end: number): Uint8Array => sink.buf.subarray(start, end);

function writeMessage(plan: MessagePlan, limit: number, depth: number): void {
  if (plan.opaque || depth > MAX_DEPTH) throw BAIL;
  const r = reader;
  const fields = plan.fields;
  sink.byte(0x7b);
  let next = 0; // fields before this index are written or passed
  let run = -1; // the repeated field whose consecutive values are being read
  let runOpen = false; // its key and '[' are written
  let entries: MapEntries | undefined;
  let oneofs = 0;
  while (r.pos < limit) {
    const tag = r.tag(limit);
    const number = tag >>> 3;
    const wireType = tag & 7;
    const index = (number < plan.dense.length ? plan.dense[number] : (plan.sparse.get(number) ?? 0)) - 1;
    if (index < 0) {
      r.skip(wireType, limit);
      continue;
    }
    const f = fields[index];
    if (index !== run) {
      if (run >= 0) closeRun(fields[run], runOpen, entries, depth, plan.emitUnpopulated);
      run = -1;
      // Out of number order, or a singular field again: protobuf-es's last-wins is not one pass.
      if (index < next) throw BAIL;
      if (plan.emitUnpopulated) writeZeros(fields, next, index, depth);
      next = index + 1;
      const bit = plan.oneofBits[index];
      if (bit !== 0) {
        if ((oneofs & bit) !== 0) throw BAIL;
        oneofs |= bit;
      }
      if (f.kind === LIST) [run, runOpen] = [index, false];
      else if (f.kind === MAP) [run, entries] = [index, new MapEntries()];
    }
    if (f.kind === LIST) runOpen = readListValue(f, wireType, limit, depth, runOpen);
    else if (f.kind === MAP) entries!.read(f, wireType, limit);
    else writeSingular(f, wireType, limit, depth);
  }
  if (run >= 0) closeRun(fields[run], runOpen, entries, depth, plan.emitUnpopulated);
  if (plan.emitUnpopulated) writeZeros(fields, next, fields.length, depth);
  if (depth === 0 && pickStart >= 0 && pickEnd < 0) pickEnd = sink.pos;
  sink.byte(0x7d);
}

/** Writes `,"key":` (the comma unless first in its object) and notes where a picked value starts. */
function writeKey(f: FieldPlan, depth: number): void {
  const s = sink;
  if (depth === 0 && pickStart >= 0 && pickEnd < 0) pickEnd = s.pos;
  if (s.buf[s.pos - 1] !== 0x7b) s.byte(0x2c);
  s.raw(f.key);
  if (depth === 0 && f === picked) pickStart = s.pos;
}

/** Absent fields from..to-1, as alwaysEmitImplicit writes them. */
function writeZeros(fields: readonly FieldPlan[], from: number, to: number, depth: number): void {
  for (let i = from; i < to; i++) {
    const f = fields[i];
    if (!f.emitsZero) continue;
    writeKey(f, depth);
    // A picked response_body that is absent answers its zero value (`{}` for a message).
    sink.raw(depth === 0 && f === picked ? f.zero : f.unset);
  }
}

function writeSingular(f: FieldPlan, wireType: number, limit: number, depth: number): void {
  if (wireType !== f.wireType || f.opaque) throw BAIL;
  if (f.kind === MESSAGE) {
    const subEnd = reader.lengthEnd(limit);
    writeKey(f, depth);
    writeMessage(f.message!, subEnd, depth + 1);
    return;
  }
  const zero = readScalar(f.scalar, limit);
  if (f.implicit && (f.kind === ENUM ? num === f.enumZero : zero)) return;
  writeKey(f, depth);
  writeValue(f);
}

/** Reads the values of one record of a list: a packed run, or one value. Returns whether the list is open. */
function readListValue(f: FieldPlan, wireType: number, limit: number, depth: number, open: boolean): boolean {
  if (f.opaque) throw BAIL;
  const r = reader;
  if (wireType === LENGTH_DELIMITED && f.packable) {
    const runEnd = r.lengthEnd(limit);
    while (r.pos < runEnd) {
      readScalar(f.scalar, runEnd);
      open = openItem(f, depth, open);
      writeValue(f);
    }
    return open;
  }
  if (wireType !== f.wireType) throw BAIL;
  if (f.item === MESSAGE) {
    const subEnd = r.lengthEnd(limit);
    open = openItem(f, depth, open);
    writeMessage(f.message!, subEnd, depth + 1);
    return open;
  }
  readScalar(f.scalar, limit);
  openItem(f, depth, open);
  writeValue(f);
  return true;
}

function openItem(f: FieldPlan, depth: number, open: boolean): boolean {
  if (open) sink.byte(0x2c);
  else {
    writeKey(f, depth);
    sink.byte(0x5b);
  }
  return true;
}

function closeRun(f: FieldPlan, open: boolean, entries: MapEntries | undefined, depth: number, emitUnpopulated: boolean): void {
  if (f.kind === MAP) entries!.write(f, depth);
  else if (open) sink.byte(0x5d);
  else if (emitUnpopulated) {
    // Only empty packed records were read: an empty list, written only with alwaysEmitImplicit.
    writeKey(f, depth);
    sink.raw(f.zero);
  }
}

/**
 * A map's entries, gathered until its run ends: protobuf-es keeps them in a JavaScript
 * object (the last value of a repeated key wins, in the first one's place; integer-like keys
 * come first, ascending), so the writer orders them through one as well.
 */
class MapEntries {
  private readonly keys: string[] = [];
  private readonly values: number[] = []; // offset of the value, or -1 for an absent (zero) value
  private readonly limits: number[] = [];

  read(f: FieldPlan, wireType: number, limit: number): void {
    if (wireType !== LENGTH_DELIMITED || f.opaque) throw BAIL;
    const r = reader;
    const entryEnd = r.lengthEnd(limit);
    let key: string | undefined;
    let value = -1;
    while (r.pos < entryEnd) {
      const tag = r.tag(entryEnd);
      const number = tag >>> 3;
      if (number === 1 && key === undefined) {
        if ((tag & 7) !== wireTypeOf(f.mapKey)) throw BAIL;
        readScalar(f.mapKey, entryEnd);
        key = mapKeyText(f.mapKey);
      } else if (number === 2 && value < 0) {
        if ((tag & 7) !== f.wireType) throw BAIL;
        value = r.pos;
        r.skip(tag & 7, entryEnd);
      } else if (number === 1 || number === 2) {
        throw BAIL; // a repeated key or value: last-wins (and message merging) is left to protobuf-es
      } else {
        r.skip(tag & 7, entryEnd);
      }
    }
    this.keys.push(key ?? zeroKey(f.mapKey));
    this.values.push(value);
    this.limits.push(entryEnd);
  }

  write(f: FieldPlan, depth: number): void {
    const order: Record<string, number> = Object.create(null);
    for (let i = 0; i < this.keys.length; i++) order[this.keys[i]] = i;
    const r = reader;
    const resume = r.pos;
    writeKey(f, depth);
    sink.byte(0x7b);
    let first = true;
    for (const key of Object.keys(order)) {
      const i = order[key];
      if (!first) sink.byte(0x2c);
      first = false;
      sink.jsString(key);
      sink.byte(0x3a);
      const at = this.values[i];
      if (f.item === MESSAGE) {
        // An absent message value is an empty message (with its zeros under emitUnpopulated).
        if (at >= 0) r.pos = at;
        writeMessage(f.message!, at < 0 ? r.pos : r.lengthEnd(this.limits[i]), depth + 1);
      } else if (at < 0) {
        sink.raw(f.valueZero);
      } else {
        r.pos = at;
        readScalar(f.scalar, this.limits[i]);
        writeValue(f);
      }
    }
    sink.byte(0x7d);
    r.pos = resume;
  }
}

/**
 * Reads one value of `scalar` into the module state (num, lo/hi, start/end) and returns
 * whether it is the zero value, as protobuf-es decides (-0.0 is not zero).
 */
function readScalar(scalar: ScalarType, limit: number): boolean {
  const r = reader;
  switch (scalar) {
    case DOUBLE:
      num = r.double(limit);
      return num === 0 && 1 / num > 0;
    case FLOAT:
      num = r.float(limit);
      return num === 0 && 1 / num > 0;
    case INT32:
      num = r.varint(limit);
      return num === 0;
    case UINT32:
      num = r.varint(limit) >>> 0;
      return num === 0;
    case SINT32: {
      const zz = r.varint(limit) >>> 0;
      num = (zz >>> 1) ^ -(zz & 1);
      return num === 0;
    }
    case FIXED32:
      num = r.fixed32(limit) >>> 0;
      return num === 0;
    case SFIXED32:
      num = r.fixed32(limit);
      return num === 0;
    case BOOL:
      r.varint(limit);
      num = r.lo !== 0 || r.hi !== 0 ? 1 : 0;
      return num === 0;
    case INT64:
    case UINT64:
      r.varint(limit);
      lo = r.lo;
      hi = r.hi;
      return lo === 0 && hi === 0;
    case SINT64: {
      r.varint(limit);
      const sign = -(r.lo & 1);
      lo = ((r.lo >>> 1) | ((r.hi & 1) << 31)) ^ sign;
      hi = (r.hi >>> 1) ^ sign;
      return lo === 0 && hi === 0;
    }
    case FIXED64:
    case SFIXED64:
      r.fixed64(limit);
      lo = r.lo;
      hi = r.hi;
      return lo === 0 && hi === 0;
    case STRING:
    case BYTES:
      end = r.lengthEnd(limit);
      start = r.pos;
      r.pos = end;
      return start === end;
    default:
      throw BAIL;
  }
}

/** Writes the value readScalar read, as field `f`'s JSON. */
function writeValue(f: FieldPlan): void {
  const s = sink;
  if (f.item === ENUM) {
    const name = f.enumNames?.get(num);
    if (name !== undefined) s.raw(name);
    else writeInt(num);
    return;
  }
  switch (f.scalar) {
    case DOUBLE:
      s.number(num);
      return;
    case FLOAT:
      s.number(float32Text(num));
      return;
    case BOOL:
      s.raw(num === 1 ? TRUE : FALSE);
      return;
    case INT64:
    case SINT64:
    case SFIXED64:
      s.int64(lo, hi, true);
      return;
    case UINT64:
    case FIXED64:
      s.int64(lo, hi, false);
      return;
    case STRING:
      s.utf8String(reader.bytes, start, end);
      return;
    case BYTES:
      s.base64(reader.bytes, start, end);
      return;
    default:
      writeInt(num);
  }
}

function writeInt(value: number): void {
  if (value >= 0) sink.uint(value);
  else sink.ascii(String(value));
}

/** The JavaScript object key protobuf-es gives the map key readScalar read. */
function mapKeyText(scalar: ScalarType): string {
  switch (scalar) {
    case STRING:
      return strictUtf8.decode(reader.bytes.subarray(start, end)); // throws on invalid UTF-8: a bail
    case BOOL:
      return num === 1 ? 'true' : 'false';
    case INT64:
    case SINT64:
    case SFIXED64:
      return int64Text(lo, hi, true);
    case UINT64:
    case FIXED64:
      return int64Text(lo, hi, false);
    default:
      return String(num);
  }
}

function zeroKey(scalar: ScalarType): string {
  return scalar === STRING ? '' : scalar === BOOL ? 'false' : '0';
}
