/**
 * What the HTTP server itself refuses, and how: timeouts for headers, for a request's body
 * (one that stops half-way; request-timeout.ts, streamed bodies exempt), for idle keep-alive
 * sockets; a connection cap; and every
 * rejection the HTTP parser or URL decoding makes answered as a google.rpc.Status body,
 * with `Connection: close` when the socket closes, so a keep-alive client is told rather
 * than reset. Node checks request timeouts every `connectionsCheckingInterval`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
import type { LimitsConfig } from '../config';
import { GatewayError, gatewayStatusJson } from '../transcode';
import { httpStatusFromCode } from './status-map';
import { RequestTimeouts, setRequestTimeouts } from './request-timeout';

/** Fastify/node server options for `limits`. */
export function serverLimitOptions(limits: LimitsConfig): Partial<FastifyServerOptions> {
  return {
    // Idle socket timeout (no bytes either way).
    connectionTimeout: limits.idleTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    // Node's whole-request timeout is off: it would cut client- and bidi-streaming bodies, which
    // the stream idle timeout governs. Other bodies keep limits.requestTimeoutMs (request-timeout.ts).
    requestTimeout: 0,
    http: {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: 0,
      // Timeouts are enforced at this granularity (node's default is 30 s).
      connectionsCheckingInterval: checkInterval(limits),
    },
    clientErrorHandler,
    frameworkErrors,
  } as unknown as Partial<FastifyServerOptions>;
}

/** A request's start, as every request runs it (a Fastify onRequest hook, or the unary fast path). */
export type RequestLimits = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Applies what Fastify has no option for, and the security headers on every response; returns
 * the per-request part (also run as an onRequest hook on `app`).
 */
export function applyServerLimits(app: FastifyInstance, limits: LimitsConfig): RequestLimits {
  app.server.maxConnections = limits.maxConnections;
  app.server.headersTimeout = limits.headersTimeoutMs;
  const timeouts = new RequestTimeouts(limits.requestTimeoutMs, checkInterval(limits), (req, res) => {
    // As node's own request timeout: a 408 Status when nothing was answered yet, the socket closed.
    if (res.headersSent) req.socket.destroy();
    else answerAndClose(req.socket, new GatewayError('REQUEST_TIMEOUT', 'the request was not received in time'));
  });
  setRequestTimeouts(app.server, timeouts);
  const onRequest: RequestLimits = (req, res) => {
    timeouts.watch(req, res);
    // Set on the raw response so hijacked streams carry them too.
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('cache-control', 'no-store');
  };
  app.addHook('onRequest', (request, reply, done) => {
    onRequest(request.raw, reply.raw);
    done();
  });
  app.addHook('onClose', (_instance, done) => {
    timeouts.close();
    done();
  });
  return onRequest;
}

/** How often node checks the headers timeout and we check request bodies' (node's default is 30 s). */
function checkInterval(limits: LimitsConfig): number {
  return Math.max(100, Math.min(1000, limits.headersTimeoutMs / 4));
}

/** The HTTP parser's rejections (bad request line, header overflow, smuggling, timeouts). */
function clientErrorHandler(err: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const gatewayError =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? new GatewayError('REQUEST_TIMEOUT', 'the request was not received in time')
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? new GatewayError('HEADERS_TOO_LARGE', 'request headers are too large')
        : new GatewayError('BAD_REQUEST', 'malformed HTTP request');
  answerAndClose(socket, gatewayError);
}

/** Writes `gatewayError` as a raw HTTP answer with `Connection: close`, then closes the socket. */
function answerAndClose(socket: Socket, gatewayError: GatewayError): void {
  if (socket.destroyed) return;
  const body = JSON.stringify(gatewayStatusJson(gatewayError));
  const status = gatewayError.httpStatus ?? httpStatusFromCode(gatewayError.code);
  if (socket.writable) {
    socket.end(
      `HTTP/1.1 ${status} ${REASON_PHRASES[status] ?? 'Bad Request'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `X-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroySoon();
}

const REASON_PHRASES: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' };

/** Fastify's own routing-stage failures (a bad percent-escape in the path) as Status bodies. */
function frameworkErrors(err: Error & { code?: string }, _request: FastifyRequest, reply: FastifyReply): void {
  const gatewayError =
    err.code === 'FST_ERR_BAD_URL'
      ? new GatewayError('INVALID_PATH_PARAMETER', 'the path holds an invalid percent-escape')
      : new GatewayError('BAD_REQUEST', 'malformed request');
  void reply
    .code(gatewayError.httpStatus ?? httpStatusFromCode(gatewayError.code))
    .header('content-type', 'application/json')
    .header('x-content-type-options', 'nosniff')
    .send(JSON.stringify(gatewayStatusJson(gatewayError)));
}
