/**
 * WatchPostEvents: replays the outbox after the caller's cursor, then tails it. The stream
 * reads the rows (the truth) in batches; an in-process commit signal, or a poll every
 * POLL_MS when another process wrote (several instances on one PostgreSQL), wakes it for
 * more. Each event is written only after the previous one was accepted by the transport
 * (backpressure), so a slow consumer holds one batch in memory, not the outbox.
 */
import { Metadata, status, type ServerWritableStream } from '@grpc/grpc-js';
import { statusError, toTimestamp } from '../kit';
import type { WatchPostEventsRequest, WatchPostEventsResponse } from '../../gen/acme/content/v1/content';
import type { PostStore } from './content-store';
import type { PostEvents } from './post-events';
import type { PostEventRecord } from './post-outbox';

const BATCH = 200;
/** How often a tailing stream looks at the outbox without a signal (writes by another instance). */
const POLL_MS = 1_000;

type Call = ServerWritableStream<WatchPostEventsRequest, WatchPostEventsResponse>;

/** Streams events after `call.request.afterSequence` until the caller hangs up or the service shuts down. */
export function streamPostEvents(call: Call, store: PostStore, events: PostEvents): Promise<void> {
  let after = call.request.afterSequence;
  return new Promise<void>((resolve, reject) => {
    let done = false;
    let more = true;
    let wake: (() => void) | undefined;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      unsubscribe();
      wake?.();
      if (err) reject(err);
      else resolve();
    };
    const unsubscribe = events.subscribeCommits(
      () => {
        more = true;
        wake?.();
      },
      // Shutting down: UNAVAILABLE, not a clean end, so the consumer reconnects (here after the restart, or elsewhere).
      () => finish(statusError(status.UNAVAILABLE, 'the content service is shutting down; reconnect', { reason: 'SHUTTING_DOWN' })),
    );
    call.on('cancelled', () => finish());
    call.sendMetadata(new Metadata());

    const pump = async () => {
      while (!done) {
        more = false;
        const batch = await store.events(after, BATCH);
        for (const event of batch) {
          if (done) return;
          if (!call.write({ event: toPostEvent(event) })) await drained(call);
          after = event.sequence;
        }
        if (batch.length === BATCH || more || done) continue;
        await new Promise<void>((resolveWait) => {
          const timer = setTimeout(resolveWait, POLL_MS);
          wake = () => {
            clearTimeout(timer);
            resolveWait();
          };
        });
        wake = undefined;
      }
    };
    pump().catch((err: unknown) => finish(err as Error));
  });
}

function drained(call: Call): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      call.off('drain', done);
      call.off('cancelled', done);
      resolve();
    };
    call.on('drain', done);
    call.on('cancelled', done);
  });
}

function toPostEvent(e: PostEventRecord): WatchPostEventsResponse['event'] {
  return { sequence: e.sequence, type: e.type, postId: e.postId, authorId: e.authorId, postStatus: e.postStatus, eventTime: toTimestamp(e.eventTime) };
}
