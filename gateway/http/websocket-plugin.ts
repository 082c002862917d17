/**
 * WebSocket access to the transcoded routes (README "WebSocket"), on @fastify/websocket:
 * an upgrade to a route's path opens one call (websocket-session.ts) of the binding
 * websocket-route.ts selects, run through the same compiled pipeline as HTTP requests. This
 * file only wires: ws options (subprotocol, maxPayload), the bearer a browser offers as a
 * subprotocol, the per-client stream slot shared with HTTP streams, the keep-alive timer and
 * the shutdown of open connections.
 */
import type { Registry } from '@bufbuild/protobuf';
import fastifyWebsocket, { type WebsocketHandler } from '@fastify/websocket';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import { bearerToken } from '../../shared-kit';
import type { WebSocketConfig } from '../config';
import type { Handler } from '../pipeline';
import { GatewayError, type Route, type RouteTable } from '../transcode';
import type { MetadataMapper } from '../upstream/metadata';
import { errorReply } from './error-reply';
import type { StreamSlots } from './stream-slots';
import { closeWithStatus, protocolBearer, selectSubprotocol } from './websocket-protocol';
import { selectWebSocketRoute } from './websocket-route';
import { WebSocketSession, type SessionContext } from './websocket-session';

export interface WebSocketOptions {
  readonly table: RouteTable;
  readonly registry: Registry;
  readonly metadata: MetadataMapper;
  /** Each route's compiled pipeline (the HTTP adapter's). */
  readonly handlers: ReadonlyMap<Route, Handler>;
  /** Open streams per client, shared with the HTTP adapter's server streams. */
  readonly streamSlots: StreamSlots;
  readonly config: WebSocketConfig;
  /** Unsent response bytes a connection may hold before its upstream is paused (limits.streamBufferBytes). */
  readonly streamBufferBytes: number;
  /** A call with no message either way for this long closes 4004 STREAM_IDLE_TIMEOUT; 0 = never (limits.streamIdleTimeoutMs). */
  readonly streamIdleTimeoutMs?: number;
}

/**
 * Registers @fastify/websocket on `scope` (which must then register the route the returned
 * handler serves: the transcoding plugin's GET catch-all) and returns the upgrade handler.
 */
export async function registerWebSocket(scope: FastifyInstance, options: WebSocketOptions): Promise<WebsocketHandler> {
  const { table, registry, metadata, handlers, streamSlots, config } = options;
  const sessions = new Set<WebSocketSession>();
  const ctx: SessionContext = {
    registry,
    config,
    bufferBytes: options.streamBufferBytes,
    idleTimeoutMs: options.streamIdleTimeoutMs ?? 0,
    log: scope.log,
  };

  await scope.register(fastifyWebsocket, {
    options: {
      maxPayload: config.maxMessageBytes,
      handleProtocols: (offered: Set<string>) => selectSubprotocol(offered),
      // Compression off: it costs CPU per frame and opens the way to compression bombs.
      perMessageDeflate: false,
    },
    // ws itself closes on a protocol error (1002, 1007, 1009 for a message past maxPayload) and
    // then reports it here; the connection's close ends its call.
    errorHandler: (err, _socket, request) => request.log.info({ err }, 'websocket protocol error'),
    // At shutdown each open call ends UNAVAILABLE (4014), so its client reconnects elsewhere.
    preClose(done) {
      const err = new GatewayError('SHUTTING_DOWN', 'the gateway is shutting down; reconnect');
      for (const session of sessions) session.fail(err);
      sessions.clear();
      this.websocketServer.close(() => done());
    },
  });

  if (config.pingIntervalMs > 0) {
    const timer = setInterval(() => {
      for (const session of sessions) session.keepAlive();
    }, config.pingIntervalMs);
    timer.unref();
    scope.addHook('onClose', (_instance, done) => {
      clearInterval(timer);
      done();
    });
  }

  const refuse = (socket: WebSocket, request: FastifyRequest, err: unknown, route?: Route): void => {
    closeWithStatus(socket, errorReply(err, registry, request.log, route?.rpc.service).status);
  };

  return function onConnection(socket: WebSocket, request: FastifyRequest): void {
    let release: () => void;
    try {
      release = streamSlots.acquire(request.socket.remoteAddress ?? '');
    } catch (err) {
      return refuse(socket, request, err);
    }
    socket.once('close', release);
    let session: WebSocketSession;
    let route: Route | undefined;
    try {
      const target = selectWebSocketRoute(table, request.raw.url ?? '/');
      route = target.route;
      const headers = request.headers;
      useProtocolBearer(headers);
      const md = metadata.incoming(headers, {
        remoteAddress: request.socket.remoteAddress,
        host: headers.host,
        protocol: request.protocol === 'https' ? 'https' : 'http',
      });
      session = new WebSocketSession(socket, target, { headers, metadata: md, transport: request.socket }, handlers.get(route)!, ctx);
    } catch (err) {
      return refuse(socket, request, err, route);
    }
    sessions.add(session);
    socket.once('close', () => sessions.delete(session));
    session.open();
  };
}

/**
 * A bearer offered as `bearer.<token>` becomes the request's Authorization, so the auth
 * interceptor checks it (and the services receive it) exactly as a header. The offer itself
 * is dropped from the headers; offering a different token than the header's is refused.
 */
function useProtocolBearer(headers: FastifyRequest['headers']): void {
  let token: string | undefined;
  try {
    token = protocolBearer(headers['sec-websocket-protocol']);
  } catch (err) {
    throw new GatewayError('UNAUTHENTICATED', (err as Error).message);
  }
  delete headers['sec-websocket-protocol'];
  if (token === undefined) return;
  const header = headers.authorization;
  if (header !== undefined && bearerToken(header) !== token) {
    throw new GatewayError('UNAUTHENTICATED', 'the Authorization header and the bearer subprotocol carry different credentials');
  }
  headers.authorization = `Bearer ${token}`;
}
