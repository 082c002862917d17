/**
 * The write path of a unary success: the whole answer (status line, headers, body) as one
 * Buffer in one socket write, with the parts that never change compiled once per route and
 * status. What the catch-all's answer needs from Fastify's reply.send (serializer, content-type
 * parsing, header objects, onSend) and from node's writeHead (validating our own constant
 * headers again on every request) is skipped; everything else stays node's: the
 * ServerResponse still ends through `end()`, so keep-alive, pipelining (a queued answer waits in
 * its outputData), 'finish' and 'close', and with them Fastify's onResponse hooks, behave as
 * before.
 *
 * The header block is the bytes node would write, in its order: status line, the headers
 * hooks set on the raw response (x-request-id, security headers, CORS, trace ids), the
 * upstream's metadata headers, content-type, content-length, Date, Connection/Keep-Alive
 * (unary-writer.test.ts compares it with node's own, byte for byte). Anything unusual (no
 * keep-alive, HTTP/1.0, HEAD, a hook-set header node treats specially, a value node would
 * refuse, onSend or preSerialization hooks in the scope) returns false and the caller takes
 * Fastify's path, which behaves as it always did.
 */
import { STATUS_CODES, ServerResponse, type Server } from 'node:http';
import { freeNow } from '../pipeline';
import type { Metadata } from '../upstream/transport';

/** Headers node's writer treats specially (keep-alive, framing, date): their presence sends us to node's path. */
/** Answers of this size and more are freed once written (64 KiB bodies in bench case 3). */
const FREE_AFTER_WRITE = 16 * 1024;

const SPECIAL = new Set([
  'connection',
  'content-length',
  'content-type',
  'transfer-encoding',
  'date',
  'keep-alive',
  'trailer',
  'expect',
  'content-disposition',
]);
// node's checkIsHttpToken and checkInvalidHeaderChar (RFC 9110 field-name token, field-value chars).
const TOKEN = /^[\^_`a-zA-Z\-0-9!#$%&'*+.|~]+$/;
const INVALID_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

/** A route's constant header text for one status and content type, compiled once. */
export interface HeaderBlock {
  /** `HTTP/1.1 200 OK\r\n` */
  readonly statusLine: string;
  /** `content-type: …\r\ncontent-length: ` (the length follows per request). */
  readonly typeAndLength: string;
}

/** The header block for `status` with body type `contentType`; undefined when node would refuse the type. */
export function headerBlock(status: number, contentType: string): HeaderBlock | undefined {
  if (INVALID_VALUE.test(contentType)) return undefined;
  return { statusLine: `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'unknown'}\r\n`, typeAndLength: `content-type: ${contentType}\r\ncontent-length: ` };
}

/** One per server: the keep-alive and Date lines, cached, and the write itself. */
export class UnaryWriter {
  /** False when the scope has onSend or preSerialization hooks (they run only on Fastify's path). */
  enabled = true;
  private dateSecond = -1;
  private tail = '';
  private keepAliveLines = '';
  private keepAliveTimeout = -1;
  private keepAliveMax = -1;
  private readonly blocks = new Map<string, HeaderBlock | undefined>();

  constructor(private readonly server: Server) {}

  /** The block for a content type that is not the route's JSON one (google.api.HttpBody answers). */
  blockFor(status: number, contentType: string): HeaderBlock | undefined {
    const key = `${status} ${contentType}`;
    if (this.blocks.has(key)) return this.blocks.get(key);
    const block = headerBlock(status, contentType);
    if (this.blocks.size < 256) this.blocks.set(key, block);
    return block;
  }

  /**
   * Writes the answer and ends `res`; false when it did not (the caller answers as before).
   * `metadataPrefix`/`trailerPrefix` name the upstream metadata as headers (MetadataMapper.outgoing).
   */
  write(
    res: ServerResponse,
    status: number,
    block: HeaderBlock,
    headers: Metadata,
    headerPrefix: string,
    trailers: Metadata,
    trailerPrefix: string,
    body: string | Uint8Array,
  ): boolean {
    if (
      !this.enabled ||
      !res.shouldKeepAlive ||
      (res as { maxRequestsOnConnectionReached?: boolean }).maxRequestsOnConnectionReached ||
      !res.sendDate ||
      res.headersSent
    )
      return false;
    if (res.req.method === 'HEAD' || !(res instanceof ServerResponse) || res.req.httpVersionMajor !== 1) return false;
    let head = block.statusLine;
    const own = outHeaders(res);
    if (own === undefined) return false;
    if (own !== null) {
      for (const key in own) {
        if (SPECIAL.has(key)) return false;
        const entry = own[key];
        const value = entry[1];
        if (typeof value === 'string') head += `${entry[0]}: ${value}\r\n`;
        else if (typeof value === 'number') head += `${entry[0]}: ${value}\r\n`;
        else return false;
      }
    }
    if (headers.length > 0) {
      const more = metadataLines(res, headers, headerPrefix);
      if (more === undefined) return false;
      head += more;
    }
    if (trailers.length > 0) {
      const more = metadataLines(res, trailers, trailerPrefix);
      if (more === undefined) return false;
      head += more;
    }
    const bodyBytes = typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
    head += block.typeAndLength + bodyBytes + '\r\n' + this.dateAndConnection();
    const headBytes = head.length;
    const out = Buffer.allocUnsafe(headBytes + bodyBytes);
    out.write(head, 0, headBytes, 'latin1');
    if (typeof body === 'string') out.write(body, headBytes, bodyBytes, 'utf8');
    else out.set(body, headBytes);
    res.statusCode = status;
    // What writeHead would leave behind: the header text, already part of the bytes below.
    const internal = res as unknown as { _header: string; _headerSent: boolean };
    internal._header = head;
    internal._headerSent = true;
    if (out.byteLength < FREE_AFTER_WRITE) {
      res.end(out);
      return true;
    }
    // A large answer's memory goes back once the socket has taken it ('finish'), not when the
    // collector next reaches it: see pipeline/free-now.ts. Small ones are left to the GC (a
    // listener per response costs more than it saves).
    res.end(out, (err?: Error | null) => err || freeNow(out));
    return true;
  }

  /** `Date: …\r\nConnection: keep-alive\r\nKeep-Alive: timeout=N\r\n\r\n`, as node writes them; Date changes once a second. */
  private dateAndConnection(): string {
    const now = Date.now();
    const second = Math.floor(now / 1000);
    const timeout = this.server.keepAliveTimeout;
    const max = ~~this.server.maxRequestsPerSocket!;
    if (second !== this.dateSecond || timeout !== this.keepAliveTimeout || max !== this.keepAliveMax) {
      if (timeout !== this.keepAliveTimeout || max !== this.keepAliveMax) {
        this.keepAliveLines =
          timeout > 0
            ? `Connection: keep-alive\r\nKeep-Alive: timeout=${Math.floor(timeout / 1000)}${max > 0 ? `, max=${max}` : ''}\r\n`
            : 'Connection: keep-alive\r\n';
        this.keepAliveTimeout = timeout;
        this.keepAliveMax = max;
      }
      this.dateSecond = second;
      this.tail = `Date: ${new Date(second * 1000).toUTCString()}\r\n${this.keepAliveLines}\r\n`;
    }
    return this.tail;
  }
}

/** Upstream metadata as header lines (MetadataMapper.outgoing's names and values); undefined when node's path must decide. */
function metadataLines(res: ServerResponse, md: Metadata, prefix: string): string | undefined {
  let lines = '';
  for (const [name, value] of md) {
    const header = prefix + name;
    // A name a hook already set would replace it on node's path: leave that merge to node.
    if (SPECIAL.has(header) || !TOKEN.test(header) || res.hasHeader(header)) return undefined;
    const text = typeof value === 'string' ? value : Buffer.from(value).toString('base64');
    if (INVALID_VALUE.test(text)) return undefined;
    lines += `${header}: ${text}\r\n`;
  }
  return lines;
}

type OutHeaders = Record<string, [name: string, value: string | number | string[]]>;

// node keeps the headers set with setHeader under a symbol (lowercased key -> [name as given, value]).
let kOutHeaders: symbol | null | undefined;

/** The headers hooks set on `res` (null: none), or undefined when they cannot be read here. */
function outHeaders(res: ServerResponse): OutHeaders | null | undefined {
  if (kOutHeaders === undefined) kOutHeaders = Object.getOwnPropertySymbols(res).find((s) => s.description === 'kOutHeaders') ?? null;
  if (kOutHeaders === null) return undefined;
  return (res as unknown as Record<symbol, OutHeaders | null>)[kOutHeaders];
}

/** A Fastify scope's hook lists by kind (Fastify keeps them under a symbol), or undefined when they cannot be read. */
export function fastifyHooks(app: object): Record<string, unknown[]> | undefined {
  const key = Object.getOwnPropertySymbols(app).find((s) => s.description === 'fastify.hooks');
  const hooks = key === undefined ? undefined : (app as Record<symbol, Record<string, unknown[]> | undefined>)[key];
  return typeof hooks === 'object' && hooks !== null ? hooks : undefined;
}

/**
 * Whether `app`'s scope has onSend or preSerialization hooks; true when they cannot be read,
 * so their absence is never assumed.
 */
export function hasReplyHooks(app: object): boolean {
  const hooks = fastifyHooks(app);
  if (!Array.isArray(hooks?.onSend) || !Array.isArray(hooks?.preSerialization)) return true;
  return hooks.onSend.length > 0 || hooks.preSerialization.length > 0;
}
