/** The content service's data: posts in its own schema, on PGlite or PostgreSQL alike. */
import type { Database, Migration, Queryable, Row } from '../kit';
import { PostEventType, PostStatus } from '../../gen/acme/content/v1/content';
import { appendPostEvent, OUTBOX_MIGRATION_SQL, readPostEvents, type PostEventRecord } from './post-outbox';

/** Schema of the content service; apply with openDatabase. */
export const contentMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'posts',
    sql: `
      CREATE TABLE posts (
        id bigint PRIMARY KEY,
        author_id bigint NOT NULL,
        title text NOT NULL,
        body text NOT NULL,
        tags text[] NOT NULL DEFAULT '{}',
        status smallint NOT NULL,
        create_time timestamptz NOT NULL,
        update_time timestamptz NOT NULL,
        publish_time timestamptz
      );
      CREATE INDEX posts_author_id_idx ON posts (author_id, id DESC);
      CREATE INDEX posts_tags_idx ON posts USING gin (tags);
    `,
  },
  { version: 2, name: 'post events outbox', sql: OUTBOX_MIGRATION_SQL },
];

/** One stored post. */
export interface PostRecord {
  id: bigint;
  authorId: bigint;
  title: string;
  body: string;
  tags: string[];
  status: PostStatus;
  createTime: Date;
  updateTime: Date;
  publishTime: Date | undefined;
}

/** The fields an update may change. */
export type PostChanges = Partial<Pick<PostRecord, 'title' | 'body' | 'tags'>>;

/** Who is listing: everything (admins), published plus their own (users), or published only (anonymous). */
export type Viewer = { kind: 'all' } | { kind: 'user'; userId: bigint } | { kind: 'anonymous' };

export interface PostQuery {
  authorId?: bigint;
  status?: PostStatus;
  tag?: string;
  viewer: Viewer;
  /** Continue after this id (keyset pagination, newest first). */
  beforeId?: bigint;
  limit: number;
}

const COLUMNS = 'id, author_id, title, body, tags, status, create_time, update_time, publish_time';
const CHANGE_COLUMNS: Record<keyof PostChanges, string> = { title: 'title', body: 'body', tags: 'tags' };

/**
 * Repository over the `posts` table and its outbox (post-outbox.ts): creating, publishing and
 * deleting a post record their event in the same transaction; `onEvent` runs after each
 * such commit (to wake WatchPostEvents streams).
 */
export class PostStore {
  constructor(
    private readonly db: Database,
    private readonly onEvent: () => void = () => {},
  ) {}

  /** Inserts a post and its creation event. */
  async insert(post: PostRecord): Promise<PostRecord> {
    return this.withEvent(PostEventType.POST_EVENT_TYPE_CREATED, post.createTime, async (tx) => {
      const rows = await tx.query(`INSERT INTO posts (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ${COLUMNS}`, [
        post.id,
        post.authorId,
        post.title,
        post.body,
        post.tags,
        post.status,
        post.createTime,
        post.updateTime,
        post.publishTime ?? null,
      ]);
      return toRecord(rows[0]);
    });
  }

  /** Up to `limit` post events after sequence `after`, oldest first. */
  events(after: bigint, limit: number): Promise<PostEventRecord[]> {
    return readPostEvents(this.db, after, limit);
  }

  /** Runs `change` and, when it returns a post, records `type` for it, all in one transaction. */
  private async withEvent<T extends { id: bigint; authorId: bigint; status: PostStatus } | undefined>(
    type: PostEventType,
    at: Date,
    change: (tx: Queryable) => Promise<T>,
  ): Promise<T> {
    const result = await this.db.transaction(async (tx) => {
      const post = await change(tx);
      if (post) await appendPostEvent(tx, type, post, at);
      return post;
    });
    if (result) this.onEvent();
    return result;
  }

  async get(id: bigint): Promise<PostRecord | undefined> {
    const rows = await this.db.query(`SELECT ${COLUMNS} FROM posts WHERE id = $1`, [id]);
    return rows[0] && toRecord(rows[0]);
  }

  /** Posts matching `q`, newest first (ids grow with time); one extra row tells whether more follow. */
  async list(q: PostQuery): Promise<{ posts: PostRecord[]; more: boolean }> {
    const rows = await this.db.query(
      `SELECT ${COLUMNS} FROM posts
       WHERE ($1::bigint IS NULL OR author_id = $1::bigint)
         AND ($2::smallint IS NULL OR status = $2::smallint)
         AND ($3::text IS NULL OR $3::text = ANY (tags))
         AND ($4::bigint IS NULL OR id < $4::bigint)
         AND ($5::boolean OR status = ${PostStatus.POST_STATUS_PUBLISHED} OR author_id = $6::bigint)
       ORDER BY id DESC
       LIMIT $7`,
      [
        q.authorId ?? null,
        q.status ?? null,
        q.tag ?? null,
        q.beforeId ?? null,
        q.viewer.kind === 'all',
        q.viewer.kind === 'user' ? q.viewer.userId : null,
        q.limit + 1,
      ],
    );
    return { posts: rows.slice(0, q.limit).map(toRecord), more: rows.length > q.limit };
  }

  /** Applies `changes`; undefined when there is no such post. */
  async update(id: bigint, changes: PostChanges, now: Date): Promise<PostRecord | undefined> {
    const keys = Object.keys(changes) as (keyof PostChanges)[];
    const sets = keys.map((k, i) => `, ${CHANGE_COLUMNS[k]} = $${i + 3}`).join('');
    const rows = await this.db.query(`UPDATE posts SET update_time = $2${sets} WHERE id = $1 RETURNING ${COLUMNS}`, [id, now, ...keys.map((k) => changes[k])]);
    return rows[0] && toRecord(rows[0]);
  }

  /** Publishes a draft; undefined when there is no such draft (gone, or published meanwhile). */
  async publish(id: bigint, now: Date): Promise<PostRecord | undefined> {
    return this.withEvent(PostEventType.POST_EVENT_TYPE_PUBLISHED, now, async (tx) => {
      const rows = await tx.query(`UPDATE posts SET status = $3, publish_time = $2, update_time = $2 WHERE id = $1 AND status = $4 RETURNING ${COLUMNS}`, [
        id,
        now,
        PostStatus.POST_STATUS_PUBLISHED,
        PostStatus.POST_STATUS_DRAFT,
      ]);
      return rows[0] && toRecord(rows[0]);
    });
  }

  /** Deletes a post and records its deletion event; false when there was none. */
  async delete(id: bigint): Promise<boolean> {
    const deleted = await this.withEvent(PostEventType.POST_EVENT_TYPE_DELETED, new Date(), async (tx) => {
      const rows = await tx.query('DELETE FROM posts WHERE id = $1 RETURNING id, author_id, status', [id]);
      return rows[0] && { id, authorId: BigInt(rows[0].author_id as string), status: Number(rows[0].status) as PostStatus };
    });
    return deleted !== undefined;
  }
}

function toRecord(row: Row): PostRecord {
  return {
    id: BigInt(row.id as string),
    authorId: BigInt(row.author_id as string),
    title: row.title as string,
    body: row.body as string,
    tags: [...(row.tags as string[])],
    status: Number(row.status) as PostStatus,
    createTime: new Date(row.create_time as Date),
    updateTime: new Date(row.update_time as Date),
    publishTime: row.publish_time == null ? undefined : new Date(row.publish_time as Date),
  };
}
