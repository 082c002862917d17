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
  // Fastify's null logger (`logger: false`) and its children share one no-op `info`.
  const silent = logsInfo(scope.log) ? undefined : scope.log.info;
  const completed = (res: ServerResponse, request: LoggedRequest, start: number): void => {
    const route = routeOf(request.headers);
    const traceId = (res.getHeader('x-trace-id') as string | undefined) ?? incomingTraceId(request.headers.traceparent);
    request.log.info(
      {
        traceId,
        method: request.method,
        route: route?.binding.path ?? templateOf?.(request.headers),
        rpc: route?.rpc.grpcPath,
        statusCode: res.statusCode,
        durationMs: Math.round((performance.now() - start) * 100) / 100,
        ...(res.writableFinished ? {} : { aborted: true }),
      },
      'request completed',
    );
  };
  const start: RequestLogStart = (request, res) => {
    // Echoed, and forwarded upstream as the same value (x-request-id is a forwarded header).
    request.headers['x-request-id'] = request.id;
    res.setHeader('x-request-id', request.id);
    // A closure per request, not a WeakMap entry (~1 µs each, see observability/metrics.ts);
    // none at all when the line would be dropped (logging off, or above info).
    if (request.log.info !== silent && logsInfo(request.log)) {
      const began = performance.now();
      res.on('close', function (this: ServerResponse) {
        completed(this, request, began);
      });
    }
  };
  scope.addHook('onRequest', (request, reply, done) => {
    start(request, reply.raw);
    done();
  });
  return start;
}

/**
 * Whether `log` writes info lines: pino says so (isLevelEnabled); Fastify's null logger
 * (`logger: false`) has no level and drops everything: its methods are abstract-logging's `noop`.
 */
function logsInfo(log: LoggedRequest['log']): boolean {
  const l = log as { isLevelEnabled?: (level: string) => boolean; info: { name: string } };
  if (typeof l.isLevelEnabled === 'function') return l.isLevelEnabled('info');
  return l.info.name !== 'noop';
}

/** The trace-id field of a W3C traceparent (`00-<32 hex>-<16 hex>-<2 hex>`), if it is one. */
function incomingTraceId(traceparent: string | string[] | undefined): string | undefined {
  if (typeof traceparent !== 'string' || traceparent.length < 55) return undefined;
  const id = traceparent.slice(3, 35);
  return /^[0-9a-f]{32}$/.test(id) && id !== '0'.repeat(32) ? id : undefined;
}
