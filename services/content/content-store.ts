/** The content service's data: posts in its own schema, on PGlite or PostgreSQL alike. */
import type { Database, Migration, Row } from '../kit';
import { PostStatus } from '../../gen/acme/content/v1/content';

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

/** Repository over the `posts` table. */
export class PostStore {
  constructor(private readonly db: Database) {}

  async insert(post: PostRecord): Promise<PostRecord> {
    const rows = await this.db.query(`INSERT INTO posts (${COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ${COLUMNS}`, [
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
    const rows = await this.db.query(`UPDATE posts SET status = $3, publish_time = $2, update_time = $2 WHERE id = $1 AND status = $4 RETURNING ${COLUMNS}`, [
      id,
      now,
      PostStatus.POST_STATUS_PUBLISHED,
      PostStatus.POST_STATUS_DRAFT,
    ]);
    return rows[0] && toRecord(rows[0]);
  }

  /** Deletes a post; false when there was none. */
  async delete(id: bigint): Promise<boolean> {
    return (await this.db.query('DELETE FROM posts WHERE id = $1 RETURNING id', [id])).length > 0;
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
