/**
 * HTTP headers ↔ gRPC metadata, as grpc-gateway does it: an allowlist of headers passes
 * as-is, `Grpc-Metadata-<name>` passes with the prefix removed, X-Forwarded-* are added or
 * appended, and hop-by-hop headers never pass. Upstream headers and trailers come back under
 * a prefix, so they can never override the gateway's own response headers.
 */
import { GatewayError } from '../transcode';
import type { Metadata } from './transport';

/** Header names (lower-case) forwarded unchanged. */
export const DEFAULT_FORWARDED_HEADERS: readonly string[] = Object.freeze(['authorization', 'traceparent', 'tracestate', 'x-request-id', 'accept-language']);

const INCOMING_PREFIX = 'grpc-metadata-';

// RFC 9110 §7.6.1 hop-by-hop headers, plus HTTP/2 pseudo-header-ish and gRPC-reserved names.
const NEVER_FORWARD = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
  'content-type',
  'user-agent',
]);

/**
 * grpc-gateway's permanent HTTP headers (runtime.isPermanentHTTPHeader): with a
 * `permanentHeaderPrefix` (its `grpcgateway-`) each also travels as `<prefix><name>`.
 */
const PERMANENT_HEADERS = new Set([
  'accept',
  'accept-charset',
  'accept-language',
  'accept-ranges',
  'authorization',
  'cache-control',
  'content-type',
  'cookie',
  'date',
  'expect',
  'from',
  'host',
  'if-match',
  'if-modified-since',
  'if-none-match',
  'if-schedule-tag-match',
  'if-unmodified-since',
  'max-forwards',
  'origin',
  'pragma',
  'referer',
  'user-agent',
  'via',
  'warning',
]);

// Names the gateway adds to every call itself.
const GATEWAY_SET = new Set(['x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto']);

/**
 * Largest request metadata the gateway forwards (sum of name + value + 32 per entry): what
 * gRPC servers accept by default. Beyond it the client gets 431, not the upstream's
 * RESOURCE_EXHAUSTED (which would read as a retryable 429).
 */
export const MAX_METADATA_BYTES = 8 * 1024;

const METADATA_NAME = /^[0-9a-z_.-]+$/;
// gRPC ASCII metadata values: printable ASCII (0x20-0x7E) per the HTTP/2 protocol spec.
const PRINTABLE = /^[\x20-\x7e]*$/;

/** What the incoming mapping needs to know about the connection. */
export interface ClientInfo {
  readonly remoteAddress: string | undefined;
  readonly host: string | undefined;
  readonly protocol: 'http' | 'https';
}

/** Compiled header-to-metadata rules. */
export class MetadataMapper {
  private readonly forwarded: ReadonlySet<string>;
  /**
   * The forwarded names gRPC metadata can carry as they are (valid, not hop-by-hop or
   * reserved): decided once here rather than re-checked on every request that sends one.
   */
  private readonly forwardedAsIs: ReadonlySet<string>;

  constructor(
    forwardedHeaders: readonly string[],
    /** Prefix of upstream response metadata as HTTP headers. */
    readonly responsePrefix: string,
    /** Prefix of upstream trailers as HTTP headers. */
    readonly trailerPrefix: string,
    /** '' (ours: permanent headers pass only if forwarded) or grpc-gateway's `grpcgateway-`. */
    private readonly permanentPrefix = '',
  ) {
    this.forwarded = new Set(forwardedHeaders.map((h) => h.toLowerCase()));
    this.forwardedAsIs = new Set(
      [...this.forwarded].filter((k) => !NEVER_FORWARD.has(k) && !k.startsWith('grpc-') && !k.startsWith(':') && METADATA_NAME.test(k)),
    );
  }

  /** Request metadata for an incoming request; throws INVALID_HEADER for a value gRPC cannot carry. */
  incoming(headers: Readonly<Record<string, string | string[] | undefined>>, client: ClientInfo): Metadata {
    const out: Metadata = [];
    let forwardedFor: string | undefined;
    let forwardedHost: string | undefined;
    let forwardedProto: string | undefined;
    let size = 0;
    for (const name in headers) {
      const value = headers[name];
      if (value === undefined) continue;
      if (this.permanentPrefix !== '' && PERMANENT_HEADERS.has(name)) {
        for (const v of Array.isArray(value) ? value : [value]) out.push([this.permanentPrefix + name, metadataValue(name, name, v)]);
      }
      let key: string;
      if (this.forwardedAsIs.has(name)) {
        // A string (one header) without the array for it: most requests carry only such.
        if (typeof value === 'string') size = this.push(out, size, name, name, value);
        else for (const v of value) size = this.push(out, size, name, name, v);
        continue;
      }
      if (this.forwarded.has(name)) key = name;
      else if (name.startsWith(INCOMING_PREFIX)) {
        key = name.slice(INCOMING_PREFIX.length);
        // A second `authorization` (or any name the gateway forwards or sets itself) would
        // reach the service beside the one the gateway checked: refused, never merged.
        if (
          this.forwarded.has(key) ||
          GATEWAY_SET.has(key) ||
          NEVER_FORWARD.has(key) ||
          key.startsWith('grpc-') ||
          key === '' ||
          (this.permanentPrefix !== '' && key.startsWith(this.permanentPrefix))
        ) {
          throw badHeader(name, `would set "${key}", which only the gateway sets or forwards`);
        }
      } else if (name === 'x-forwarded-for') {
        forwardedFor = join(value);
        continue;
      } else if (name === 'x-forwarded-host') {
        forwardedHost = join(value);
        continue;
      } else if (name === 'x-forwarded-proto') {
        forwardedProto = join(value);
        continue;
      } else continue;
      if (NEVER_FORWARD.has(key) || key.startsWith('grpc-') || key.startsWith(':')) continue;
      if (!METADATA_NAME.test(key)) throw badHeader(name, 'is not a valid gRPC metadata name');
      if (typeof value === 'string') size = this.push(out, size, name, key, value);
      else for (const v of value) size = this.push(out, size, name, key, v);
    }
    const remote = client.remoteAddress;
    if (remote) out.push(['x-forwarded-for', forwardedFor ? `${forwardedFor}, ${remote}` : remote]);
    else if (forwardedFor) out.push(['x-forwarded-for', forwardedFor]);
    const host = forwardedHost ?? client.host;
    if (host) {
      if (!PRINTABLE.test(host)) throw badHeader('host', 'is not printable ASCII');
      out.push(['x-forwarded-host', host]);
    }
    out.push(['x-forwarded-proto', forwardedProto && PRINTABLE.test(forwardedProto) ? forwardedProto : client.protocol]);
    return out;
  }

  /** Appends one entry of header `name` as metadata `key`; the metadata's size so far, with it. */
  private push(out: Metadata, size: number, name: string, key: string, value: string): number {
    // HPACK's entry size (RFC 7541 §4.1): the figure gRPC servers limit (grpc-js: 8 KiB by default).
    size += key.length + value.length + 32;
    if (size > MAX_METADATA_BYTES) {
      throw new GatewayError('HEADERS_TOO_LARGE', `request metadata exceeds ${MAX_METADATA_BYTES} bytes`);
    }
    out.push([key, metadataValue(name, key, value)]);
    return size;
  }

  /** Response headers for upstream headers and trailers, under their prefixes. */
  outgoing(headers: Metadata, trailers: Metadata, into: Record<string, string | string[]>): void {
    addPrefixed(headers, this.responsePrefix, into);
    addPrefixed(trailers, this.trailerPrefix, into);
  }
}

function addPrefixed(md: Metadata, prefix: string, into: Record<string, string | string[]>): void {
  for (const [name, value] of md) {
    const header = prefix + name;
    const text = typeof value === 'string' ? value : Buffer.from(value).toString('base64');
    const existing = into[header];
    if (existing === undefined) into[header] = text;
    else if (Array.isArray(existing)) existing.push(text);
    else into[header] = [existing, text];
  }
}

function metadataValue(header: string, key: string, value: string): string | Uint8Array {
  if (key.endsWith('-bin')) {
    // Binary metadata arrives base64 (padded or not) in HTTP headers, as gRPC sends it.
    if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(value)) throw badHeader(header, 'is not valid base64 for a -bin key');
    return Buffer.from(value, 'base64');
  }
  if (!PRINTABLE.test(value)) throw badHeader(header, 'contains characters gRPC metadata cannot carry');
  return value;
}

function join(value: string | string[]): string {
  return Array.isArray(value) ? value.join(', ') : value;
}

function badHeader(header: string, problem: string): GatewayError {
  return new GatewayError('INVALID_HEADER', `header "${header}" ${problem}`, [{ field: header, description: problem }]);
}
