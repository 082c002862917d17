/** Options of the lean HTTP/2 gRPC client, with their defaults in one place. */

export interface H2TransportOptions {
  /** Largest response message accepted; a larger one fails the call with RESOURCE_EXHAUSTED. */
  maxReceiveMessageLength: number;
  /** Interval between keepalive PINGs on a connection; 0 turns keepalive off. */
  keepaliveIntervalMs: number;
  /** A connection whose PING is not acknowledged within this time is closed. */
  keepaliveTimeoutMs: number;
  /** Also ping connections with no call in flight (servers may punish this; off as in grpc). */
  keepalivePermitWithoutCalls: boolean;
  /** Time allowed from TCP connect to the server's first SETTINGS frame. */
  connectTimeoutMs: number;
  /**
   * Reconnect backoff after failed connection attempts to one address, per grpc's
   * connection-backoff.md: initial, multiplier, cap and +/- jitter fraction. The cap is
   * 1 s, not grpc's 120 s: a gateway in front of its own services must serve one again
   * within about a second of its return (a 120 s cap kept a restarted service dark for 33 s);
   * the circuit breaker, not the backoff, keeps a dead service from being hammered.
   */
  initialBackoffMs: number;
  backoffMultiplier: number;
  maxBackoffMs: number;
  backoffJitter: number;
  /** How often a hostname target is resolved again (dns.lookup, all addresses). */
  dnsRefreshMs: number;
  /** Least time between two resolutions, including those asked for after connection failures. */
  dnsMinIntervalMs: number;
  /** Connections opened to one address when the server's maxConcurrentStreams is reached. */
  maxConnectionsPerAddress: number;
  /** Connection-level receive window (a WINDOW_UPDATE on stream 0 at connect). */
  connectionWindowSize: number;
  /** Per-stream initial receive window (SETTINGS_INITIAL_WINDOW_SIZE). */
  streamWindowSize: number;
  /** user-agent request header. */
  userAgent: string;
}

export const DEFAULT_OPTIONS: Readonly<H2TransportOptions> = Object.freeze({
  maxReceiveMessageLength: 64 * 1024 * 1024,
  keepaliveIntervalMs: 30_000,
  keepaliveTimeoutMs: 20_000,
  keepalivePermitWithoutCalls: false,
  connectTimeoutMs: 20_000,
  initialBackoffMs: 250,
  backoffMultiplier: 1.6,
  maxBackoffMs: 1_000,
  backoffJitter: 0.2,
  dnsRefreshMs: 30_000,
  dnsMinIntervalMs: 5_000,
  maxConnectionsPerAddress: 16,
  connectionWindowSize: 64 * 1024 * 1024,
  streamWindowSize: 4 * 1024 * 1024,
  userAgent: 'acme-gateway-h2/0.1',
});
