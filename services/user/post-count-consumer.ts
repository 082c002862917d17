/**
 * Keeps each account's post counts from the content service's post events: reads
 * WatchPostEvents from the stored cursor and applies every event's count change together with
 * the cursor in one transaction (UserStore.applyPostEvents), so an event replayed after a
 * reconnect or a crash is skipped, never counted twice; and since the content service records
 * each event in the transaction of its change, none is lost. Events that arrive while a
 * transaction runs are applied together in the next one.
 *
 * The stream ends when either side goes away (a restart, a crash, a network cut); the
 * consumer then reconnects with exponential backoff and full jitter (BACKOFF_*), resuming
 * after the stored cursor.
 */
import { credentials, Metadata, status, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import type { Logger } from '../kit';
import { ContentServiceClient, PostEventType, PostStatus, type PostEvent, type WatchPostEventsResponse } from '../../gen/acme/content/v1/content';
import { EventGapError, type CountChange, type UserStore } from './user-store';

const BACKOFF_INITIAL_MS = 100;
const BACKOFF_MAX_MS = 5_000;
/** Failed attempts in a row before the consumer warns (about 3 s of backoff). */
const QUIET_FAILURES = 6;
/** Events applied in one transaction at most. */
const MAX_BATCH = 500;
/** Received events waiting to be applied before the stream is paused (gRPC flow control then holds the sender). */
const HIGH_WATER = 2_000;

/** What the consumer needs; `credential` signs a fresh service credential for each connection. */
export interface PostCountConsumerOptions {
  target: string;
  store: UserStore;
  credential: () => Promise<string>;
  log: Logger;
}

export interface PostCountConsumer {
  /** Ends the stream and waits for the transaction in flight; resolves once nothing more is written. */
  stop(): Promise<void>;
}

/** Starts consuming; runs until stop(). */
export function startPostCountConsumer(options: PostCountConsumerOptions): PostCountConsumer {
  const { store, log } = options;
  // The channel's own reconnection backoff (grpc-js: 1 s up to 120 s) would hold a restarted
  // content service unreached long after it is back; this loop does the backing off.
  const client = new ContentServiceClient(options.target, credentials.createInsecure(), {
    'grpc.initial_reconnect_backoff_ms': BACKOFF_INITIAL_MS,
    'grpc.max_reconnect_backoff_ms': BACKOFF_MAX_MS,
  });
  let stopping = false;
  let current: ClientReadableStream<WatchPostEventsResponse> | undefined;
  let wakeSleep: (() => void) | undefined;

  /** One connection: resolves when the server ends the stream, rejects with why it broke. */
  const session = async (onConnected: (after: bigint) => void): Promise<void> => {
    const after = await store.postEventCursor();
    const md = new Metadata();
    md.set('authorization', `Bearer ${await options.credential()}`);
    if (stopping) return;
    const stream = client.watchPostEvents({ afterSequence: after }, md);
    current = stream;
    await new Promise<void>((resolve, reject) => {
      const pending: CountChange[] = [];
      let applying = false;
      let ended: Error | null | undefined;
      const settle = () => {
        if (applying || ended === undefined) return;
        if (ended) reject(ended);
        else resolve();
      };
      const apply = async () => {
        if (applying) return;
        applying = true;
        try {
          while (pending.length > 0) {
            await store.applyPostEvents(pending.splice(0, MAX_BATCH));
            if (stream.isPaused() && pending.length < HIGH_WATER / 2) stream.resume();
          }
        } catch (err) {
          pending.length = 0;
          ended ??= err as Error;
          stream.cancel();
        } finally {
          applying = false;
          settle();
        }
      };
      stream.on('metadata', () => onConnected(after));
      stream.on('data', (res: WatchPostEventsResponse) => {
        if (!res.event || ended) return;
        pending.push(countChange(res.event));
        if (pending.length >= HIGH_WATER) stream.pause();
        void apply();
      });
      stream.on('error', (err) => {
        ended ??= err;
        settle();
      });
      stream.on('end', () => {
        ended ??= null;
        settle();
      });
    });
  };

  const run = async () => {
    let failures = 0;
    while (!stopping) {
      try {
        await session((after) => {
          if (failures >= QUIET_FAILURES)
            log.info(`post events: connected to ${options.target} after ${failures} failed attempts; resuming after event ${after}`);
          else log.debug(`post events: connected to ${options.target}; resuming after event ${after}`);
          failures = 0;
        });
      } catch (err) {
        if (stopping) break;
        failures++;
        // The content service restarting (or starting after this one) is routine; only a long outage is worth a warning.
        if (err instanceof EventGapError) log.error(`post events: ${err.message}; resuming from the stored cursor`);
        else if (failures === QUIET_FAILURES) log.warn(`post events: ${options.target} failed ${failures} times in a row (${describe(err)}); still retrying`);
        else log.debug(`post events: attempt ${failures} failed: ${describe(err)}`);
      } finally {
        current = undefined;
      }
      if (stopping) break;
      const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_INITIAL_MS * 2 ** Math.max(0, failures - 1));
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.random() * ceiling);
        wakeSleep = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wakeSleep = undefined;
    }
  };
  const running = run();

  return {
    stop: async () => {
      stopping = true;
      current?.cancel();
      wakeSleep?.();
      await running;
      client.close();
    },
  };
}

/** What one event does to its author's counts. */
export function countChange(e: PostEvent): CountChange {
  const published = e.postStatus === PostStatus.POST_STATUS_PUBLISHED ? 1 : 0;
  const base = { sequence: e.sequence, authorId: e.authorId };
  switch (e.type) {
    case PostEventType.POST_EVENT_TYPE_CREATED:
      return { ...base, posts: 1, published };
    case PostEventType.POST_EVENT_TYPE_PUBLISHED:
      return { ...base, posts: 0, published: 1 };
    case PostEventType.POST_EVENT_TYPE_DELETED:
      return { ...base, posts: -1, published: -published };
    default:
      // A kind this version does not know changes no count; its place in the stream still counts.
      return { ...base, posts: 0, published: 0 };
  }
}

function describe(err: unknown): string {
  const e = err as Partial<ServiceError>;
  return typeof e.code === 'number' ? `${status[e.code]}: ${e.details ?? e.message}` : String((err as Error)?.message ?? err);
}
