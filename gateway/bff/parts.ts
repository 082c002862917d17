/**
 * One aggregated answer being fetched: a primary part (without it there is no answer) and
 * secondary parts (without them the answer is still 200, naming what is missing), all
 * started at once. Each part has its own deadline within the request's, and its own
 * cancellation:
 *
 *   part deadline = min(now + bff.partTimeoutMs, request deadline - reserve)
 *
 * (an upstream method's own timeoutMs may shorten it further, see upstream-rpc.ts). The
 * reserve (a tenth of what is left, at most RESERVE_MS) leaves time to answer with what
 * came back before the request's own deadline passes. A secondary part still running at its
 * deadline is cancelled and reported DEADLINE_EXCEEDED; when the primary fails, the
 * secondaries are cancelled and the request fails with the primary's status; when the HTTP
 * client leaves, everything is cancelled.
 */
import type { Message } from '@bufbuild/protobuf';
import type { Call } from '../pipeline';
import { GatewayError } from '../transcode';
import { Cancellation } from '../upstream/transport';
import type { PartialFailures } from './partial-failure';
import type { PartScope } from './upstream-rpc';

/** At most this much of the request's time is kept back from the parts to answer in. */
const RESERVE_MS = 100;

/** Fetches one part within its scope. */
export type PartFetch<T> = (scope: PartScope) => Promise<T>;

export class Aggregation {
  private readonly parts: Cancellation[] = [];
  private readonly failures: Message[] = [];
  private readonly pending: Promise<unknown>[] = [];
  private readonly deadline: number;

  constructor(
    private readonly call: Call,
    partTimeoutMs: number,
    private readonly failuresOf: PartialFailures,
  ) {
    const now = Date.now();
    const request = call.deadline === undefined ? Infinity : call.deadline - Math.min(RESERVE_MS, (call.deadline - now) / 10);
    this.deadline = Math.floor(Math.min(now + partTimeoutMs, request));
    // The request's cancellation has room for one listener: this one cancels every part.
    call.signal.addEventListener('abort', () => this.cancelAll());
  }

  /** Starts the primary part: its failure cancels the other parts and is the request's. */
  primary<T>(fetch: PartFetch<T>): Promise<T> {
    return this.run(fetch).catch((err: unknown) => {
      this.cancelAll();
      throw err;
    });
  }

  /** Starts a secondary part named `part`: undefined (and a partial failure) when it fails. */
  secondary<T>(part: string, fetch: PartFetch<T>): Promise<T | undefined> {
    const settled = this.run(fetch).catch((err: unknown) => {
      this.failures.push(this.failuresOf.of(part, err));
      return undefined;
    });
    this.pending.push(settled);
    return settled;
  }

  /** Waits for every secondary part; then the partial failures, in the order they happened. */
  async partialFailures(): Promise<Message[]> {
    await Promise.all(this.pending);
    return this.failures;
  }

  private run<T>(fetch: PartFetch<T>): Promise<T> {
    const signal = new Cancellation();
    this.parts.push(signal);
    if (this.call.signal.aborted) signal.abort();
    const deadline = this.deadline;
    const work = fetch({ deadline, signal });
    // A part may be several calls in a row, or wait in a bulkhead queue: its deadline is kept here too.
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => {
          // Rejected first: the part's own failure (cancelled) must not win the race.
          reject(new GatewayError('DEADLINE_EXCEEDED', 'the part did not complete within its deadline'));
          signal.abort();
        },
        Math.max(0, deadline - Date.now()),
      );
    });
    return Promise.race([work, late]).finally(() => clearTimeout(timer));
  }

  private cancelAll(): void {
    for (const p of this.parts) p.abort();
  }
}
