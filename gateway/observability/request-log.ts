/**
 * One log line per request, when its response closes (whatever wrote it: Fastify's reply or a
 * stream writer): request id, trace id, route template, upstream method, status, duration.
 * Replaces Fastify's two lines per request (`disableRequestLogging`). The request id is the
 * client's `x-request-id` when it is a sane token (kept, echoed and forwarded upstream), else
 * one generated here; see requestId().
 */
import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { Route } from '../transcode';

const MAX_REQUEST_ID = 128;
// Printable token characters only: a request id goes into log lines and headers verbatim.
const REQUEST_ID = /^[A-Za-z0-9._:/+=@-]+$/;

/** Fastify's genReqId: the incoming x-request-id when valid (1–128 token characters), else a UUID. */
export function requestId(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  if (typeof given === 'string' && given.length > 0 && given.length <= MAX_REQUEST_ID && REQUEST_ID.test(given)) return given;
  return randomUUID();
}

/** What the log line needs of a request: Fastify's request has it, and so does the unary fast path's. */
export interface LoggedRequest {
  readonly id: string;
  readonly log: { info(obj: object, msg: string): void };
  readonly method: string;
  readonly headers: IncomingHttpHeaders;
}

/** A request's start: its id echoed (and forwarded), its line written when `res` closes. */
export type RequestLogStart = (request: LoggedRequest, res: ServerResponse) => void;

interface Pending {
  readonly request: LoggedRequest;
  readonly start: bigint;
}

const pending = new WeakMap<ServerResponse, Pending>();

/**
 * Hooks for the scope of the transcoding routes. `routeOf` gives the route a request matched
 * (undefined for a 404/405); the trace id is the one the tracing hooks returned, else the
 * incoming traceparent's. Returns the per-request part the hook runs.
 */
export function requestLog(
  scope: FastifyInstance,
  routeOf: (headers: object) => Route | undefined,
  templateOf?: (headers: object) => string | undefined,
): RequestLogStart {
  function onClose(this: ServerResponse): void {
    const p = pending.get(this);
    if (p === undefined) return;
    pending.delete(this);
    const { request } = p;
    const route = routeOf(request.headers);
    const traceId = (this.getHeader('x-trace-id') as string | undefined) ?? incomingTraceId(request.headers.traceparent);
    request.log.info(
      {
        traceId,
        method: request.method,
        route: route?.binding.path ?? templateOf?.(request.headers),
        rpc: route?.rpc.grpcPath,
        statusCode: this.statusCode,
        durationMs: Math.round(Number(process.hrtime.bigint() - p.start) / 1e4) / 100,
        ...(this.writableFinished ? {} : { aborted: true }),
      },
      'request completed',
    );
  }
  const start: RequestLogStart = (request, res) => {
    // Echoed, and forwarded upstream as the same value (x-request-id is a forwarded header).
    request.headers['x-request-id'] = request.id;
    res.setHeader('x-request-id', request.id);
    pending.set(res, { request, start: process.hrtime.bigint() });
    res.once('close', onClose);
  };
  scope.addHook('onRequest', (request, reply, done) => {
    start(request, reply.raw);
    done();
  });
  return start;
}

/** The trace-id field of a W3C traceparent (`00-<32 hex>-<16 hex>-<2 hex>`), if it is one. */
function incomingTraceId(traceparent: string | string[] | undefined): string | undefined {
  if (typeof traceparent !== 'string' || traceparent.length < 55) return undefined;
  const id = traceparent.slice(3, 35);
  return /^[0-9a-f]{32}$/.test(id) && id !== '0'.repeat(32) ? id : undefined;
}
