/**
 * Writes a server stream to an HTTP response. Framing follows grpc-gateway, so its clients
 * work unchanged: newline-delimited JSON with `{"result": <message>}` per line and a final
 * `{"error": <Status>}` line on failure. A client that asks for `text/event-stream` gets
 * Server-Sent Events instead: a `data:` event per message, `event: error` for a failure.
 * HttpBody streams are written raw. The HTTP status is committed when the upstream sends its
 * response headers (or the first message); a stream that fails before that (a trailers-only
 * answer) gets a plain error response with the mapped HTTP status. grpc-gateway waits for
 * the first message instead, which leaves clients of a quiet stream without any answer.
 */
import type { ServerResponse } from 'node:http';
import type { Route, StatusJson } from '../transcode';
import type { ResponseSink } from '../pipeline';
import type { CallStatus, Metadata, ResponseFlow } from '../upstream/transport';
import { errorStatusHeaders } from './status-map';

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

  constructor(
    private readonly res: ServerResponse,
    private readonly route: Route,
    private readonly framing: StreamFraming,
    private readonly hooks: StreamWriterHooks,
  ) {}

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
      if (this.framing === 'json-array') this.res.end(this.written === 0 ? '[]' : ']');
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
    });
  }
}
