/**
 * The Fastify adapter, as an encapsulated plugin (`app.register(transcodingPlugin, …)`):
 * it turns an HTTP request into a pipeline Call and the Result back into HTTP, nothing
 * more. Its body parsers (bytes for every type), error handler, not-found handler and `/*`
 * catch-all live in its own scope, so ordinary routes (/healthz, /readyz, /metrics…)
 * registered on the root instance keep Fastify's defaults and win over the catch-all
 * (find-my-way prefers static paths to wildcards). The transcoding core never sees
 * Fastify; this file never parses JSON, walks descriptors or applies a policy.
 */
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { WebsocketHandler } from '@fastify/websocket';
import type { Registry } from '@bufbuild/protobuf';
import { MessageSource, type Handler } from '../pipeline';
import { GatewayError, upstreamStatusJson, type MatchResult, type Route, type RouteTable } from '../transcode';
import type { MetadataMapper } from '../upstream/metadata';
import { gatewayFailure } from '../upstream/upstream-failure';
import { Cancellation, type CallStatus, type Metadata } from '../upstream/transport';
import { dropEmptyContentType, type BodyReader } from './body-reader';
import { readNdjson } from './ndjson-reader';
import { errorReply } from './error-reply';
import { warnSummarized } from '../observability/failure-summary';
import { httpStatusFromCode } from './status-map';
import { StreamSlots } from './stream-slots';
import { requestTimeoutsOf } from './request-timeout';
import { closeAfterAnswer, idleTimeoutError, idleTimer, type IdleTimer } from './stream-idle';
import { acceptsTrailers, StreamWriter, streamFraming, type StreamFormat } from './stream-writer';
import { requestCall } from './request-call';
import { cancelOnEarlyClose, type Answer, type UnaryAnswers } from './unary-answer';
import type { UnaryFastPath } from './unary-fast-path';
import { hasReplyHooks } from './unary-writer';
import { gatewayStatusJson } from '../transcode';

export interface TranscodingOptions {
  readonly table: RouteTable;
  readonly registry: Registry;
  readonly metadata: MetadataMapper;
  readonly bodyLimit: number;
  /** Reads request bodies under bodyLimit and maxBufferedBodyBytes; shared with the unary fast path (one budget). */
  readonly reader: BodyReader;
  /** Runs unary calls and renders their answers; shared with the unary fast path. */
  readonly answers: UnaryAnswers;
  /** Open streams (server, client, bidi) per client address at once; beyond it 429 TOO_MANY_STREAMS. */
  readonly maxStreamsPerClient: number;
  /** The stream counter (per client and total), when shared with another adapter (WebSocket); else one of its own. */
  readonly streamSlots?: StreamSlots;
  /** Each route's compiled pipeline (compileRouteHandlers), ending in its upstream call. */
  readonly handlers: ReadonlyMap<Route, Handler>;
  /** Unsent response bytes a stream may hold before its upstream is paused (config streamBufferBytes). */
  readonly streamBufferBytes: number;
  /** Framing of JSON server streams when the client does not ask for SSE (config `streamFormat`). */
  readonly streamFormat?: StreamFormat;
  /** SSE `: keep-alive` comment interval, 0 = none (config `limits.sseKeepAliveMs`). */
  readonly sseKeepAliveMs?: number;
  /** SSE `retry:` advice in ms (config `limits.sseRetryMs`). */
  readonly sseRetryMs?: number;
  /** A stream with no message either way for this long ends STREAM_IDLE_TIMEOUT; 0 = never (config `limits.streamIdleTimeoutMs`). */
  readonly streamIdleTimeoutMs?: number;
  /** Serves WebSocket upgrades on the GET catch-all (websocket-plugin.ts); none when WebSocket is off. */
  readonly websocketHandler?: WebsocketHandler;
  /** Serves unary requests before Fastify routes them (unary-fast-path.ts), turned on once this scope is ready. */
  readonly fastPath?: UnaryFastPath;
}

const JSON_TYPE = 'application/json';

/** The plugin: register it with `app.register(transcodingPlugin, options)`. */
export async function transcodingPlugin(app: FastifyInstance, options: TranscodingOptions): Promise<void> {
  const { table, registry, metadata, handlers } = options;

  // Bodies are read as bytes: routes decide (JSON, NDJSON, raw HttpBody), and JSON is parsed once.
  app.removeAllContentTypeParsers();
  const { reader, answers } = options;
  // A body's route is matched once, here, and the handler reuses the match (a POST used to be
  // matched twice: ~2.5% of its CPU).
  const matches = new WeakMap<object, MatchResult<Route>>();
  const matchOf = (request: FastifyRequest, path: string): MatchResult<Route> => {
    const known = matches.get(request.raw);
    return known ?? table.trie.match(request.method, path);
  };
  const parseBody = (req: FastifyRequest, payload: IncomingMessage, done: (err: Error | null, body?: unknown) => void): void => {
    const url = req.raw.url ?? '/';
    const q = url.indexOf('?');
    const match = table.trie.match(req.method, q === -1 ? url : url.slice(0, q));
    matches.set(req.raw, match);
    // Client and bidi streams read their body line by line as it arrives (ndjson-reader.ts).
    const kind = match.kind === 'match' ? match.value.rpc.kind : undefined;
    if (kind === 'client_streaming' || kind === 'bidi_streaming') return done(null, undefined);
    reader.parse(req, payload, done);
  };
  // JSON by name as well as '*': Fastify caches the parser it finds for a content type, except
  // the catch-all, which it finds again by parsing the header on every request.
  app.addContentTypeParser(JSON_TYPE, { bodyLimit: options.bodyLimit }, parseBody);
  app.addContentTypeParser('*', { bodyLimit: options.bodyLimit }, parseBody);
  for (const method of table.customMethods) {
    if (!app.supportedMethods.includes(method)) app.addHttpMethod(method, { hasBody: true });
  }

  // Bodies still being received, timed by limits.requestTimeoutMs (request-timeout.ts).
  const requestTimeouts = requestTimeoutsOf(app.server);
  // onSend and preSerialization hooks run only inside Fastify's reply.send: with any in this
  // scope (tracing's), unary answers keep going through it. Hooks are final once ready.
  app.addHook('onReady', (done) => {
    answers.writer.enabled = !hasReplyHooks(app);
    // Beyond the hooks the fast path runs itself: the empty Content-Type one below, and
    // @fastify/websocket's (they act on upgrades only, which never reach the fast path).
    const ws = options.websocketHandler === undefined ? 0 : 1;
    const off = options.fastPath?.enable(app, { onRequest: 1 + ws, onResponse: ws }, requestTimeouts);
    if (off !== undefined) app.log.info(`unary fast path off: ${off}`);
    done();
  });

  const sendError = (reply: FastifyReply, err: unknown, route?: Route): void => sendAnswer(reply, answers.error(reply.request.raw, reply.log, err, route));

  // Open streams per client address and in total, shared with the WebSocket adapter.
  const slots = options.streamSlots ?? new StreamSlots(options.maxStreamsPerClient);
  const holdStreamSlot = (client: string, reply: FastifyReply): void => {
    reply.raw.once('close', slots.acquire(client));
  };

  const handler = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    // A unary body has arrived; a streamed one is the stream idle timeout's from here.
    requestTimeouts?.release(request.raw);
    const url = request.raw.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const match = matchOf(request, path);
    if (match.kind === 'not-found') throw new GatewayError('ROUTE_NOT_FOUND', `no route for ${request.method} ${path}`);
    if (match.kind === 'method-not-allowed') {
      throw new GatewayError('METHOD_NOT_ALLOWED', `${request.method} is not allowed on ${path}`, [], { allow: match.allow.join(', ') });
    }
    const route = match.value;
    const kind = route.rpc.kind;
    const streaming = kind === 'server_streaming' || kind === 'bidi_streaming';
    const requestStreaming = kind === 'client_streaming' || kind === 'bidi_streaming';
    if (streaming || requestStreaming) holdStreamSlot(request.socket.remoteAddress ?? '', reply);
    const cancellation = new Cancellation();
    // No message either way for streamIdleTimeoutMs: the stream ends, its upstream is cancelled.
    let idleError: GatewayError | undefined;
    const idle =
      streaming || requestStreaming
        ? idleTimer(options.streamIdleTimeoutMs ?? 0, () => {
            const err = (idleError = idleTimeoutError(options.streamIdleTimeoutMs!));
            closeAfterAnswer(request.raw, reply.raw);
            if (call.sink !== undefined) (call.sink as StreamWriter).failWith(httpStatusFromCode(err.code), {}, gatewayStatusJson(err));
            cancellation.abort();
          })
        : undefined;
    if (idle !== undefined) reply.raw.once('close', () => idle.stop());
    let input: MessageSource | undefined;
    if (requestStreaming) {
      input = new MessageSource();
      readNdjson(request.raw, input, options.bodyLimit, idle);
    }
    const call = requestCall(route, request.raw, metadata, cancellation, {
      values: match.bindings.map((b) => b[1]),
      rawQuery: q === -1 ? '' : url.slice(q + 1),
      body: request.body as Buffer | undefined,
      input,
      sink: streaming ? streamWriter(reply, route, request.headers.accept, acceptsTrailers(request.raw), idle) : undefined,
    });

    if (streaming) {
      cancelOnEarlyClose(reply.raw, cancellation);
      reply.hijack();
      const writer = call.sink as StreamWriter;
      openStreams.set(writer, cancellation);
      reply.raw.once('close', () => openStreams.delete(writer));
      try {
        await handlers.get(route)!(call);
      } catch (err) {
        // Refused before the stream began (auth, open breaker, bad request): a plain error;
        // a bidi request message that fails mid-stream: an error line.
        const r = errorReply(idleError ?? err, registry, reply.log, route.rpc.service);
        (call.sink as StreamWriter).failWith(r.httpStatus, r.headers, r.status);
      } finally {
        input?.cancel();
      }
      return;
    }

    let answer: Answer | undefined;
    try {
      answer = await answers.run(call, request.raw, reply.raw, reply.log, (err) => idleError ?? err);
    } finally {
      // A call refused before it read its body: drop the rest of it.
      input?.cancel();
    }
    if (answer !== undefined) sendAnswer(reply, answer);
  };
  // Server streams being written now. At shutdown (preClose: Fastify has stopped routing and
  // is about to stop listening) each ends with UNAVAILABLE, an error frame once it started, so
  // its client reconnects rather than believe the stream complete; its upstream call is cancelled.
  const openStreams = new Map<StreamWriter, Cancellation>();
  app.addHook('preClose', (done) => {
    const err = new GatewayError('SHUTTING_DOWN', 'the gateway is shutting down; reconnect');
    const body = gatewayStatusJson(err);
    for (const [writer, cancellation] of openStreams) {
      writer.failWith(httpStatusFromCode(err.code), {}, body);
      cancellation.abort();
    }
    openStreams.clear();
    done();
  });

  const streamWriter = (reply: FastifyReply, route: Route, accept: string | undefined, trailers: boolean, idle: IdleTimer | undefined): StreamWriter =>
    new StreamWriter(reply.raw, route, streamFraming(route, accept, options.streamFormat), {
      bufferBytes: options.streamBufferBytes,
      sseKeepAliveMs: options.sseKeepAliveMs ?? 0,
      sseRetryMs: options.sseRetryMs ?? 0,
      trailers,
      idle,
      metadataHeaders: (h, t) => responseHeaders(metadata, h, t),
      failure: (s: CallStatus) => {
        const own = gatewayFailure(s, route.rpc.service);
        if (own) {
          warnSummarized(
            reply.log,
            `${route.rpc.service}|${s.code}|${s.message}|stream`,
            { service: route.rpc.service, code: s.code, cause: s.message },
            'upstream stream failed',
          );
          return { httpStatus: httpStatusFromCode(own.code), body: gatewayStatusJson(own) };
        }
        return { httpStatus: httpStatusFromCode(s.code), body: upstreamStatusJson(s.code, s.message, s.details, registry) };
      },
    });

  // An empty `Content-Type:` is no type at all (our check reads the body as JSON); Fastify
  // would answer 415 before the handler runs.
  app.addHook('onRequest', (request, _reply, done) => {
    dropEmptyContentType(request.headers);
    done();
  });
  app.setErrorHandler((err, _request, reply) => sendError(reply, err));
  app.setNotFoundHandler((request, reply) => handler(request, reply).catch((err: unknown) => sendError(reply, err)));
  const methods = app.supportedMethods as string[];
  if (options.websocketHandler === undefined) {
    app.route({ method: methods, url: '/*', handler });
  } else {
    // @fastify/websocket upgrades only on GET routes: GET gets a route of its own.
    app.route({ method: methods.filter((m) => m !== 'GET'), url: '/*', handler });
    app.route({ method: 'GET', url: '/*', handler, wsHandler: options.websocketHandler });
  }
}

/**
 * A reply serializer that leaves our text as it is: with one set, Fastify does not append
 * `; charset=utf-8` to a JSON content type, so JSON goes out as `application/json`, as
 * grpc-gateway and Envoy send it (RFC 8259 JSON is UTF-8 and has no charset parameter).
 */
const asIs = (payload: unknown): string => payload as string;

/**
 * Sends `answer` through Fastify's reply. Trailers: Fastify declares them in `Trailer`, sends the
 * body chunked and adds them after it; a name HTTP forbids as a trailer (possible only with an
 * empty prefix) stays a header.
 */
function sendAnswer(reply: FastifyReply, answer: Answer): void {
  const { headers, trailers } = answer;
  for (const name in trailers) {
    const value = trailers[name];
    const text = Array.isArray(value) ? value.join(', ') : value;
    try {
      reply.trailer(name, (_reply, _payload, done) => done(null, text));
    } catch {
      headers[name] = value;
    }
  }
  if (answer.contentType !== undefined) headers['content-type'] = answer.contentType;
  if (answer.body === undefined) void reply.code(answer.status).headers(headers).send();
  else void reply.code(answer.status).headers(headers).serializer(asIs).send(answer.body);
}

function responseHeaders(metadata: MetadataMapper, headers: Metadata, trailers: Metadata): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  metadata.outgoing(headers, trailers, out);
  return out;
}
