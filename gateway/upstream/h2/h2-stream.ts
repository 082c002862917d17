/** One stream of a session (h2-session.ts): its state, and what it reports to its call. */
import type { IndexedField } from './hpack-encoder';

/** What a stream reports; every stream gets exactly one onStreamClose. */
export interface StreamHandler {
  /** The response HEADERS (`endStream`: a trailers-only response). `raw` is [name, value, ...]. */
  onResponse(status: number, endStream: boolean, raw: string[]): void;
  onData(chunk: Buffer): void;
  onTrailers(raw: string[]): void;
  /** DATA that waited for flow-control window has all gone out (see H2Session.send). */
  onWritable(): void;
  /** `code`: RST_STREAM code (0 when the stream ended normally); `dropped`: the connection went away. */
  onStreamClose(code: number, dropped: boolean): void;
}

/** A request's header fields: the method's, then the call's metadata; each connection encodes them with its HPACK table. */
export interface RequestHeaders {
  /** The method's fixed fields, built once per method path. */
  readonly fields: readonly IndexedField[];
  /** The call's metadata as wire-ready [name, value] pairs (validated, -bin in base64), or null. */
  readonly metadata: readonly string[] | null;
}

/** One stream opened by this client. */
export class H2Stream {
  sendWindow: number;
  /** Bytes received and not yet given back in a WINDOW_UPDATE. */
  unacked = 0;
  /** The consumer is full: received bytes are not given back (no WINDOW_UPDATE) until resumed. */
  paused = false;
  responded = false;
  localEnded = false;
  remoteEnded = false;
  /** DATA waiting for flow-control window, and whether END_STREAM follows it. */
  pending: Buffer[] | null = null;
  pendingEnd = false;

  constructor(
    readonly id: number,
    readonly handler: StreamHandler,
    sendWindow: number,
  ) {
    this.sendWindow = sendWindow;
  }
}
