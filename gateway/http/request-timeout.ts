/**
 * The time a client has to send its request body (config `limits.requestTimeoutMs`), kept by
 * the gateway instead of node's `server.requestTimeout`. Node's counts until the whole request
 * has arrived, so it cut every client- and bidi-streaming body after 30 s however busy it was;
 * those bodies are governed by the stream idle timeout instead (`limits.streamIdleTimeoutMs`,
 * stream-idle.ts) and are released from this clock as their route starts. Every other request
 * with a body (unary transcoded routes, plain HTTP routes, anything else) keeps a total limit:
 * a body that stalls half-way (slowloris) gets 408 and its socket closes, as node answered.
 * Headers keep node's own `headersTimeout`.
 *
 * Cost: requests without a body are not watched; a watched one is a map entry, dropped when its
 * route starts (transcoded routes) or at the next check once its body is complete; no clock read
 * per request. One timer per server checks them all, at node's granularity
 * (`connectionsCheckingInterval`), so a body is cut between the timeout and two intervals later.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';

/** The requests of one server whose bodies are being received, and their deadlines. */
export class RequestTimeouts {
  /**
   * Watched since the last check: no clock read and no allocation per request (a clock read
   * cost ~250 ns here); almost every request is released from here within a millisecond.
   */
  private young = new Map<IncomingMessage, ServerResponse>();
  /** Watched for a check or more, with their deadlines (counted from the check that found them, so never early). */
  private readonly old = new Map<IncomingMessage, { readonly deadline: number; readonly res: ServerResponse }>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly timeoutMs: number,
    private readonly checkEveryMs: number,
    /** A request whose body did not arrive in time (the answer, the socket closed). */
    private readonly onTimeout: (req: IncomingMessage, res: ServerResponse) => void,
  ) {}

  /** Starts the clock of a request that carries a body (Content-Length > 0 or Transfer-Encoding). */
  watch(req: IncomingMessage, res: ServerResponse): void {
    if (this.timeoutMs <= 0 || !hasBody(req)) return;
    this.young.set(req, res);
    this.timer ??= setInterval(() => this.check(), this.checkEveryMs).unref();
  }

  /** The request's body was read, or its route streams it (the idle timeout governs it then). */
  release(req: IncomingMessage): void {
    if (!this.young.delete(req)) this.old.delete(req);
  }

  /** Requests being watched (tests). */
  get size(): number {
    return this.young.size + this.old.size;
  }

  /** Stops the timer (server close). */
  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.young.clear();
    this.old.clear();
  }

  private check(): void {
    const now = Date.now();
    for (const [req, r] of this.old) {
      if (req.complete || req.destroyed) this.old.delete(req);
      else if (now >= r.deadline) {
        this.old.delete(req);
        this.onTimeout(req, r.res);
      }
    }
    for (const [req, res] of this.young) {
      if (!req.complete && !req.destroyed) this.old.set(req, { deadline: now + this.timeoutMs, res });
    }
    this.young = new Map();
    if (this.old.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }
}

/** RFC 9112 §6.3: a request has a body only with Transfer-Encoding or a Content-Length. */
function hasBody(req: IncomingMessage): boolean {
  const { headers } = req;
  if (headers['transfer-encoding'] !== undefined) return true;
  const length = headers['content-length'];
  return length !== undefined && length !== '0';
}

const byServer = new WeakMap<Server, RequestTimeouts>();

/** Binds `timeouts` to `server` (server-limits.ts), for requestTimeoutsOf. */
export function setRequestTimeouts(server: Server, timeouts: RequestTimeouts): void {
  byServer.set(server, timeouts);
}

/** The request timeouts of `server`, when server-limits.ts set them up. */
export function requestTimeoutsOf(server: Server): RequestTimeouts | undefined {
  return byServer.get(server);
}
