/**
 * A parsed proto3 JSON request (https://protobuf.dev/programming-guides/json/) → protobuf
 * bytes in one walk, with no message objects: exactly the bytes of
 * `toBinary(desc, fromJson(desc, json, { ignoreUnknownFields }))` of @bufbuild/protobuf —
 * fields in number order, repeated numbers packed, implicit-presence zeros left out,
 * explicit presence kept, map entries key then value in the order protobuf-es's map record
 * holds them — or undefined whenever protobuf-es would reject the JSON, or accept it in a
 * way not worth copying (see json-scalar and codec-scope). The caller then takes the
 * protobuf-es path, which answers with the canonical 400.
 *
 * Path and query values (the overlay) are merged at the JSON level, as mergeFromJson over
 * the body would merge them: a scalar from the overlay replaces the body's (which is still
 * checked), messages merge field by field; lists, maps and oneofs given by both are left to
 * protobuf-es. Bytes are never concatenated: a repeated embedded message would be merged by
 * some decoders and replaced by others.
 */
import type { DescMessage } from '@bufbuild/protobuf';
import { BAIL, MAX_DEPTH } from './codec-scope';
import { ENUM, LIST, MAP, MESSAGE, SCALAR } from './field-shape';
import { messageEncoder, type FieldEncoder, type MessageEncoder } from './json-to-binary-plan';
import { countValueMembers, namesMembers } from './json-members';
import { enumNumber, parseMapKey, parseScalar, writeScalar } from './json-scalar';
import { WireWriter } from './wire-writer';

type JsonObject = Record<string, unknown>;

/** The JSON text a body was parsed from, for what its parsed value cannot tell. */
export interface JsonSource {
  readonly text: string;
  /** Members the caller wrapped around the parsed value (1 for a `body: "<field>"` body), not in the text. */
  readonly wrapped: number;
  /**
   * True when every string the text holds is ASCII (ASCII text without a `\u` escape; the
   * other escapes stand for ASCII): the body's strings are then copied as they are, without a
   * UTF-16 check (a lone surrogate needs a `\u` escape or a non-ASCII byte).
   */
  readonly ascii: boolean;
}

const writer = new WireWriter();

/** Per depth: the values found for each field index, from the body and from the overlay. */
interface Frame {
  readonly body: unknown[];
  readonly overlay: unknown[];
  readonly order: number[];
}
const frames: Frame[] = [];

// Walk state (encoding is synchronous, so module state is safe).
let ignoreUnknown = false;
let asciiStrings = false;
let visited = 0;

/** A message type's compiled JSON → binary encoder. */
export class JsonToBinary {
  private readonly encoder: MessageEncoder;

  constructor(
    desc: DescMessage,
    private readonly ignoreUnknownFields: boolean,
  ) {
    this.encoder = messageEncoder(desc);
  }

  /** False when every instance goes to protobuf-es. */
  get usable(): boolean {
    return !this.encoder.opaque;
  }

  /**
   * Encodes `body` (a parsed JSON object, or undefined) with `overlay` (path and query
   * values, or undefined) merged over it. With `source` (the text `body` was parsed from),
   * the text's member names are counted against the keys walked: when the body holds fewer
   * keys than its text named, some key was repeated, and the result is undefined. Returns
   * undefined for anything left to protobuf-es.
   */
  encode(body: JsonObject | undefined, overlay: JsonObject | undefined, source?: JsonSource): Uint8Array | undefined {
    if (this.encoder.opaque) return undefined;
    const w = writer;
    w.reset();
    ignoreUnknown = this.ignoreUnknownFields;
    // Overlay strings come from the path and query: only a body alone is known ASCII.
    asciiStrings = source !== undefined && source.ascii && overlay === undefined;
    visited = 0;
    try {
      encodeMessage(this.encoder, body, overlay, 0);
    } catch {
      // BAIL, or anything unforeseen: protobuf-es is the canonical path and words the error.
      clearFrames();
      return undefined;
    }
    if (source !== undefined && !namesMembers(source.text, visited - countValueMembers(overlay) - source.wrapped)) return undefined;
    return w.finish();
  }
}

function encodeMessage(enc: MessageEncoder, body: JsonObject | undefined, overlay: JsonObject | undefined, depth: number): void {
  if (enc.opaque || depth > MAX_DEPTH) throw BAIL;
  const frame = frames[depth] ?? (frames[depth] = { body: [], overlay: [], order: [] });
  const { order } = frame;
  const bodyValues = frame.body;
  const overlayValues = frame.overlay;
  let n = 0;
  if (body !== undefined) {
    for (const key in body) {
      visited++;
      const f = enc.byKey.get(key);
      if (f === undefined) {
        // Extension keys ("[pkg.ext]") are resolved through the registry by protobuf-es.
        if (!ignoreUnknown || key.charCodeAt(0) === 0x5b) throw BAIL;
        visited += countValueMembers(body[key]);
        continue;
      }
      if (bodyValues[f.index] !== undefined) throw BAIL; // given by its JSON name and its proto name
      bodyValues[f.index] = body[key];
      order[n++] = f.index;
    }
  }
  if (overlay !== undefined) {
    for (const key in overlay) {
      visited++;
      const f = enc.byKey.get(key);
      if (f === undefined || overlayValues[f.index] !== undefined) throw BAIL;
      overlayValues[f.index] = overlay[key];
      if (bodyValues[f.index] === undefined) order[n++] = f.index;
    }
  }
  // Field-number order; bodies are small objects, so an insertion sort.
  for (let i = 1; i < n; i++) {
    const v = order[i];
    let j = i - 1;
    for (; j >= 0 && order[j] > v; j--) order[j + 1] = order[j];
    order[j + 1] = v;
  }
  let oneofs = 0;
  for (let i = 0; i < n; i++) {
    const index = order[i];
    const f = enc.fields[index];
    const fromBody = bodyValues[index];
    const fromOverlay = overlayValues[index];
    bodyValues[index] = undefined;
    overlayValues[index] = undefined;
    if (fromBody !== undefined && fromOverlay !== undefined) {
      mergeField(f, fromBody, fromOverlay, depth);
      continue;
    }
    const value = fromBody !== undefined ? fromBody : fromOverlay;
    // A null scalar member of a oneof does not count as setting it (protobuf-es skips it first).
    if (f.oneofBit !== 0 && !(value === null && f.kind === SCALAR)) {
      if ((oneofs & f.oneofBit) !== 0) throw BAIL;
      oneofs |= f.oneofBit;
    }
    encodeField(f, value, depth);
  }
}

/** A field given by both the body and the overlay. */
function mergeField(f: FieldEncoder, fromBody: unknown, fromOverlay: unknown, depth: number): void {
  if (f.oneofBit !== 0 || fromBody === null || f.opaque) throw BAIL;
  const w = writer;
  if (f.kind === MESSAGE && isObject(fromBody) && isObject(fromOverlay)) {
    w.uint32(f.tag);
    w.fork();
    encodeMessage(f.message!, fromBody, fromOverlay, depth + 1);
    w.join();
    return;
  }
  if (f.kind !== SCALAR && f.kind !== ENUM) throw BAIL;
  // The overlay's value wins; the body's is encoded only to check it, as protobuf-es checks it.
  const mark = w.pos;
  encodeField(f, fromBody, depth);
  w.pos = mark;
  encodeField(f, fromOverlay, depth);
}

function encodeField(f: FieldEncoder, value: unknown, depth: number): void {
  // null unsets a field (a list or map: adds nothing), except a google.protobuf.Value or NullValue, which it sets.
  if (value === null) {
    if (f.nullIsValue) throw BAIL;
    return;
  }
  const w = writer;
  switch (f.kind) {
    case SCALAR:
      if (parseScalar(f.scalar, value) && f.implicit) return;
      w.uint32(f.tag);
      writeScalar(w, f.scalar, asciiStrings);
      return;
    case ENUM: {
      if (f.opaque) throw BAIL;
      const number = enumNumber(f.enumNumbers!, value);
      if (f.implicit && number === f.enumZero) return;
      w.uint32(f.tag);
      w.int32(number);
      return;
    }
    case MESSAGE:
      encodeMessageValue(f, f.tag, value, depth);
      return;
    case LIST:
      encodeList(f, value, depth);
      return;
    case MAP:
      encodeMap(f, value, depth);
      return;
  }
}

function encodeMessageValue(f: FieldEncoder, tag: number, value: unknown, depth: number): void {
  if (!isObject(value) || f.opaque) throw BAIL;
  const w = writer;
  w.uint32(tag);
  w.fork();
  encodeMessage(f.message!, value, undefined, depth + 1);
  w.join();
}

function encodeList(f: FieldEncoder, value: unknown, depth: number): void {
  if (!Array.isArray(value)) throw BAIL;
  const n = value.length;
  if (n === 0) return;
  const w = writer;
  if (f.item === MESSAGE) {
    for (let i = 0; i < n; i++) encodeMessageValue(f, f.tag, value[i], depth);
    return;
  }
  if (f.packed) {
    w.uint32(f.lengthTag);
    w.fork();
    for (let i = 0; i < n; i++) encodeItem(f, value[i]);
    w.join();
    return;
  }
  for (let i = 0; i < n; i++) {
    w.uint32(f.tag);
    encodeItem(f, value[i]);
  }
}

/** One list item or map value (null is an error for both). */
function encodeItem(f: FieldEncoder, item: unknown): void {
  if (item === null || f.opaque) throw BAIL;
  if (f.item === ENUM) writer.int32(enumNumber(f.enumNumbers!, item));
  else {
    parseScalar(f.scalar, item);
    writeScalar(writer, f.scalar, asciiStrings);
  }
}

function encodeMap(f: FieldEncoder, value: unknown, depth: number): void {
  if (!isObject(value)) throw BAIL;
  const w = writer;
  for (const key in value) {
    visited++;
    const entry = value[key];
    if (entry === null) throw BAIL;
    w.uint32(f.lengthTag);
    w.fork();
    parseMapKey(f.mapKey, key);
    w.uint32(f.keyTag);
    writeScalar(w, f.mapKey, asciiStrings);
    if (f.item === MESSAGE) encodeMessageValue(f, f.valueTag, entry, depth);
    else {
      w.uint32(f.valueTag);
      encodeItem(f, entry);
    }
    w.join();
  }
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** After a bail, no value may stay behind in a frame. */
function clearFrames(): void {
  for (const frame of frames) {
    frame.body.fill(undefined);
    frame.overlay.fill(undefined);
  }
}
