/**
 * A unary answer (unary and client-streaming routes): the call run through its pipeline, then
 * its result or error as HTTP. Shared by the two adapters that serve unary answers, the Fastify
 * plugin (transcoding-plugin.ts) and the unary fast path (unary-fast-path.ts), so both answer
 * alike: a success goes out in one write where it can (unary-writer.ts); anything else comes
 * back as an `Answer` (status, header fields, body, trailers) that each adapter sends its way.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Registry } from '@bufbuild/protobuf';
import type { Call, Handler } from '../pipeline';
import type { Route } from '../transcode';
import type { MetadataMapper } from '../upstream/metadata';
import type { Cancellation, Metadata, UnaryResult } from '../upstream/transport';
import { errorReply } from './error-reply';
import { acceptsTrailers } from './stream-writer';
import { headerBlock, UnaryWriter, type HeaderBlock } from './unary-writer';

/** An answer to send as Fastify's `reply.code(status).headers(headers).send(body)` would. */
export interface Answer {
  readonly status: number;
  /** Header fields; `contentType` is added after them (after any trailer refused as one, see `trailers`). */
  readonly headers: Record<string, string | string[]>;
  readonly contentType: string | undefined;
  /** None for 204, 205 and 304. */
  readonly body: string | Buffer | undefined;
  /** Upstream trailers to send as HTTP trailers (the client sent `TE: trailers`), by field name. */
  readonly trailers: Record<string, string | string[]> | undefined;
}

interface Logger {
  error(obj: unknown, msg?: string): void;
  warn(obj: unknown, msg?: string): void;
}

export const NO_BODY_STATUSES: ReadonlySet<number> = new Set([204, 205, 304]);
const JSON_TYPE = 'application/json';

/** One per server: each route's compiled header block and the one-write writer. */
export class UnaryAnswers {
  /** The one-write writer; its `enabled` is false while reply hooks (onSend) need Fastify's path. */
  readonly writer: UnaryWriter;
  private readonly jsonBlocks = new Map<Route, HeaderBlock>();

  constructor(
    server: Server,
    routes: readonly Route[],
    private readonly handlers: ReadonlyMap<Route, Handler>,
    private readonly metadata: MetadataMapper,
    private readonly registry: Registry,
  ) {
    this.writer = new UnaryWriter(server);
    // Each route's status line and JSON content type compiled once.
    for (const route of routes) {
      const block = headerBlock(route.rpc.policy.successStatus, JSON_TYPE);
      if (block) this.jsonBlocks.set(route, block);
    }
  }

  /**
   * Runs `call` (cancelled if the client goes away first) and answers it: undefined when the
   * answer was written already, else the answer to send. `errorOf` may substitute the error a
   * failed call is answered with (a stream's idle timeout).
   */
  async run(call: Call, req: IncomingMessage, res: ServerResponse, log: Logger, errorOf?: (err: unknown) => unknown): Promise<Answer | undefined> {
    cancelOnEarlyClose(res, call.signal as Cancellation);
    let result: UnaryResult;
    try {
      result = (await this.handlers.get(call.route)!(call)) as UnaryResult;
    } catch (err) {
      return this.error(req, log, errorOf === undefined ? err : errorOf(err), call.route);
    }
    return this.success(req, res, call.route, result);
  }

  /** The answer to anything thrown on a request's path, as errorReply maps it. */
  error(req: IncomingMessage, log: Logger, err: unknown, route?: Route): Answer {
    const r = errorReply(err, this.registry, log, route?.rpc.service);
    const headers: Record<string, string | string[]> = { ...r.headers, 'content-type': JSON_TYPE };
    const trailing = trailersAsFields(req, r.httpStatus, r.upstreamTrailers);
    this.metadata.outgoing(r.upstreamHeaders, trailing ? [] : r.upstreamTrailers, headers);
    const trailers = trailing ? this.trailerFields(r.upstreamTrailers) : undefined;
    return { status: r.httpStatus, headers, contentType: undefined, body: JSON.stringify(r.status), trailers };
  }

  private success(req: IncomingMessage, res: ServerResponse, route: Route, result: UnaryResult): Answer | undefined {
    // A direct-codec body is a view of the codec's buffer: written (or copied, below) at once.
    const rendered = route.response.renderNow(result.message);
    const status = route.rpc.policy.successStatus;
    // TE: trailers: the upstream's trailers after the body, chunked, by the adapter.
    const trailing = trailersAsFields(req, status, result.trailers);
    if (!NO_BODY_STATUSES.has(status) && !trailing) {
      // One write with the route's compiled header block (unary-writer.ts); false: as below.
      const block = rendered.contentType === JSON_TYPE ? this.jsonBlocks.get(route) : this.writer.blockFor(status, rendered.contentType);
      const { responsePrefix, trailerPrefix } = this.metadata;
      if (block && this.writer.write(res, status, block, result.headers, responsePrefix, result.trailers, trailerPrefix, rendered.body)) return undefined;
    }
    const headers: Record<string, string | string[]> = {};
    this.metadata.outgoing(result.headers, trailing ? [] : result.trailers, headers);
    const trailers = trailing ? this.trailerFields(result.trailers) : undefined;
    if (NO_BODY_STATUSES.has(status)) return { status, headers, contentType: undefined, body: undefined, trailers };
    const body = typeof rendered.body === 'string' ? rendered.body : Buffer.from(rendered.body);
    return { status, headers, contentType: rendered.contentType, body, trailers };
  }

  /** Upstream trailers under the trailer prefix; a repeated key is one field, its values joined by `, ` (RFC 9110 §5.3). */
  private trailerFields(trailers: Metadata): Record<string, string | string[]> {
    const fields: Record<string, string | string[]> = {};
    this.metadata.outgoing([], trailers, fields);
    return fields;
  }
}

/**
 * Whether a unary answer's upstream trailers go as real HTTP/1.1 trailers rather than headers:
 * the client sent `TE: trailers` (acceptsTrailers), there are some, and the answer has a body
 * for them to follow. grpc-gateway does the same (ForwardResponseMessage and its error
 * handler: declared in `Trailer`, sent after a chunked body, under its trailer prefix).
 */
function trailersAsFields(req: IncomingMessage, status: number, trailers: Metadata): boolean {
  return trailers.length > 0 && !NO_BODY_STATUSES.has(status) && req.method !== 'HEAD' && acceptsTrailers(req);
}

/**
 * A client that goes away before its answer is written cancels the upstream call. A closure
 * per request: a WeakMap entry keyed by a fresh response costs ~1-2 µs here, a closure ~60 ns
 * (the same trade as metrics.ts and request-log.ts).
 */
export function cancelOnEarlyClose(res: ServerResponse, cancellation: Cancellation): void {
  res.on('close', () => {
    if (!res.writableFinished) cancellation.abort();
  });
}
