/**
 * gRPC metadata <-> HTTP/2 headers, `grpc-timeout` and `grpc-message` encodings.
 * https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md
 */
import type { Metadata } from '../transport';

/** Header names the transport owns: never forwarded from user metadata, never surfaced. */
const RESERVED = new Set([
  'content-type',
  'te',
  'user-agent',
  'host',
  'date',
  'grpc-timeout',
  'grpc-encoding',
  'grpc-accept-encoding',
  'grpc-status',
  'grpc-message',
  'grpc-status-details-bin',
  // HTTP/1 connection-specific headers: forbidden in HTTP/2 (RFC 9113 8.2.2).
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
]);

/** Spec: Header-Name → 1*( %x30-39 / %x61-7A / "_" / "-" / "."), lower case. */
const VALID_NAME = /^[0-9a-z_.-]+$/;
/** Spec: ASCII-Value → 1*( %x20-%x7E ), printable ASCII. */
const VALID_VALUE = /^[\x20-\x7e]*$/;

/** Whether `name` carries bytes (base64 on the wire). */
export const isBinaryName = (name: string): boolean => name.endsWith('-bin');

/** Where encoded request header fields go (an HPACK block writer). */
export interface HeaderSink {
  add(name: string, value: string): void;
}

/**
 * Adds user metadata to outgoing request headers, a field per value (repeated names
 * repeat). `-bin` values go out base64 without padding (the spec's "should"). Returns an
 * error message for an invalid name or value; the sink is then not to be used.
 */
export function addMetadata(headers: HeaderSink, metadata: Metadata): string | undefined {
  for (let i = 0; i < metadata.length; i++) {
    const [name, value] = metadata[i];
    if (name.charCodeAt(0) === 58 /* ':' */ || RESERVED.has(name)) continue;
    if (!VALID_NAME.test(name)) return `Invalid metadata name "${name}"`;
    let wire: string;
    if (isBinaryName(name)) {
      wire =
        typeof value === 'string' ? Buffer.from(value).toString('base64') : Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
      wire = stripPadding(wire);
    } else if (typeof value === 'string' && VALID_VALUE.test(value)) {
      wire = value;
    } else {
      return `Invalid metadata value for "${name}": expected printable ASCII`;
    }
    headers.add(name, wire);
  }
  return undefined;
}

function stripPadding(b64: string): string {
  let end = b64.length;
  while (end > 0 && b64.charCodeAt(end - 1) === 61 /* '=' */) end--;
  return end === b64.length ? b64 : b64.slice(0, end);
}

/**
 * Metadata from a flat raw header list ([name, value, name, value...]), which
 * keeps repeated names apart. Skips pseudo-headers and the reserved names; decodes
 * `-bin` values (padded or not).
 */
export function fromRawHeaders(raw: string[]): Metadata {
  const out: Metadata = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    if (name.charCodeAt(0) === 58 || RESERVED.has(name)) continue;
    const value = raw[i + 1];
    if (!isBinaryName(name)) out.push([name, value]);
    else if (value.indexOf(',') < 0) out.push([name, Buffer.from(value, 'base64')]);
    // A proxy may have joined repeated values; base64 has no comma, so splitting is safe.
    else for (const part of value.split(',')) out.push([name, Buffer.from(part.trim(), 'base64')]);
  }
  return out;
}

/** Units of grpc-timeout, smallest first, in milliseconds. */
const TIMEOUT_UNITS: Array<[unit: string, ms: number]> = [
  ['m', 1],
  ['S', 1e3],
  ['M', 60e3],
  ['H', 3600e3],
];

/** grpc-timeout for a remaining time in ms: at most 8 digits, rounded up so it never shortens. */
export function encodeTimeout(ms: number): string {
  const whole = Math.max(1, Math.ceil(ms));
  for (const [unit, size] of TIMEOUT_UNITS) {
    const n = Math.ceil(whole / size);
    if (n < 1e8) return `${n}${unit}`;
  }
  return '99999999H';
}

/** Percent-encodes a status message: bytes outside 0x20-0x7E and '%' become %XX of their UTF-8. */
export function encodeGrpcMessage(message: string): string {
  let plain = true;
  for (let i = 0; i < message.length && plain; i++) {
    const c = message.charCodeAt(i);
    plain = c >= 0x20 && c <= 0x7e && c !== 0x25;
  }
  if (plain) return message;
  let out = '';
  for (const byte of Buffer.from(message, 'utf8')) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : '%' + (byte < 16 ? '0' : '') + byte.toString(16).toUpperCase();
  }
  return out;
}

/**
 * Decodes a percent-encoded status message. The spec asks decoders never to fail: a
 * malformed escape is kept as written, and bytes are read as UTF-8 (bad ones as U+FFFD).
 */
export function decodeGrpcMessage(wire: string): string {
  if (wire.indexOf('%') < 0) return wire;
  const bytes = Buffer.allocUnsafe(wire.length);
  let n = 0;
  for (let i = 0; i < wire.length; i++) {
    const c = wire.charCodeAt(i);
    if (c === 0x25 && i + 2 < wire.length && isHex(wire.charCodeAt(i + 1)) && isHex(wire.charCodeAt(i + 2))) {
      bytes[n++] = parseInt(wire.substr(i + 1, 2), 16);
      i += 2;
    } else {
      bytes[n++] = c & 0xff;
    }
  }
  return bytes.toString('utf8', 0, n);
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}
