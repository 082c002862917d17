/**
 * The transactional outbox of post events. Every change that other services care about
 * (a post created, published, deleted) writes its event row in the same transaction as the
 * change itself, so an event exists exactly when its change committed: none lost when the
 * process dies between the two, none for a change that rolled back. WatchPostEvents reads
 * them back in sequence order.
 *
 * Sequences are gapless and commit in order: the next one is taken by updating the single
 * row of post_event_sequence, whose row lock is held until the transaction ends, so a second
 * writer waits and gets N+1 only after N committed (and a rolled-back N is handed out again).
 * A reader therefore never sees N+1 before N, and a consumer can treat a gap as a bug.
 * The price: event-writing transactions are serialized for the moment between taking the
 * sequence and committing (the last statements of the transaction); PGlite serializes
 * everything anyway.
 */
import type { Queryable, Row } from '../kit';
import { PostEventType, type PostStatus } from '../../gen/acme/content/v1/content';

/** The outbox's schema; migration 2 of the content service. Posts from before it get one creation event each. */
export const OUTBOX_MIGRATION_SQL = `
  CREATE TABLE post_events (
    sequence bigint PRIMARY KEY,
    type smallint NOT NULL,
    post_id bigint NOT NULL,
    author_id bigint NOT NULL,
    post_status smallint NOT NULL,
    event_time timestamptz NOT NULL
  );
  CREATE TABLE post_event_sequence (last bigint NOT NULL);
  INSERT INTO post_events (sequence, type, post_id, author_id, post_status, event_time)
    SELECT row_number() OVER (ORDER BY id), ${PostEventType.POST_EVENT_TYPE_CREATED}, id, author_id, status, create_time FROM posts;
  INSERT INTO post_event_sequence (last) SELECT count(*) FROM post_events;
`;

/** One recorded event. */
export interface PostEventRecord {
  sequence: bigint;
  type: PostEventType;
  postId: bigint;
  authorId: bigint;
  /** The post's status after the change (for a deletion: the status it had). */
  postStatus: PostStatus;
  eventTime: Date;
}

/** Records an event inside the change's transaction `tx`; call it last, it serializes event writers until commit. */
export async function appendPostEvent(
  tx: Queryable,
  type: PostEventType,
  post: { id: bigint; authorId: bigint; status: PostStatus },
  at: Date,
): Promise<bigint> {
  const [{ last }] = await tx.query<{ last: string }>('UPDATE post_event_sequence SET last = last + 1 RETURNING last');
  const sequence = BigInt(last);
  await tx.query('INSERT INTO post_events (sequence, type, post_id, author_id, post_status, event_time) VALUES ($1, $2, $3, $4, $5, $6)', [
    sequence,
    type,
    post.id,
    post.authorId,
    post.status,
    at,
  ]);
  return sequence;
}

/** Up to `limit` events after `after`, in sequence order. */
export async function readPostEvents(q: Queryable, after: bigint, limit: number): Promise<PostEventRecord[]> {
  const rows = await q.query(
    'SELECT sequence, type, post_id, author_id, post_status, event_time FROM post_events WHERE sequence > $1 ORDER BY sequence LIMIT $2',
    [after, limit],
  );
  return rows.map(toEvent);
}

function toEvent(row: Row): PostEventRecord {
  return {
    sequence: BigInt(row.sequence as string),
    type: Number(row.type) as PostEventType,
    postId: BigInt(row.post_id as string),
    authorId: BigInt(row.author_id as string),
    postStatus: Number(row.post_status) as PostStatus,
    eventTime: new Date(row.event_time as Date),
  };
}
