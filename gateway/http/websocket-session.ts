/**
 * One WebSocket connection serving one call through the route's compiled pipeline (auth,
 * rate limit, validation, deadline, resilience, metrics and tracing apply as to HTTP).
 * Frames and close codes are websocket-protocol.ts's; this file runs the call's life:
 *
 * - unary and server-streaming: the request is the path and query, plus the first text frame
 *   as the body when the binding has one (the call starts on that frame, or on a half-close
 *   without one); a further message is UNEXPECTED_MESSAGE;
 * - client-streaming: every text frame is a message until the empty frame half-closes; a
 *   binding without a body sends the path and query as its one message at once;
 * - the upstream ending closes the socket with its status; the client closing the socket
 *   (or a dead peer cut by the keep-alive) cancels the upstream call at once.
 *
 * Per connection: a token bucket on request messages (`websocket.maxMessagesPerSecond`),
 * ws's `maxPayload` on message size (1009), and the keep-alive flag the plugin's ping
 * timer reads.
 */
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

/** What a session needs from the plugin, shared by all connections. */
export interface SessionContext {
  readonly registry: Registry;
  readonly config: WebSocketConfig;
  /** Largest sum of a client stream's messages held before its call starts (config bodyLimit). */
  readonly bodyLimit: number;
  readonly log: { error(obj: unknown, msg?: string): void; warn(obj: unknown, msg?: string): void };
}

/** What the connection's upgrade request gave: headers (the Call's), the mapped metadata, its TCP socket. */
export interface SessionRequest {
  readonly headers: Call['headers'];
  readonly metadata: Metadata;
  /** The connection's socket, corked while a burst of frames is written (one writev per tick, not per frame). */
  readonly transport: { cork(): void; uncork(): void };
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
  /** Client-streaming: the encoded messages received so far, sent when the client half-closes. */
  private readonly messages: Uint8Array[] = [];
  private messageBytes = 0;
  private bodyFrame: Buffer | undefined;
  private corked = false;

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
    const { route } = this.target;
    switch (route.rpc.kind) {
      case 'unary':
      case 'server_streaming':
        if (!route.request.hasBody) this.start();
        break;
      case 'client_streaming':
        if (!route.request.hasBody) {
          this.messages.push(route.request.build(this.target.values, this.target.rawQuery, undefined, undefined));
          this.start();
        }
        break;
      default:
        // TODO(stream-h1): serve bidi once the transport's duplex call lands.
        this.fail(
          new GatewayError('BIDI_STREAMING_UNSUPPORTED', `${route.rpc.service}.${route.rpc.name} is bidi-streaming, which the gateway does not serve yet`),
        );
    }
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
    this.cancellation.abort();
  }

  // StreamSink: the upstream's response stream, written as frames.

  onHeaders(): void {}

  /** The upstream's flow control: paused when onMessage answers false, resumed once the frames drained. */
  private flow: ResponseFlow | null = null;
  private paused = false;

  onFlow(flow: ResponseFlow): void {
    this.flow = flow;
  }

  onMessage(message: Uint8Array): boolean {
    if (this.state === 'done') return true;
    let rendered;
    try {
      rendered = this.target.route.response.render(message);
    } catch (err) {
      this.fail(err);
      return true;
    }
    this.send(rendered.body);
    // False pauses the upstream (no HTTP/2 window goes back); the send callback resumes it.
    if (this.socket.bufferedAmount < this.ctx.config.maxBufferedBytes) return true;
    this.paused = true;
    return false;
  }

  /** A frame went out: resume a paused upstream once the socket's buffer has room again. */
  private readonly onSent = (): void => {
    if (this.paused && this.socket.bufferedAmount < this.ctx.config.maxBufferedBytes / 2) {
      this.paused = false;
      this.flow?.resume();
    }
  };

  onEnd(status: CallStatus): void {
    this.finish(status.code === 0 ? undefined : this.statusOf(new CallError(status)));
  }

  private onFrame(data: Buffer, isBinary: boolean): void {
    if (this.state === 'done') return;
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
    if (route.rpc.kind === 'client_streaming') {
      if (this.state === 'running' || !route.request.hasBody) {
        if (!halfClose) this.fail(new GatewayError('UNEXPECTED_MESSAGE', 'the request stream is closed'));
        return;
      }
      if (halfClose) return this.start();
      this.messageBytes += data.length;
      if (this.messageBytes > this.ctx.bodyLimit) {
        this.fail(new GatewayError('BODY_TOO_LARGE', `a client stream may send at most ${this.ctx.bodyLimit} bytes before it half-closes`));
        return;
      }
      try {
        this.messages.push(route.request.build(this.target.values, this.target.rawQuery, data, undefined));
      } catch (err) {
        this.fail(err);
      }
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

  /** Runs the pipeline once the request is complete. */
  private start(): void {
    this.state = 'running';
    const { route, values, rawQuery } = this.target;
    const kind = route.rpc.kind;
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
      input: undefined,
      messages: kind === 'client_streaming' ? MessageSource.of(this.messages) : undefined,
      sink: kind === 'server_streaming' ? this : undefined,
    };
    this.handler(call).then(
      (result) => {
        if (kind === 'server_streaming') return; // onEnd closed the socket already
        this.onUnary(result as UnaryResult);
      },
      (err: unknown) => this.finish(this.statusOf(err)),
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
      process.nextTick(() => {
        this.corked = false;
        this.request.transport.uncork();
      });
    }
    if (typeof body === 'string') this.socket.send(resultFrame(body), this.onSent);
    else this.socket.send(body, { binary: true }, this.onSent);
  }

  /** Sends the end: close 1000, or the error frame and 4000 + code. Once. */
  private finish(status: StatusJson | undefined): void {
    if (this.state === 'done') return;
    this.state = 'done';
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
    if (running) this.cancellation.abort();
  }

  private statusOf(err: unknown): StatusJson {
    return errorReply(err, this.ctx.registry, this.ctx.log, this.target.route.rpc.service).status;
  }
}
