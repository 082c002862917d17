/**
 * The unary fast path: a request whose route (matched once, in our own trie) is a unary
 * transcoded route is served straight on node's IncomingMessage/ServerResponse, without
 * Fastify's router, Request/Reply objects, hook runner, content-type parser and async handler
 * wrapping (issue 16: a single process is CPU-bound, every µs per request is throughput).
 * Everything else (probes, /metrics, docs, plain HTTP routes, 404/405, OPTIONS, HEAD, streams,
 * WebSocket upgrades, custom methods) goes to Fastify's handler unchanged.
 *
 * Same work per request as Fastify's path, in Fastify's order: the request id (genReqId) and
 * its child logger; the catch-all scope's onRequest work (server limits, metrics, request log,
 * CORS, the empty Content-Type rule: the very functions the hooks call); the body read by the
 * same reader under the same limits and budget, as Fastify's content-type rules would decide;
 * the call run by the same UnaryAnswers; errors rendered by the same errorReply, and any answer
 * not written in one write sent as Fastify's reply.send would (same header fields, same order).
 * Keep-alive, pipelining, 'finish' and 'close' stay node's own.
 *
 * Requests whose handling is not worth mirroring go to Fastify: the server closing
 * (return503OnClosing), `TE: trailers`, a path with a percent-escape (Fastify's router
 * answers a bad one), a content type other than none or exactly `application/json`, an
 * `Upgrade`, routes answering 204/205/304. And the path turns itself off at start-up when the
 * catch-all's scope has any hook it does not account for (tracing's onRequest/onSend, or one
 * added later), so it never silently skips one.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { CorsStart } from '../edge/cors';
import type { RequestLogStart } from '../observability/request-log';
import { requestId } from '../observability/request-log';
import type { Route, RouteTable } from '../transcode';
import type { MetadataMapper } from '../upstream/metadata';
import { Cancellation } from '../upstream/transport';
import { dropEmptyContentType, type BodyReader } from './body-reader';
import { requestCall } from './request-call';
import type { RequestTimeouts } from './request-timeout';
import type { RequestLimits } from './server-limits';
import { NO_BODY_STATUSES, type Answer, type UnaryAnswers } from './unary-answer';
import { fastifyHooks } from './unary-writer';

/** The per-request work of the catch-all scope's onRequest hooks, in the order Fastify runs them. */
export interface RequestStarts {
  /** server-limits.ts (root): body timeout watch, security headers. */
  readonly limits: RequestLimits;
  /** observability/metrics.ts: latency, count, in flight. */
  readonly metrics: (method: string, headers: object, res: ServerResponse) => void;
  /** observability/request-log.ts: x-request-id, the "request completed" line. */
  readonly log: RequestLogStart;
  /** edge/cors.ts, when CORS is on. */
  readonly cors: CorsStart | undefined;
}

export interface UnaryFastPathOptions {
  readonly table: RouteTable;
  readonly metadata: MetadataMapper;
  readonly reader: BodyReader;
  readonly answers: UnaryAnswers;
  readonly starts: RequestStarts;
  /** Fastify's root logger: each request logs through its child `{ reqId }`, as Fastify's request.log. */
  readonly log: FastifyBaseLogger;
}

/** Hooks of the catch-all's scope the fast path accounts for beyond `starts`, by kind (the plugin's own, @fastify/websocket's). */
export type KnownHooks = Readonly<Record<string, number>>;

// Fastify's bodyless and body-carrying methods the transcoded routes use; HEAD (no body in the
// answer), OPTIONS (preflights) and custom methods go to Fastify.
const BODYLESS = new Set(['GET']);
const WITH_BODY = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const JSON_TYPE = 'application/json';
// find-my-way's maxParamLength for the catch-all (app.ts): past it Fastify takes another way to the same handler.
const MAX_URL = 64 * 1024;
const SLASH = 47;

/** Serves unary transcoded requests without Fastify; see the file comment. */
export class UnaryFastPath {
  /** Requests this path served (tests: proof it is taken). */
  served = 0;
  private enabled = false;
  private state: { readonly closing: boolean } | undefined;
  private requestTimeouts: RequestTimeouts | undefined;

  constructor(private readonly options: UnaryFastPathOptions) {}

  /**
   * Turns the path on for `scope` (the catch-all's Fastify scope, once ready: its hooks are
   * final) unless it has hooks beyond `starts` and `known`, and puts it in front of Fastify's
   * handler on the server. Returns why it stays off, if it does.
   */
  enable(scope: FastifyInstance, known: KnownHooks, requestTimeouts: RequestTimeouts | undefined): string | undefined {
    const { starts } = this.options;
    const expected: Record<string, number> = { onRequest: 3 + (starts.cors ? 1 : 0) };
    for (const kind in known) expected[kind] = (expected[kind] ?? 0) + known[kind];
    const hooks = fastifyHooks(scope);
    if (hooks === undefined) return 'the scope hooks cannot be read';
    for (const kind in hooks) {
      const n = Array.isArray(hooks[kind]) ? hooks[kind].length : 0;
      // Application hooks (onReady, onClose, preClose…) do not run per request.
      if (APPLICATION_HOOKS.has(kind) || n === (expected[kind] ?? 0)) continue;
      return `its scope has ${n} ${kind} hook(s), the fast path runs ${expected[kind] ?? 0}`;
    }
    if (!this.options.answers.writer.enabled) return 'unary answers go through reply.send';
    this.state = fastifyState(scope);
    if (this.state === undefined) return "Fastify's state cannot be read";
    this.requestTimeouts = requestTimeouts;
    const why = takeRequests(scope.server, this);
    if (why !== undefined) return why;
    this.enabled = true;
    return undefined;
  }

  /** Sends every request to Fastify from now on (tests compare answers with and without the fast path). */
  disable(): void {
    this.enabled = false;
  }

  /** Serves `req` when it is a unary transcoded request this path answers; false: Fastify's handler must. */
  serve(req: IncomingMessage, res: ServerResponse): boolean {
    if (!this.enabled || this.state!.closing) return false;
    const method = req.method!;
    const bodyless = BODYLESS.has(method);
    if (!bodyless && !WITH_BODY.has(method)) return false;
    const url = req.url!;
    if (url.charCodeAt(0) !== SLASH || url.length > MAX_URL) return false;
    const headers = req.headers;
    const type = headers['content-type'];
    if ((type !== undefined && type !== '' && type !== JSON_TYPE) || headers.te !== undefined || headers.upgrade !== undefined) return false;
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    if (path.includes('%')) return false;
    const match = this.options.table.trie.match(method, path);
    if (match.kind !== 'match') return false;
    const route = match.value;
    if (route.rpc.kind !== 'unary' || NO_BODY_STATUSES.has(route.rpc.policy.successStatus)) return false;

    // Ours from here: what Fastify's route handler does, then the scope's onRequest hooks.
    this.served++;
    const id = requestId(req);
    const log = this.options.log.child({ reqId: id }, {});
    const { starts } = this.options;
    starts.limits(req, res);
    starts.metrics(method, headers, res);
    starts.log({ id, log, method, headers }, res);
    starts.cors?.(method, headers, url, res);
    dropEmptyContentType(headers);
    const values = match.bindings.map((b) => b[1]);
    const rawQuery = q === -1 ? '' : url.slice(q + 1);
    // Fastify's content-type rules: a GET's body is never read; no type and no body: none.
    if (bodyless || (headers['content-type'] === undefined && headers['transfer-encoding'] === undefined && noLength(headers['content-length']))) {
      void this.answer(req, res, log, route, values, rawQuery, undefined);
    } else {
      this.options.reader.parse(undefined, req, (err, body) => {
        if (err === null) void this.answer(req, res, log, route, values, rawQuery, body);
        // As Fastify's parser failure: the connection closes after the error answer.
        else writeAnswer(res, this.options.answers.error(req, log, err), true);
      });
    }
    return true;
  }

  private async answer(
    req: IncomingMessage,
    res: ServerResponse,
    log: FastifyBaseLogger,
    route: Route,
    values: readonly string[],
    rawQuery: string,
    body: Buffer | undefined,
  ): Promise<void> {
    const { answers } = this.options;
    let answer: Answer | undefined;
    try {
      // The body has arrived: the request timeout is done with it.
      this.requestTimeouts?.release(req);
      const call = requestCall(route, req, this.options.metadata, new Cancellation(), { values, rawQuery, body });
      answer = await answers.run(call, req, res, log);
    } catch (err) {
      // Thrown outside the call (as Fastify's error handler would see it): no route.
      answer = answers.error(req, log, err);
    }
    if (answer === undefined) return;
    try {
      writeAnswer(res, answer, false);
    } catch (err) {
      // A header value node refuses (Fastify's path answers it through its error handler): 500, never an unhandled rejection.
      if (res.headersSent) res.destroy();
      else writeAnswer(res, answers.error(req, log, err), false);
    }
  }
}

/** Hooks that run at start-up or shutdown, not per request. */
const APPLICATION_HOOKS = new Set(['onReady', 'onListen', 'onClose', 'preClose', 'onRoute', 'onRegister']);

function noLength(length: string | undefined): boolean {
  return length === undefined || length === '0';
}

/**
 * Sends `answer` with the header fields Fastify's reply.send would write, in its order
 * (`connection: close` first after a body that could not be read). The fast path never sends
 * trailers (TE: trailers goes to Fastify) nor a bodyless answer (those routes go to Fastify).
 */
function writeAnswer(res: ServerResponse, answer: Answer, close: boolean): void {
  const fields: Record<string, string | string[]> = close ? { connection: 'close' } : {};
  for (const name in answer.headers) replyHeader(fields, name, answer.headers[name]);
  if (answer.contentType !== undefined) fields['content-type'] = answer.contentType;
  const body = answer.body ?? '';
  fields['content-length'] = '' + Buffer.byteLength(body);
  res.writeHead(answer.status, fields);
  res.end(body);
}

/** Fastify's reply.header: lower-case names; Set-Cookie values accumulate. */
function replyHeader(fields: Record<string, string | string[]>, name: string, value: string | string[]): void {
  const key = name.toLowerCase();
  const existing = fields[key];
  if (existing !== undefined && key === 'set-cookie')
    fields[key] = [...(Array.isArray(existing) ? existing : [existing]), ...(Array.isArray(value) ? value : [value])];
  else fields[key] = Array.isArray(value) ? value.slice() : value;
}

/** Fastify's instance state (its `closing` flag: return503OnClosing answers from then on), kept under a symbol. */
function fastifyState(app: object): { readonly closing: boolean } | undefined {
  // A scope is an Object.create() of its parent: the root's state is found up the chain.
  for (let o: object | null = app; o !== null; o = Object.getPrototypeOf(o) as object | null) {
    const key = Object.getOwnPropertySymbols(o).find((s) => s.description === 'fastify.state');
    if (key === undefined) continue;
    const state = (o as Record<symbol, { closing?: unknown } | undefined>)[key];
    return typeof state?.closing === 'boolean' ? (state as { closing: boolean }) : undefined;
  }
  return undefined;
}

/**
 * Puts `fastPath` in front of Fastify's 'request' listener. Not Fastify's serverFactory: with
 * it Fastify no longer binds both addresses of `localhost`, and the server's timeouts would be
 * set up here a second time.
 */
function takeRequests(server: Server, fastPath: UnaryFastPath): string | undefined {
  const listeners = server.listeners('request');
  if (listeners.length !== 1) return `the server has ${listeners.length} request listeners`;
  const fastify = listeners[0] as (req: IncomingMessage, res: ServerResponse) => void;
  server.removeListener('request', fastify);
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (!fastPath.serve(req, res)) fastify(req, res);
  });
  return undefined;
}
