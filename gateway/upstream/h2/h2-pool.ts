/**
 * Connections of one transport: one endpoint per address, each with as many HTTP/2
 * sessions as the server's maxConcurrentStreams requires; calls round-robin over
 * endpoints. Connection failures back off exponentially per address (grpc's
 * connection-backoff.md); an address is retried only when a call needs it after its
 * backoff, so a dead server is not hammered. Calls wait while something is connecting
 * and fail fast (UNAVAILABLE) when every address is backing off, as grpc-js does
 * without waitForReady.
 */
import * as net from 'node:net';
import type { H2TransportOptions } from './h2-options';
import { H2Session, type SessionListener } from './h2-session';
import type { H2Stream, RequestHeaders, StreamHandler } from './h2-stream';
import { ErrorCode } from './h2-wire';
import { Code, localStatus } from './h2-status';
import { formatHostPort, resolveHost, type Address, type Target } from './h2-target';
import type { CallStatus } from '../transport';

/** What the pool needs from a call waiting for a connection. */
export interface Waiter {
  /** True once the call ended while waiting (cancelled, timed out): the pool drops it. */
  readonly ended: boolean;
  start(connection: Connection): void;
  fail(status: CallStatus): void;
}

/** One HTTP/2 session to one address. */
export class Connection implements SessionListener {
  readonly session: H2Session;
  /** Streams open on this session. */
  active = 0;
  ready = false;
  /** No new streams: GOAWAY received, or closing. */
  draining = false;
  closed = false;
  /** The server's SETTINGS_MAX_CONCURRENT_STREAMS (unlimited until it says otherwise). */
  maxStreams = 2 ** 32 - 1;
  private timer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private onClosed: Array<() => void> = [];

  constructor(
    readonly endpoint: Endpoint,
    private readonly pool: Pool,
  ) {
    const { options } = pool;
    const { host, port } = endpoint.address;
    const socket = net.connect({ host, port, noDelay: true });
    this.session = new H2Session(socket, options, this);
    this.timer = setTimeout(connectTimeout, options.connectTimeoutMs, this);
  }

  onSettings(maxConcurrentStreams: number | undefined): void {
    this.maxStreams = maxConcurrentStreams ?? this.maxStreams;
    if (!this.ready) {
      this.ready = true;
      clearTimeout(this.timer);
      this.endpoint.failures = 0;
      if (this.active === 0) this.session.unref();
      this.scheduleKeepalive();
    }
    this.pool.drain();
  }

  onGoaway(): void {
    this.draining = true;
    this.pool.drain();
  }

  onSessionError(error: Error): void {
    this.endpoint.lastError = error.message;
  }

  onSessionClose(): void {
    this.closed = this.draining = true;
    clearTimeout(this.timer);
    clearTimeout(this.pingTimer);
    this.endpoint.remove(this, this.ready);
    for (const resolve of this.onClosed.splice(0)) resolve();
    this.pool.drain();
  }

  /** Resolves once the connection is gone. */
  whenClosed(): Promise<void> {
    return this.closed ? Promise.resolve() : new Promise((resolve) => this.onClosed.push(resolve));
  }

  /** Room for one more stream now. */
  get hasRoom(): boolean {
    return this.ready && !this.draining && !this.session.closing && this.active < this.maxStreams;
  }

  /** Opens a stream; the caller must release() it once the stream has closed. */
  request(headers: RequestHeaders, timeout: string | null, handler: StreamHandler, body: Buffer | null, end: boolean): H2Stream {
    const stream = this.session.request(headers, timeout, handler, body, end);
    // A connection holds the process open only while calls are in flight.
    if (this.active++ === 0) this.session.ref();
    return stream;
  }

  release(): void {
    if (--this.active === 0 && !this.closed) this.session.unref();
    this.endpoint.pool.drain();
  }

  /** Closes now (GOAWAY CANCEL); streams still open end as if the connection dropped. */
  destroy(): void {
    this.draining = true;
    this.session.destroy(ErrorCode.CANCEL);
  }

  private scheduleKeepalive(): void {
    const { keepaliveIntervalMs } = this.endpoint.pool.options;
    if (keepaliveIntervalMs > 0 && !this.closed) {
      this.timer = setTimeout(keepalive, keepaliveIntervalMs, this).unref();
    }
  }

  /** Sends a PING; no ACK within keepaliveTimeoutMs closes the connection (calls -> UNAVAILABLE). */
  ping(): void {
    const { options } = this.endpoint.pool;
    if (this.closed) return;
    if (this.active === 0 && !options.keepalivePermitWithoutCalls) return this.scheduleKeepalive();
    this.pingTimer = setTimeout(pingTimeout, options.keepaliveTimeoutMs, this).unref();
    const sent = this.session.ping((err) => {
      clearTimeout(this.pingTimer);
      if (!err) this.scheduleKeepalive();
    });
    if (!sent) {
      clearTimeout(this.pingTimer);
      this.scheduleKeepalive();
    }
  }
}

function connectTimeout(connection: Connection): void {
  connection.endpoint.lastError = 'Connection timed out';
  connection.destroy();
}

function keepalive(connection: Connection): void {
  connection.ping();
}

function pingTimeout(connection: Connection): void {
  connection.endpoint.lastError = 'Keepalive ping was not acknowledged';
  connection.destroy();
}

/** The connections to one address, and its backoff state. */
export class Endpoint {
  readonly connections: Connection[] = [];
  /** Consecutive failed connection attempts. */
  failures = 0;
  /** No new connection attempt before this time (Date.now()). */
  retryAt = 0;
  lastError = '';

  constructor(
    readonly pool: Pool,
    readonly address: Address,
  ) {}

  get key(): string {
    return formatHostPort(this.address);
  }

  /** A connection with room for a stream, if any. */
  available(): Connection | undefined {
    const { connections } = this;
    for (let i = 0; i < connections.length; i++) if (connections[i].hasRoom) return connections[i];
    return undefined;
  }

  /**
   * Makes sure a stream will find room here soon, opening a connection if needed and
   * allowed. False when the address is backing off.
   */
  prepare(now: number): boolean {
    let open = 0;
    for (const c of this.connections) {
      if (c.draining || c.session.closing) continue;
      if (!c.ready) return true; // one is connecting already
      open++;
    }
    if (open >= this.pool.options.maxConnectionsPerAddress) return true; // wait for a free slot
    if (now < this.retryAt) return open > 0;
    this.connections.push(new Connection(this, this.pool));
    return true;
  }

  remove(connection: Connection, wasReady: boolean): void {
    const i = this.connections.indexOf(connection);
    if (i >= 0) this.connections.splice(i, 1);
    if (wasReady) return;
    const { options } = this.pool;
    this.failures++;
    const delay = Math.min(options.initialBackoffMs * options.backoffMultiplier ** (this.failures - 1), options.maxBackoffMs);
    this.retryAt = Date.now() + delay * (1 + options.backoffJitter * (Math.random() * 2 - 1));
  }
}

/** All endpoints of one target, and the calls waiting for a connection. */
export class Pool {
  private endpoints: Endpoint[];
  private next = 0;
  private waiters: Waiter[] = [];
  private draining = false;
  private closed = false;
  private resolving = false;
  private lastResolve = 0;
  private resolveError = '';
  private refreshTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly target: Target,
    readonly options: H2TransportOptions,
  ) {
    this.endpoints = target.addresses.map((a) => new Endpoint(this, a));
  }

  /** Starts the waiter on a connection now, or queues it, or fails it when nothing can connect. */
  acquire(waiter: Waiter): void {
    if (this.waiters.length === 0) {
      const connection = this.pick();
      if (connection) return waiter.start(connection);
    }
    this.waiters.push(waiter);
    this.drain();
  }

  /** Hands queued calls to connections with room; fails them when no address can connect. */
  drain(): void {
    if (this.draining || this.waiters.length === 0) return;
    this.draining = true;
    try {
      const { waiters } = this;
      while (waiters.length > 0) {
        const waiter = waiters[0];
        if (waiter.ended) {
          waiters.shift();
          continue;
        }
        const connection = this.pick();
        if (!connection) break;
        waiters.shift();
        waiter.start(connection);
      }
      if (waiters.length > 0 && !this.prepare()) {
        const status = this.unavailable();
        for (const waiter of waiters.splice(0)) if (!waiter.ended) waiter.fail(status);
      }
    } finally {
      this.draining = false;
    }
  }

  /**
   * Forgets every address's backoff, so the next call connects at once (when a breaker
   * half-opens, its trial call must reach a service that just came back).
   */
  resetBackoff(): void {
    for (const endpoint of this.endpoints) {
      endpoint.retryAt = 0;
      endpoint.failures = 0;
    }
  }

  /** Closes every connection; queued calls end CANCELLED. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.refreshTimer);
    const status = localStatus(Code.CANCELLED, 'Transport closed');
    for (const waiter of this.waiters.splice(0)) if (!waiter.ended) waiter.fail(status);
    const closing: Promise<void>[] = [];
    for (const endpoint of this.endpoints) {
      for (const connection of endpoint.connections) {
        closing.push(connection.whenClosed());
        connection.destroy();
      }
    }
    await Promise.all(closing);
  }

  /** Round robin over endpoints, taking the first connection with room. */
  private pick(): Connection | undefined {
    const { endpoints } = this;
    const n = endpoints.length;
    for (let i = 0; i < n; i++) {
      const index = (this.next + i) % n;
      const connection = endpoints[index].available();
      if (connection) {
        this.next = index + 1;
        return connection;
      }
    }
    return undefined;
  }

  /** Opens what is needed for queued calls; false when nothing can (all backing off). */
  private prepare(): boolean {
    if (this.closed) return false;
    const now = Date.now();
    let pending = false;
    for (const endpoint of this.endpoints) if (endpoint.prepare(now)) pending = true;
    // Nothing to wait for: a hostname may have moved, so resolve again (rate-limited).
    if (!pending && this.target.hostname !== undefined) {
      if (this.resolving) return true;
      if (this.lastResolve === 0 || now - this.lastResolve >= this.options.dnsMinIntervalMs) {
        this.resolve();
        return true;
      }
    }
    return pending;
  }

  private unavailable(): CallStatus {
    if (this.closed) return localStatus(Code.CANCELLED, 'Transport closed');
    const errors = this.endpoints.map((e) => e.lastError).filter(Boolean);
    const reason = errors.length > 0 ? errors.join('; ') : this.resolveError || 'No connection established';
    return localStatus(Code.UNAVAILABLE, `${this.target.authority}: ${reason}`);
  }

  /** Resolves the hostname again; keeps endpoints still listed, drops the others. */
  private resolve(): void {
    const { hostname, port } = this.target;
    if (hostname === undefined || this.closed) return;
    this.resolving = true;
    this.lastResolve = Date.now();
    if (!this.refreshTimer && this.options.dnsRefreshMs > 0) {
      this.refreshTimer = setInterval(() => this.resolve(), this.options.dnsRefreshMs).unref();
    }
    resolveHost(hostname, port).then(
      (addresses) => {
        this.resolving = false;
        this.resolveError = '';
        this.update(addresses);
        this.drain();
      },
      (err: Error) => {
        this.resolving = false;
        this.resolveError = `Name resolution failed: ${err.message}`;
        this.drain();
      },
    );
  }

  private update(addresses: Address[]): void {
    const current = new Map(this.endpoints.map((e) => [e.key, e]));
    const endpoints: Endpoint[] = [];
    for (const address of addresses) {
      const key = formatHostPort(address);
      const kept = current.get(key);
      current.delete(key);
      endpoints.push(kept ?? new Endpoint(this, address));
    }
    // Addresses gone from DNS: finish their calls in flight, then close.
    for (const gone of current.values()) {
      for (const connection of gone.connections) {
        connection.draining = true;
        connection.session.close();
      }
    }
    this.endpoints = endpoints;
  }
}
