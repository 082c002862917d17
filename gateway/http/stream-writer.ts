/**
 * Writes a server stream to an HTTP response. Framing follows grpc-gateway, so its clients
 * work unchanged: newline-delimited JSON with `{"result": <message>}` per line and a final
 * `{"error": <Status>}` line on failure. A client that asks for `text/event-stream` gets
 * Server-Sent Events instead: a `data:` event per message, `event: error` for a failure.
 * HttpBody streams are written raw. The HTTP status is committed when the upstream sends its
 * response headers (or the first message); a stream that fails before that (a trailers-only
 * answer) gets a plain error response with the mapped HTTP status. grpc-gateway waits for
 * the first message instead, which leaves clients of a quiet stream without any answer.
 *
 * SSE streams open with a `retry:` advice and, while open, get a `: keep-alive` comment every
 * hooks.sseKeepAliveMs. EventSource can neither send `TE: trailers` nor read trailers, and it
 * reconnects (re-running the call) when a stream just ends: so an SSE stream that ends OK ends
 * with `event: end`, its data `{"trailers": {…}}` (the trailing metadata under the trailer
 * prefix); the client closes its EventSource on it. EventSource delivers a named event only to
 * its listeners, so clients that do not listen for it see nothing new. A request with `TE: trailers` over HTTP/1.1 gets its NDJSON stream's
 * end as real HTTP trailers too, as grpc-gateway sends them: `Grpc-Status`, `Grpc-Message`
 * (declared up front in `Trailer:`) and the upstream's trailing metadata under the trailer
 * prefix (not declared: its names are only known at the end; the `Trailer` header is advisory).
 * Unary answers send their trailing metadata as trailers too (transcoding-plugin.ts, trailersAsFields).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Route, StatusJson } from '../transcode';
import type { ResponseSink } from '../pipeline';
import type { CallStatus, Metadata, ResponseFlow } from '../upstream/transport';
import { errorStatusHeaders } from './status-map';
import { encodeGrpcMessage } from '../upstream/h2';

/**
 * How a stream is framed on the wire: `ndjson` (ours), `ndjson-json` (the same lines under
 * `content-type: application/json`, as grpc-gateway's JSON marshaler labels them),
 * `json-array` (Envoy's transcoder: `[msg,msg]`; a failure after the first byte cuts the
 * connection, since an array has no place for it), `sse`, or `raw` (HttpBody).
 */
export type StreamFraming = 'ndjson' | 'ndjson-json' | 'json-array' | 'sse' | 'raw';

/** The configurable default framing of JSON streams (config `streamFormat`). */
export type StreamFormat = 'ndjson' | 'ndjson-json' | 'json-array';

/** Picks the framing from the route, the Accept header and the configured default. */
export function streamFraming(route: Route, accept: string | undefined, format: StreamFormat = 'ndjson'): StreamFraming {
  if (route.response.raw) return 'raw';
  return accept !== undefined && accept.includes('text/event-stream') ? 'sse' : format;
}

/**
 * Whether the client takes HTTP trailers: `TE` lists the token `trailers` (grpc-gateway's
 * requestAcceptsTrailers) and the response can be chunked (HTTP/1.1; 1.0 has no trailers).
 */
export function acceptsTrailers(req: IncomingMessage): boolean {
  if (req.httpVersionMajor !== 1 || req.httpVersionMinor < 1) return false;
  const te = req.headers.te;
  if (te === undefined) return false;
  return (Array.isArray(te) ? te.join(',') : te).split(',').some((t) => t.split(';')[0].trim().toLowerCase() === 'trailers');
}

const CONTENT_TYPES: Record<Exclude<StreamFraming, 'raw'>, string> = {
  ndjson: 'application/x-ndjson',
  'ndjson-json': 'application/json',
  'json-array': 'application/json',
  sse: 'text/event-stream',
};

/** The callbacks the stream writer needs from the HTTP adapter. */
export interface StreamWriterHooks {
  /** Response headers to add for upstream headers/trailers. */
  metadataHeaders(headers: Metadata, trailers: Metadata): Record<string, string | string[]>;
  /** Status JSON and HTTP status for a failed end. */
  failure(status: CallStatus): { httpStatus: number; body: StatusJson };
  /**
   * Bytes the response may hold unsent (in Node's buffers, beyond what the socket took)
   * before the upstream is paused until the client has read them (config streamBufferBytes).
   */
  readonly bufferBytes: number;
  /** Interval of SSE `: keep-alive` comments (config limits.sseKeepAliveMs); 0 = none. */
  readonly sseKeepAliveMs?: number;
  /** The `retry:` advice at the start of an SSE stream (config limits.sseRetryMs); 0 = none. */
  readonly sseRetryMs?: number;
  /** The client sent `TE: trailers` (acceptsTrailers): NDJSON streams end with HTTP trailers. */
  readonly trailers?: boolean;
  /** The stream's idle clock (stream-idle.ts): each upstream message touches it, keep-alive comments do not. */
  readonly idle?: { touch(): void };
}

/**
 * A response sink that writes to `res` with the given framing. Backpressure: once `res`
 * holds more than hooks.bufferBytes unsent, onMessage answers false (the transport pauses
 * the upstream: no HTTP/2 window goes back) and 'drain' resumes it.
 */
export class StreamWriter implements ResponseSink {
  private headers: Metadata = [];
  private started = false;
  private written = 0;
  private flow: ResponseFlow | null = null;
  private paused = false;
  private keepAlive: NodeJS.Timeout | undefined;
  private readonly trailers: boolean;

  constructor(
    private readonly res: ServerResponse,
    private readonly route: Route,
    private readonly framing: StreamFraming,
    private readonly hooks: StreamWriterHooks,
  ) {
    this.trailers = hooks.trailers === true && (framing === 'ndjson' || framing === 'ndjson-json');
  }

  onFlow(flow: ResponseFlow): void {
    this.flow = flow;
  }

  onHeaders(headers: Metadata): void {
    this.headers = headers;
    // The upstream accepted the call: commit the 200 now, so a client of a quiet stream (a
    // watch) knows it is subscribed. Raw bodies wait for the first message's content type.
    if (this.framing !== 'raw' && !this.res.destroyed) {
      this.start(undefined);
      (this.res as ServerResponse & { flushHeaders(): void }).flushHeaders();
    }
  }

  onMessage(message: Uint8Array): boolean {
    // Ended already (failWith at shutdown) while the upstream call was still being cancelled.
    if (this.res.destroyed || this.res.writableEnded) return true;
    this.hooks.idle?.touch();
    let rendered;
    try {
      rendered = this.route.response.render(message);
    } catch (err) {
      this.fail({ code: 13, message: (err as Error).message, trailers: [] });
      return true;
    }
    this.start(rendered.contentType);
    let room: boolean;
    if (this.framing === 'raw') room = this.res.write(rendered.body);
    else if (this.framing === 'sse') room = this.res.write(`data: ${rendered.body as string}\n\n`);
    else if (this.framing === 'json-array') room = this.res.write(`${this.written === 0 ? '[' : ','}${rendered.body as string}`);
    else room = this.res.write(`{"result":${rendered.body as string}}\n`);
    this.written++;
    // write() says false past the socket's high-water mark; 'drain' follows once it is all out.
    if (room || this.res.writableLength < this.hooks.bufferBytes || this.flow === null) return true;
    if (!this.paused) {
      this.paused = true;
      this.res.once('drain', () => {
        this.paused = false;
        this.flow?.resume();
      });
    }
    return false;
  }

  onEnd(status: CallStatus): void {
    if (this.res.destroyed || this.res.writableEnded) return;
    if (status.code === 0) {
      this.start(undefined);
      this.stopKeepAlive();
      this.addTrailers(0, '', status.trailers);
      if (this.framing === 'json-array') this.res.end(this.written === 0 ? '[]' : ']');
      else if (this.framing === 'sse') this.res.end(sseEnd(this.hooks.metadataHeaders([], status.trailers)));
      else this.res.end();
      return;
    }
    this.fail(status);
  }

  /**
   * Ends with an error the gateway raised before or during the stream: a plain error
   * response when nothing was written yet, else an error frame.
   */
  failWith(httpStatus: number, headers: Readonly<Record<string, string>>, body: StatusJson): void {
    if (this.res.destroyed || this.res.writableEnded) return;
    this.end(httpStatus, body, headers, []);
  }

  private fail(status: CallStatus): void {
    const { httpStatus, body } = this.hooks.failure(status);
    this.end(httpStatus, body, {}, status.trailers);
  }

  private end(httpStatus: number, body: StatusJson, extraHeaders: Readonly<Record<string, string>>, trailers: Metadata): void {
    const json = JSON.stringify(body);
    this.stopKeepAlive();
    if (!this.started) {
      this.res.writeHead(httpStatus, {
        ...this.hooks.metadataHeaders(this.headers, trailers),
        ...errorStatusHeaders(httpStatus),
        ...extraHeaders,
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(json),
      });
      this.res.end(json);
      return;
    }
    this.addTrailers(body.code, body.message, trailers);
    if (this.framing === 'sse') this.res.end(`event: error\ndata: ${json}\n\n`);
    else if (this.framing === 'ndjson' || this.framing === 'ndjson-json') this.res.end(`{"error":${json}}\n`);
    else this.res.destroy(); // a raw body cannot carry a status: cut it so the client sees a failure
    this.started = true;
  }

  private start(rawContentType: string | undefined): void {
    if (this.started) return;
    this.started = true;
    const contentType = this.framing === 'raw' ? (rawContentType ?? 'application/octet-stream') : CONTENT_TYPES[this.framing];
    this.res.writeHead(200, {
      ...this.hooks.metadataHeaders(this.headers, []),
      'content-type': contentType,
      'cache-control': 'no-cache',
      ...(this.framing === 'sse' ? { 'x-accel-buffering': 'no' } : {}),
      ...(this.trailers ? { trailer: 'grpc-status, grpc-message' } : {}),
    });
    if (this.framing === 'sse') this.startSse();
  }

  private startSse(): void {
    const retry = this.hooks.sseRetryMs ?? 0;
    if (retry > 0) this.res.write(`retry: ${retry}\n\n`);
    const every = this.hooks.sseKeepAliveMs ?? 0;
    if (every <= 0) return;
    this.keepAlive = setInterval(() => {
      if (this.res.destroyed || this.res.writableEnded) this.stopKeepAlive();
      // A reader that is behind has bytes coming already: no comment on top of them.
      else if (this.res.writableLength === 0) this.res.write(': keep-alive\n\n');
    }, every).unref();
    this.res.once('close', () => this.stopKeepAlive());
  }

  private stopKeepAlive(): void {
    if (this.keepAlive === undefined) return;
    clearInterval(this.keepAlive);
    this.keepAlive = undefined;
  }

  /** The call's end as HTTP trailers, when the client asked for them (TE: trailers). */
  private addTrailers(code: number, message: string, metadata: Metadata): void {
    if (!this.trailers) return;
    this.res.addTrailers({
      ...this.hooks.metadataHeaders([], metadata),
      'grpc-status': String(code),
      'grpc-message': encodeGrpcMessage(message),
    });
  }
}

/** The `event: end` of an OK SSE stream: the trailing metadata by their lowercased header names, as HTTP clients read trailers. */
function sseEnd(fields: Record<string, string | string[]>): string {
  const trailers: Record<string, string | string[]> = {};
  for (const name in fields) trailers[name.toLowerCase()] = fields[name];
  return `event: end\ndata: ${JSON.stringify({ trailers })}\n\n`;
}
