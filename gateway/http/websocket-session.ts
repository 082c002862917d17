/**
 * One WebSocket connection serving one call through the route's compiled pipeline (auth,
 * rate limit, validation, deadline, resilience, metrics and tracing apply as to HTTP).
 * Frames and close codes are websocket-protocol.ts's; this file runs the call's life:
 *
 * - unary and server-streaming: the request is the path and query, plus the first text frame
 *   as the body when the binding has one (the call starts on that frame, or on a half-close
 *   without one); a further message is UNEXPECTED_MESSAGE;
 * - client- and bidi-streaming: the call starts when the socket opens (so auth and limits
 *   answer first); every text frame is pushed to the call's MessageSource as it arrives and
 *   the empty frame half-closes it; a binding without a body sends the path and query as its
 *   one message, and takes no frame;
 * - the upstream ending closes the socket with its status; the client closing the socket
 *   (or a dead peer cut by the keep-alive) cancels the upstream call at once.
 *
 * Backpressure both ways: a full MessageSource (the upstream's HTTP/2 window is used up)
 * pauses reading the socket until it drains; a socket holding more than `bufferBytes` unsent
 * pauses the upstream's responses (ResponseFlow) until it drains. Per connection: a token
 * bucket on request messages (`websocket.maxMessagesPerSecond`), ws's `maxPayload` on message
 * size (1009), the keep-alive flag the plugin's ping timer reads, and an idle clock
 * (limits.streamIdleTimeoutMs: no message either way, pings aside, closes 4004).
 */
import type { Socket } from 'node:net';
import type { Registry } from '@bufbuild/protobuf';
import type { WebSocket } from 'ws';
import type { WebSocketConfig } from '../config';
import { takeFrom } from '../edge/rate-limiting';
import { MessageSource, type Call, type Handler, type ResponseSink } from '../pipeline';
import { GatewayError, type StatusJson } from '../transcode';
import { Cancellation, CallError, type CallStatus, type Metadata, type ResponseFlow, type UnaryResult } from '../upstream/transport';
import { errorReply } from './error-reply';
import type { WebSocketTarget } from './websocket-route';
import { closeWithStatus, resultFrame, CLOSE_OK } from './websocket-protocol';
import { idleTimeoutError, idleTimer, type IdleTimer } from './stream-idle';

/** What a session needs from the plugin, shared by all connections. */
export interface SessionContext {
  readonly registry: Registry;
  readonly config: WebSocketConfig;
  /** Response bytes a socket may hold unsent before the upstream is paused (limits.streamBufferBytes). */
  readonly bufferBytes: number;
  /** No message either way for this long ends the call STREAM_IDLE_TIMEOUT (limits.streamIdleTimeoutMs); 0 = never. */
  readonly idleTimeoutMs: number;
  readonly log: { error(obj: unknown, msg?: string): void; warn(obj: unknown, msg?: string): void };
}

/** What the connection's upgrade request gave: headers (the Call's), the mapped metadata, its TCP socket. */
export interface SessionRequest {
  readonly headers: Call['headers'];
  readonly metadata: Metadata;
  /** The connection's socket: corked while a burst of frames is written, watched for 'drain'. */
  readonly transport: Socket;
}

type State = 'waiting' | 'running' | 'done';

/** One connection's call. open() starts it; the socket's close ends it. */
export class WebSocketSession implements ResponseSink {
  /** False once a ping went unanswered: the next ping tick cuts the connection. */
  alive = true;
  private state: State = 'waiting';
  private readonly cancellation = new Cancellation();
  private tokens: number;
  private tokensAt = Date.now();
  /** Client and bidi streams: the request messages' JSON texts, pulled by the upstream call. */
  private input: MessageSource | undefined;
  private halfClosed = false;
  private bodyFrame: Buffer | undefined;
  private corked = false;
  /** The upstream's response flow control, and whether it is paused for a slow reader. */
  private flow: ResponseFlow | null = null;
  private paused = false;
  /** The idle clock: request frames and response messages touch it; pings do not. */
  private idle: IdleTimer | undefined;

  constructor(
    private readonly socket: WebSocket,
    private readonly target: WebSocketTarget,
    private readonly request: SessionRequest,
    private readonly handler: Handler,
    private readonly ctx: SessionContext,
  ) {
    this.tokens = ctx.config.messageBurst;
  }

  /** Listens to the socket and, where no request frame is awaited, starts the call. */
  open(): void {
    const { socket } = this;
    socket.on('message', (data: Buffer, isBinary: boolean) => this.onFrame(data, isBinary));
    socket.on('pong', () => {
      this.alive = true;
    });
    socket.on('close', () => this.onClose());
    const ms = this.ctx.idleTimeoutMs;
    this.idle = idleTimer(ms, () => this.fail(idleTimeoutError(ms)));
    const { route } = this.target;
    if (this.streamsRequests()) {
      const input = new MessageSource();
      input.onDrain(() => socket.resume());
      input.onCancel(() => socket.resume()); // the call ended: frames are read (and ignored) again
      this.input = input;
      this.start();
    } else if (!route.request.hasBody) this.start();
  }

  /** Keep-alive tick: cuts a peer that did not answer the last ping, else pings it. */
  keepAlive(): void {
    if (!this.alive) {
      this.socket.terminate();
      return;
    }
    this.alive = false;
    this.socket.ping();
  }

  /** Ends the call with `err` (shutdown, a limit): error frame, close code, upstream cancelled. */
  fail(err: unknown): void {
    this.finish(this.statusOf(err));
    this.input?.cancel();
    this.cancellation.abort();
  }

  // ResponseSink: the upstream's response stream, written as frames.

  onFlow(flow: ResponseFlow): void {
    this.flow = flow;
  }

  onHeaders(): void {}

  onMessage(message: Uint8Array): boolean {
    if (this.state === 'done') return true;
    this.idle?.touch();
    let rendered;
    try {
      rendered = this.target.route.response.render(message);
    } catch (err) {
      this.fail(err);
      return true;
    }
    this.send(rendered.body);
    // False pauses the upstream (no HTTP/2 window goes back) until the socket drains.
    if (this.socket.bufferedAmount <= this.ctx.bufferBytes) return true;
    if (!this.paused) {
      this.paused = true;
      this.request.transport.once('drain', this.onDrained);
    }
    return false;
  }

  onEnd(status: CallStatus): void {
    this.finish(status.code === 0 ? undefined : this.statusOf(new CallError(status)));
  }

  /** The socket wrote out what it held: a paused upstream goes on. */
  private readonly onDrained = (): void => {
    this.paused = false;
    if (this.state !== 'done') this.flow?.resume();
  };

  private streamsRequests(): boolean {
    const kind = this.target.route.rpc.kind;
    return kind === 'client_streaming' || kind === 'bidi_streaming';
  }

  private onFrame(data: Buffer, isBinary: boolean): void {
    if (this.state === 'done') return;
    this.idle?.touch();
    const { config } = this.ctx;
    if (config.maxMessagesPerSecond > 0) {
      const now = Date.now();
      const taken = takeFrom(this.tokens, now - this.tokensAt, config.maxMessagesPerSecond, config.messageBurst);
      this.tokens = taken.tokens;
      this.tokensAt = now;
      if (!taken.result.allowed) {
        this.fail(new GatewayError('MESSAGE_RATE_LIMITED', `more than ${config.maxMessagesPerSecond} messages a second on this connection`));
        return;
      }
    }
    if (isBinary) {
      this.fail(new GatewayError('UNSUPPORTED_MEDIA_TYPE', 'binary frames are not accepted: send each message as proto3 JSON in a text frame'));
      return;
    }
    const halfClose = data.length === 0;
    const { route } = this.target;
    const input = this.input;
    if (input !== undefined) {
      if (input.cancelled) return; // the call is ending; its end closes the socket
      if (halfClose) {
        this.halfClosed = true;
        input.end();
        return;
      }
      if (this.halfClosed || !route.request.hasBody) {
        this.fail(
          new GatewayError('UNEXPECTED_MESSAGE', this.halfClosed ? 'the request stream is half-closed' : `${route.binding.path} takes no request message`),
        );
        return;
      }
      if (!input.push(data)) this.socket.pause();
      return;
    }
    // Unary and server-streaming: at most one message, the body.
    if (halfClose) {
      if (this.state === 'waiting') this.start();
      return;
    }
    if (this.state !== 'waiting' || !route.request.hasBody) {
      this.fail(new GatewayError('UNEXPECTED_MESSAGE', `${route.rpc.service}.${route.rpc.name} takes one request message`));
      return;
    }
    this.bodyFrame = data;
    this.start();
  }

  /** Runs the pipeline: at once for request streams, else once the request is complete. */
  private start(): void {
    this.state = 'running';
    const { route, values, rawQuery } = this.target;
    const kind = route.rpc.kind;
    const streamsResponses = kind === 'server_streaming' || kind === 'bidi_streaming';
    const call: Call = {
      route,
      headers: this.request.headers,
      metadata: this.request.metadata,
      deadline: undefined,
      signal: this.cancellation,
      values,
      rawQuery,
      body: this.bodyFrame,
      contentType: 'application/json',
      request: undefined,
      input: this.input,
      messages: undefined,
      sink: streamsResponses ? this : undefined,
    };
    this.handler(call).then(
      (result) => {
        if (streamsResponses) return; // onEnd closed the socket already
        this.onUnary(result as UnaryResult);
      },
      (err: unknown) => {
        this.finish(this.statusOf(err));
        this.input?.cancel();
      },
    );
  }

  private onUnary(result: UnaryResult): void {
    if (this.state === 'done') return;
    let rendered;
    try {
      rendered = this.target.route.response.render(result.message);
    } catch (err) {
      return this.finish(this.statusOf(err));
    }
    this.send(rendered.body);
    this.finish(undefined);
  }

  private send(body: string | Uint8Array): void {
    // The upstream hands over several messages per HTTP/2 DATA frame: their WebSocket frames
    // leave in one write at the end of the tick (ws corks each frame alone).
    if (!this.corked) {
      this.corked = true;
      this.request.transport.cork();
      process.nextTick(this.uncork);
    }
    if (typeof body === 'string') this.socket.send(resultFrame(body));
    else this.socket.send(body, { binary: true });
  }

  private readonly uncork = (): void => {
    this.corked = false;
    this.request.transport.uncork();
  };

  /** Sends the end: close 1000, or the error frame and 4000 + code. Once. */
  private finish(status: StatusJson | undefined): void {
    if (this.state === 'done') return;
    this.state = 'done';
    this.idle?.stop();
    if (this.socket.readyState !== this.socket.OPEN) return;
    if (status === undefined) {
      this.socket.close(CLOSE_OK);
      return;
    }
    closeWithStatus(this.socket, status);
  }

  /** The client went away (or the close handshake ended): an upstream call still running is cancelled. */
  private onClose(): void {
    const running = this.state !== 'done';
    this.state = 'done';
    this.idle?.stop();
    this.request.transport.removeListener('drain', this.onDrained);
    if (running) {
      this.input?.cancel();
      this.cancellation.abort();
    }
  }

  private statusOf(err: unknown): StatusJson {
    return errorReply(err, this.ctx.registry, this.ctx.log, this.target.route.rpc.service).status;
  }
}
