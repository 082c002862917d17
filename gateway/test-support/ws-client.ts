/**
 * A WebSocket test client on the `ws` package (what Node users use; strict about RFC 6455:
 * it fails on a bad close code, a reason past 123 bytes, an unoffered subprotocol). It keeps
 * every frame received and the close, and lets a test wait for either.
 */
import WebSocket, { type ClientOptions } from 'ws';

/** How a connection ended, as the client saw it. */
export interface WsClose {
  readonly code: number;
  readonly reason: string;
}

/** A received frame: parsed JSON for text, the bytes for binary. */
export type WsFrame = { readonly text: unknown } | { readonly binary: Buffer };

/** One open client connection and what it received. */
export class WsClient {
  readonly frames: WsFrame[] = [];
  readonly closed: Promise<WsClose>;
  private waiters: Array<() => void> = [];

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data: Buffer, isBinary: boolean) => {
      this.frames.push(isBinary ? { binary: data } : { text: JSON.parse(data.toString('utf8')) });
      for (const w of this.waiters) w();
    });
    this.closed = new Promise((resolve) => socket.once('close', (code, reason) => resolve({ code, reason: reason.toString('utf8') })));
  }

  /** Connects to `url` (ws://…), offering `protocols`; rejects if the handshake fails. */
  static connect(url: string, protocols: string[] = [], options: ClientOptions = {}): Promise<WsClient> {
    const socket = new WebSocket(url, protocols, options);
    const client = new WsClient(socket);
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(client));
      socket.once('error', reject);
    });
  }

  /** The text frames' JSON, in order. */
  get texts(): unknown[] {
    return this.frames.flatMap((f) => ('text' in f ? [f.text] : []));
  }

  /** Sends one message as a JSON text frame (a string is sent as it is: '' half-closes). */
  send(message: unknown): void {
    this.socket.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** Resolves once `n` frames have arrived. */
  async waitForFrames(n: number, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.frames.length < n) {
      if (Date.now() > deadline) throw new Error(`waited ${timeoutMs} ms for ${n} frames, got ${this.frames.length}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 50);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      this.waiters = [];
    }
  }

  /** Everything the connection received, once it closed. */
  async end(): Promise<{ texts: unknown[]; close: WsClose }> {
    const close = await this.closed;
    return { texts: this.texts, close };
  }
}
