/**
 * Open streams per client address, shared by every adapter that holds one (HTTP server
 * streams, WebSocket connections): each keeps an upstream call and a socket open for as long
 * as the client likes, so one client may not hold more than its share (config
 * `limits.maxStreamsPerClient`), whichever way it connects.
 */
import { GatewayError } from '../transcode';

/** Counts open streams per client; acquire() refuses past the limit. */
export class StreamSlots {
  private readonly open = new Map<string, number>();

  constructor(private readonly maxPerClient: number) {}

  /**
   * Takes one slot for `client` (its address), or throws TOO_MANY_STREAMS. The returned
   * function gives it back; calling it again does nothing.
   */
  acquire(client: string): () => void {
    const n = this.open.get(client) ?? 0;
    if (n >= this.maxPerClient) {
      throw new GatewayError('TOO_MANY_STREAMS', `at most ${this.maxPerClient} open streams per client`);
    }
    this.open.set(client, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.open.get(client) ?? 1) - 1;
      if (left <= 0) this.open.delete(client);
      else this.open.set(client, left);
    };
  }

  /** Streams `client` holds now. */
  held(client: string): number {
    return this.open.get(client) ?? 0;
  }
}
