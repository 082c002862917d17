/**
 * Open streams, per client address and in total, shared by every adapter that holds one
 * (HTTP server, client and bidi streams, WebSocket calls): each keeps an upstream call and a
 * socket open for as long as the client likes. One client may not hold more than its share
 * (`limits.maxStreamsPerClient`: 429 TOO_MANY_STREAMS, its own quota, RESOURCE_EXHAUSTED as
 * for rate limits), and all clients together not more than the gateway is sized for
 * (`limits.maxOpenStreams`: 503 STREAMS_FULL, the gateway's overload, UNAVAILABLE as Envoy's
 * overload manager and a gRPC server past its MAX_CONCURRENT_STREAMS answer), whichever way
 * they connect.
 */
import { GatewayError } from '../transcode';

/** Counts open streams per client and in all; acquire() refuses past either limit. */
export class StreamSlots {
  private readonly perClient = new Map<string, number>();
  private total = 0;

  constructor(
    private readonly maxPerClient: number,
    /** Streams of all clients together at most; 0 = no total cap. */
    readonly maxTotal = 0,
  ) {}

  /**
   * Takes one slot for `client` (its address), or throws TOO_MANY_STREAMS (the client's
   * share is used) or STREAMS_FULL (the gateway's). The returned function gives it back;
   * calling it again does nothing.
   */
  acquire(client: string): () => void {
    const n = this.perClient.get(client) ?? 0;
    if (n >= this.maxPerClient) {
      throw new GatewayError('TOO_MANY_STREAMS', `at most ${this.maxPerClient} open streams per client`);
    }
    if (this.maxTotal > 0 && this.total >= this.maxTotal) {
      throw new GatewayError('STREAMS_FULL', 'the gateway holds as many open streams as it takes; retry later');
    }
    this.perClient.set(client, n + 1);
    this.total++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total--;
      const left = (this.perClient.get(client) ?? 1) - 1;
      if (left <= 0) this.perClient.delete(client);
      else this.perClient.set(client, left);
    };
  }

  /** Streams `client` holds now. */
  held(client: string): number {
    return this.perClient.get(client) ?? 0;
  }

  /** Streams all clients hold now. */
  get open(): number {
    return this.total;
  }
}
