/**
 * The Fastify adapter: every request goes through one handler that matches the compiled
 * route trie, builds the upstream message, lets the edge decide who may pass, calls the
 * upstream and writes the answer. The transcoding core never sees Fastify; this file never
 * parses JSON or walks descriptors.
 */
import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Registry } from '@bufbuild/protobuf';
import { GatewayError, type Route, type RouteTable } from '../transcode';
import { callDeadline } from '../upstream/deadline';
import type { MetadataMapper } from '../upstream/metadata';
import type { UpstreamPool } from '../upstream/upstream-pool';
import { Cancellation, type CallOptions, type CallStatus, type Metadata } from '../upstream/transport';
import { isJsonContentType } from './content-type';
import { errorReply } from './error-reply';
import { httpStatusFromCode } from './status-map';
import { StreamWriter, streamFraming } from './stream-writer';
import { upstreamStatusJson } from '../transcode';

/** Decides whether a request may reach its route; throws a GatewayError (401/403) if not. */
export type Authorizer = (route: Route, headers: FastifyRequest['headers']) => Promise<void> | void;

export interface TranscodingOptions {
  readonly table: RouteTable;
  readonly registry: Registry;
  readonly upstreams: UpstreamPool;
  readonly metadata: MetadataMapper;
  readonly bodyLimit: number;
  /** Deadline in ms for a route's calls when the client sends no grpc-timeout (undefined = none). */
  readonly timeoutFor: (route: Route) => number | undefined;
  readonly authorize: Authorizer | undefined;
}

const NO_BODY_STATUSES = new Set([204, 205, 304]);

/** Registers the catch-all transcoding handler on `app`. */
export function registerTranscoding(app: FastifyInstance, options: TranscodingOptions): void {
  const { table, registry, upstreams, metadata } = options;

  // Bodies are read as bytes: routes decide (JSON, NDJSON, raw HttpBody), and JSON is parsed once.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: options.bodyLimit }, (_req, body, done) => done(null, body));
  for (const method of table.customMethods) {
    if (!app.supportedMethods.includes(method)) app.addHttpMethod(method, { hasBody: true });
  }

  const sendError = (reply: FastifyReply, err: unknown): void => {
    const r = errorReply(err, registry, reply.log);
    const headers: Record<string, string | string[]> = { ...r.headers, 'content-type': 'application/json' };
    metadata.outgoing(r.upstreamHeaders, r.upstreamTrailers, headers);
    void reply.code(r.httpStatus).headers(headers).send(JSON.stringify(r.status));
  };

  const handler = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const url = request.raw.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const rawQuery = q === -1 ? '' : url.slice(q + 1);
    const match = table.trie.match(request.method, path);
    if (match.kind === 'not-found') throw new GatewayError('ROUTE_NOT_FOUND', `no route for ${request.method} ${path}`);
    if (match.kind === 'method-not-allowed') {
      throw new GatewayError('METHOD_NOT_ALLOWED', `${request.method} is not allowed on ${path}`, [], { allow: match.allow.join(', ') });
    }
    const route = match.value;
    if (route.rpc.kind === 'bidi_streaming') {
      throw new GatewayError('BIDI_STREAMING_UNSUPPORTED', `${route.rpc.service}.${route.rpc.name} is bidi-streaming, which the gateway does not serve yet`);
    }
    if (options.authorize) await options.authorize(route, request.headers);

    const body = request.body as Buffer | undefined;
    const contentType = request.headers['content-type'];
    if (body && body.length > 0 && route.request.hasBody && !route.request.rawBody && !isJsonContentType(contentType)) {
      throw new GatewayError('UNSUPPORTED_MEDIA_TYPE', `content type "${contentType}" is not JSON`);
    }
    const values = match.bindings.map((b) => b[1]);
    const cancellation = new Cancellation();
    cancellations.set(reply.raw, cancellation);
    reply.raw.on('close', cancelOnEarlyClose);
    const call: CallOptions = {
      metadata: metadata.incoming(request.headers, {
        remoteAddress: request.socket.remoteAddress,
        host: request.headers.host,
        protocol: request.protocol === 'https' ? 'https' : 'http',
      }),
      deadline: callDeadline(request.headers['grpc-timeout'], options.timeoutFor(route)),
      signal: cancellation,
    };
    const transport = upstreams.get(route.rpc.service);
    const grpcPath = route.rpc.grpcPath;

    if (route.rpc.kind === 'server_streaming') {
      const bytes = route.request.build(values, rawQuery, body, contentType);
      reply.hijack();
      const writer = new StreamWriter(reply.raw, route, streamFraming(route, request.headers.accept), {
        metadataHeaders: (h, t) => responseHeaders(metadata, h, t),
        failure: (s: CallStatus) => ({
          httpStatus: httpStatusFromCode(s.code),
          body: upstreamStatusJson(s.code, s.message, s.details, registry),
        }),
      });
      transport.serverStream(grpcPath, bytes, call, writer);
      return;
    }

    let result;
    if (route.rpc.kind === 'unary') {
      result = await transport.unary(grpcPath, route.request.build(values, rawQuery, body, contentType), call);
    } else {
      const messages = route.request.buildStream(values, rawQuery, body);
      const stream = transport.clientStream(grpcPath, call);
      for (const m of messages) stream.write(m);
      stream.end();
      result = await stream.result;
    }
    const rendered = route.response.render(result.message);
    const status = route.rpc.policy.successStatus;
    const headers = responseHeaders(metadata, result.headers, result.trailers);
    if (NO_BODY_STATUSES.has(status)) {
      void reply.code(status).headers(headers).send();
      return;
    }
    headers['content-type'] = rendered.contentType;
    void reply.code(status).headers(headers).send(typeof rendered.body === 'string' ? rendered.body : Buffer.from(rendered.body));
  };

  app.setErrorHandler((err, _request, reply) => sendError(reply, err));
  app.setNotFoundHandler((request, reply) => handler(request, reply).catch((err: unknown) => sendError(reply, err)));
  app.route({ method: app.supportedMethods as string[], url: '/*', handler });
}

// A module-level listener (no closure per request) finds the request's cancellation here.
const cancellations = new WeakMap<ServerResponse, Cancellation>();

/** A client that goes away before its answer is written cancels the upstream call. */
function cancelOnEarlyClose(this: ServerResponse): void {
  if (!this.writableFinished) cancellations.get(this)?.abort();
}

function responseHeaders(metadata: MetadataMapper, headers: Metadata, trailers: Metadata): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  metadata.outgoing(headers, trailers, out);
  return out;
}
