/** The user service's data: accounts in its own schema, on PGlite or PostgreSQL alike. */
import { isUniqueViolation, type Database, type Migration, type Queryable, type Row } from '../kit';
import { Role } from '../../gen/acme/user/v1/user';

/** The event_cursors row of the content service's post events. */
export const POST_EVENTS_SOURCE = 'content.post_events';

/** Schema of the user service; apply with openDatabase. */
export const userMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'users',
    sql: `
      CREATE TABLE users (
        id bigint PRIMARY KEY,
        email text NOT NULL,
        display_name text NOT NULL,
        role smallint NOT NULL,
        password_hash text NOT NULL,
        create_time timestamptz NOT NULL,
        update_time timestamptz NOT NULL
      );
      -- Emails are unique regardless of case.
      CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));
    `,
  },
  {
    version: 2,
    name: 'token version',
    // Tokens carry the version they were issued at; bumping it revokes them (see kit/revocation.ts).
    sql: `ALTER TABLE users ADD COLUMN token_version bigint NOT NULL DEFAULT 1;`,
  },
  {
    version: 3,
    name: 'post counts',
    // Kept from the content service's post events (post-count-consumer.ts), never written by an RPC.
    sql: `
      ALTER TABLE users ADD COLUMN post_count integer NOT NULL DEFAULT 0;
      ALTER TABLE users ADD COLUMN published_post_count integer NOT NULL DEFAULT 0;
    `,
  },
  {
    version: 4,
    name: 'event cursors',
    // The last event applied per event source, moved in the same transaction as the event's effect.
    sql: `
      CREATE TABLE event_cursors (source text PRIMARY KEY, sequence bigint NOT NULL);
      INSERT INTO event_cursors (source, sequence) VALUES ('${POST_EVENTS_SOURCE}', 0);
    `,
  },
];

/** One stored account. */
export interface UserRecord {
  id: bigint;
  email: string;
  displayName: string;
  role: Role;
  passwordHash: string;
  createTime: Date;
  updateTime: Date;
  /** Bumped whenever the role changes: tokens issued at an older version are refused. */
  tokenVersion: number;
  /** The account's posts in the content service (drafts and published), from its post events. */
  postCount: number;
  /** Of those, the published ones. */
  publishedPostCount: number;
}

/** A new account; `bootstrapAdmin` asks for the admin role, granted only while no admin exists. */
export type NewUser = Omit<UserRecord, 'tokenVersion' | 'role' | 'postCount' | 'publishedPostCount'> & { bootstrapAdmin: boolean };

/** The fields an update may change. */
export type UserChanges = Partial<Pick<UserRecord, 'email' | 'displayName' | 'role'>>;

/** One event's change to an author's counts, at its place in the stream. */
export interface CountChange {
  sequence: bigint;
  authorId: bigint;
  posts: number;
  published: number;
}

/** Thrown when an event is not the one after the stored cursor: an event was missed. */
export class EventGapError extends Error {
  constructor(
    readonly cursor: bigint,
    readonly got: bigint,
  ) {
    super(`post event ${got} arrived after ${cursor}: events ${cursor + 1n}..${got - 1n} are missing`);
    this.name = 'EventGapError';
  }
}

/** Returned instead of a record when the email belongs to another account. */
export const EMAIL_TAKEN = 'email_taken' as const;

const COLUMNS = 'id, email, display_name, role, password_hash, create_time, update_time, token_version, post_count, published_post_count';
const CHANGE_COLUMNS: Record<keyof UserChanges, string> = { email: 'email', displayName: 'display_name', role: 'role' };

/** Repository over the `users` table. */
export class UserStore {
  constructor(private readonly db: Database) {}

  /**
   * Inserts an account; EMAIL_TAKEN when the email (any case) is in use. A bootstrap admin
   * gets ROLE_ADMIN only if no admin exists at that moment: the check and the insert hold one
   * lock, so two bootstrap sign-ups cannot both win, and once an admin exists the configured
   * address is an ordinary address.
   */
  async insert(user: NewUser): Promise<UserRecord | typeof EMAIL_TAKEN> {
    const insert = async (q: Queryable, role: Role) => {
      const rows = await q.query(
        `INSERT INTO users (id, email, display_name, role, password_hash, create_time, update_time)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING ${COLUMNS}`,
        [user.id, user.email, user.displayName, role, user.passwordHash, user.createTime, user.updateTime],
      );
      return rows.length === 0 ? EMAIL_TAKEN : toRecord(rows[0]);
    };
    if (!user.bootstrapAdmin) return insert(this.db, Role.ROLE_USER);
    return this.db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`admin-bootstrap:${this.db.schema}`]);
      const admins = await tx.query('SELECT 1 FROM users WHERE role = $1 LIMIT 1', [Role.ROLE_ADMIN]);
      return insert(tx, admins.length === 0 ? Role.ROLE_ADMIN : Role.ROLE_USER);
    });
  }

  /** The account's role and token version now; undefined when it does not exist. */
  async state(id: bigint): Promise<{ role: Role; tokenVersion: number } | undefined> {
    const rows = await this.db.query('SELECT role, token_version FROM users WHERE id = $1', [id]);
    return rows[0] && { role: Number(rows[0].role) as Role, tokenVersion: Number(rows[0].token_version) };
  }

  async get(id: bigint): Promise<UserRecord | undefined> {
    const rows = await this.db.query(`SELECT ${COLUMNS} FROM users WHERE id = $1`, [id]);
    return rows[0] && toRecord(rows[0]);
  }

  async getByEmail(email: string): Promise<UserRecord | undefined> {
    const rows = await this.db.query(`SELECT ${COLUMNS} FROM users WHERE lower(email) = lower($1)`, [email]);
    return rows[0] && toRecord(rows[0]);
  }

  /** Accounts oldest first (ids grow with time), after `afterId`; one extra row tells whether more follow. */
  async list(afterId: bigint | undefined, limit: number): Promise<{ users: UserRecord[]; more: boolean }> {
    const rows = await this.db.query(`SELECT ${COLUMNS} FROM users WHERE ($1::bigint IS NULL OR id > $1::bigint) ORDER BY id LIMIT $2`, [
      afterId ?? null,
      limit + 1,
    ]);
    return { users: rows.slice(0, limit).map(toRecord), more: rows.length > limit };
  }

  /**
   * Applies `changes`; undefined when there is no such account, EMAIL_TAKEN on an email clash.
   * A role that actually changes bumps the token version, revoking the account's tokens.
   */
  async update(id: bigint, changes: UserChanges, now: Date): Promise<UserRecord | undefined | typeof EMAIL_TAKEN> {
    const keys = Object.keys(changes) as (keyof UserChanges)[];
    const sets = keys.map((k, i) => `${CHANGE_COLUMNS[k]} = $${i + 3}`);
    const roleAt = keys.indexOf('role');
    // Compared with the old row inside the statement, so a no-op role write revokes nothing.
    const bump = roleAt === -1 ? '' : `, token_version = token_version + CASE WHEN role <> $${roleAt + 3} THEN 1 ELSE 0 END`;
    try {
      const rows = await this.db.query(`UPDATE users SET update_time = $2${sets.map((s) => `, ${s}`).join('')}${bump} WHERE id = $1 RETURNING ${COLUMNS}`, [
        id,
        now,
        ...keys.map((k) => changes[k]),
      ]);
      return rows[0] && toRecord(rows[0]);
    } catch (err) {
      if (isUniqueViolation(err)) return EMAIL_TAKEN;
      throw err;
    }
  }

  /** The sequence of the last post event applied (0 before the first). */
  async postEventCursor(): Promise<bigint> {
    const rows = await this.db.query('SELECT sequence FROM event_cursors WHERE source = $1', [POST_EVENTS_SOURCE]);
    return BigInt(rows[0].sequence as string);
  }

  /**
   * Applies post events' count changes and moves the cursor past them, in one transaction: an
   * event at or before the cursor was applied already and is skipped (a replay after a
   * reconnect), so none counts twice. Events must follow the cursor without a gap
   * (EventGapError, nothing applied). Returns how many were applied.
   */
  async applyPostEvents(changes: readonly CountChange[]): Promise<number> {
    return this.db.transaction(async (tx) => {
      // FOR UPDATE: two consumers on one database (two instances) apply each event once between them.
      const [row] = await tx.query('SELECT sequence FROM event_cursors WHERE source = $1 FOR UPDATE', [POST_EVENTS_SOURCE]);
      let cursor = BigInt(row.sequence as string);
      let applied = 0;
      for (const c of changes) {
        if (c.sequence <= cursor) continue;
        if (c.sequence !== cursor + 1n) throw new EventGapError(cursor, c.sequence);
        if (c.posts !== 0 || c.published !== 0) {
          // An author deleted meanwhile has no row: the event still moves the cursor.
          await tx.query('UPDATE users SET post_count = post_count + $2, published_post_count = published_post_count + $3 WHERE id = $1', [
            c.authorId,
            c.posts,
            c.published,
          ]);
        }
        cursor = c.sequence;
        applied++;
      }
      if (applied > 0) await tx.query('UPDATE event_cursors SET sequence = $2 WHERE source = $1', [POST_EVENTS_SOURCE, cursor]);
      return applied;
    });
  }

  /** Deletes an account; false when there was none. */
  async delete(id: bigint): Promise<boolean> {
    const rows = await this.db.query('DELETE FROM users WHERE id = $1 RETURNING id', [id]);
    return rows.length > 0;
  }
}

function toRecord(row: Row): UserRecord {
  return {
    id: BigInt(row.id as string),
    email: row.email as string,
    displayName: row.display_name as string,
    role: Number(row.role) as Role,
    passwordHash: row.password_hash as string,
    createTime: new Date(row.create_time as Date),
    updateTime: new Date(row.update_time as Date),
    tokenVersion: Number(row.token_version),
    postCount: Number(row.post_count),
    publishedPostCount: Number(row.published_post_count),
  };
}
