/**
 * The Fastify side of plain HTTP routes, as an encapsulated plugin beside the transcoding
 * one: each route is a Fastify route (`/legacy` and `/legacy/*`, which find-my-way prefers to
 * the transcoding catch-all `/*`) in its own scope with its own @fastify/reply-from (undici
 * Agent), so its timeouts are its own. Request bodies are not parsed: the client's stream
 * goes upstream as it arrives, and the upstream's answer streams back the same way. This
 * file turns a request into a ProxyCall and a failure into a google.rpc.Status answer; the
 * policies are in proxy-pipeline.ts, the retry loop in proxy-forward.ts.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Registry } from '@bufbuild/protobuf';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errorReply } from '../http/error-reply';
import { Cancellation } from '../upstream/transport';
import { isRetryable, type ProxyCall, type ProxyHandler, type UpstreamAnswer } from './proxy-call';
import { clientGone, forwardFailure, refusedPath } from './proxy-failure';
import { downstreamResponseHeaders, forwardedForChain, upstreamRequestHeaders, type ClientSide } from './proxy-headers';
import type { ProxyRoute, ProxyUpstream } from './proxy-route';

export interface ProxyPluginOptions {
  readonly routes: readonly ProxyRoute[];
  /** Each route's chain (compileProxyHandler). */
  readonly handlers: ReadonlyMap<ProxyRoute, ProxyHandler>;
  /** For error rendering (upstream status details; none here, but one renderer serves both kinds of route). */
  readonly registry: Registry;
  /** Peers whose X-Forwarded-Host/-Proto are believed (config `rateLimit.trustedProxies`). */
  readonly trustedProxies: readonly string[];
  /**
   * Called once a request matched `route` (metrics and tracing label it); may return headers
   * to add upstream (the gateway span's traceparent).
   */
  readonly onMatch?: (headers: IncomingHttpHeaders, method: string, route: ProxyRoute) => Record<string, string> | undefined;
}

/** The methods every plain HTTP route forwards. */
export const PROXY_METHODS: readonly string[] = ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT'];

/** The plugin: `app.register(proxyPlugin, options)`. */
export async function proxyPlugin(app: FastifyInstance, options: ProxyPluginOptions): Promise<void> {
  const trusted = new Set(options.trustedProxies);
  // Bodies stream through unread; Fastify's body limit does not apply (the upstream's does).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));

  const sendError = (reply: FastifyReply, err: unknown, service?: string): void => {
    const r = errorReply(err, options.registry, reply.log, service);
    void reply
      .code(r.httpStatus)
      .headers({ ...r.headers, 'content-type': 'application/json' })
      .serializer(String)
      .send(JSON.stringify(r.status));
  };
  app.setErrorHandler((err, _request, reply) => sendError(reply, err));

  for (const route of options.routes) {
    const handler = options.handlers.get(route)!;
    const rewriteRequest = upstreamRequestHeaders(route, trusted);
    const filterResponse = downstreamResponseHeaders(route);

    /** One attempt through reply-from: resolves with the answer's head (not yet sent). */
    const attempt = (reply: FastifyReply, upstream: ProxyUpstream, path: string, client: ClientSide, extra: Record<string, string> | undefined) =>
      new Promise<UpstreamAnswer>((resolve, reject) => {
        let copied: IncomingHttpHeaders = {};
        try {
          reply.from(route.upstreamPath(upstream, path), {
            getUpstream: () => upstream.origin,
            rewriteRequestHeaders: (_request, headers) => Object.assign(rewriteRequest(headers as Record<string, string>, client), extra),
            rewriteHeaders: (headers) => (copied = filterResponse(headers as IncomingHttpHeaders)),
            // Retries are ours (proxy-forward.ts: the next upstream, the breaker, the budget); reply-from's would retry GETs on a 503 itself.
            retryDelay: () => null,
            onResponse: (_request, r, res) =>
              resolve({
                statusCode: res.statusCode,
                send: () => void r.send(res.stream),
                discard: () => {
                  // Destroying undici's body emits an abort error: expected, nobody reads it.
                  res.stream.once('error', () => {});
                  res.stream.destroy();
                  for (const name of Object.keys(copied)) r.removeHeader(name);
                },
              }),
            onError: (_reply, { error }) => reject(forwardFailure(error)),
          });
        } catch {
          // reply-from refuses paths with `..` segments before sending anything.
          reject(refusedPath());
        }
      });

    const serve = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
      const extra = options.onMatch?.(request.headers, request.method, route);
      const url = request.raw.url ?? '/';
      const q = url.indexOf('?');
      const path = q === -1 ? url : url.slice(0, q);
      const signal = new Cancellation();
      // A client that leaves ends the wait for an answer (reply-from then drops it silently).
      const gone = new Promise<never>((_resolve, reject) =>
        reply.raw.once('close', () => {
          if (reply.raw.writableFinished) return;
          signal.abort();
          reject(clientGone());
        }),
      );
      gone.catch(() => {});
      const forwardedFor = forwardedForChain(request.headers['x-forwarded-for'], request.socket.remoteAddress);
      const client: ClientSide = { host: request.headers.host, protocol: request.protocol, remoteAddress: request.socket.remoteAddress, forwardedFor };
      const call: ProxyCall = {
        route,
        headers: request.headers,
        method: request.method,
        forwardedFor,
        signal,
        retryable: isRetryable(request.method, request.headers),
        attempt: (upstream) => Promise.race([attempt(reply, upstream, path, client, extra), gone]),
      };
      try {
        await handler(call);
      } catch (err) {
        if (!reply.sent && !signal.aborted) sendError(reply, err, route.service);
      }
      return reply;
    };

    void app.register(async (scope) => {
      const { timeoutMs, idleTimeoutMs, connectTimeoutMs } = route.config;
      // Loaded here, with the first plain HTTP route: reply-from and undici hold ~8 MB of RSS.
      const replyFrom = (require('@fastify/reply-from') as typeof import('@fastify/reply-from')).default;
      await scope.register(replyFrom, {
        undici: { headersTimeout: timeoutMs, bodyTimeout: idleTimeoutMs, connect: { timeout: connectTimeoutMs, rejectUnauthorized: true } },
        destroyAgent: true,
        disableRequestLogging: true,
      });
      const urls = route.prefix ? [route.mount === '' ? '/' : route.mount, `${route.mount}/*`] : [route.mount];
      for (const url of urls) scope.route({ method: [...PROXY_METHODS], url, handler: serve });
    });
  }
}
