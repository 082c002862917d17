/**
 * Where the aggregation endpoints find a user's post counts. The user service keeps
 * `post_count` and `published_post_count` on the user (fed by the content service's outbox,
 * issue 15); when the descriptor set's acme.user.v1.User has both fields they are read from
 * the user, the primary part, at no extra call. Otherwise (a descriptor set from before
 * them) each count is a secondary part of its own, counted from the content service.
 * Decided once, at start-up, from the descriptor.
 *
 * USER_KEEPS_COUNTS holds the switch off while the fields exist but the services do not yet
 * feed them from the post events (they would read 0): it goes once the outbox lands.
 */
import type { DescMessage, Message } from '@bufbuild/protobuf';
import type { Call } from '../pipeline';
import type { Aggregation } from './parts';
import type { Posts } from './posts';

const USER_KEEPS_COUNTS = false;

/** acme.user.v1.User's counts (int32). */
type UserCounts = Message & { postCount?: number; publishedPostCount?: number };

export class PostCounts {
  /** True when the user carries its counts. */
  readonly onUser: boolean;

  constructor(
    user: DescMessage,
    private readonly posts: Posts,
  ) {
    const names = new Set(user.fields.map((f) => f.name));
    this.onUser = USER_KEEPS_COUNTS && names.has('post_count') && names.has('published_post_count');
  }

  /** `authorId`'s published posts: from `user` (the primary part), else the secondary part `part`. */
  published(agg: Aggregation, call: Call, authorId: bigint, user: Promise<Message>, part: string): Promise<bigint | undefined> {
    // The primary's failure is the request's, handled where the primary is awaited.
    if (this.onUser) return user.then((u) => BigInt((u as UserCounts).publishedPostCount ?? 0), noValue);
    return agg.secondary(part, (scope) => this.posts.count(call, { authorId, status: this.posts.published }, scope));
  }

  /** `authorId`'s drafts (visible to the author only): from `user`, else the secondary part `part`. */
  drafts(agg: Aggregation, call: Call, authorId: bigint, user: Promise<Message>, part: string): Promise<bigint | undefined> {
    if (this.onUser) {
      return user.then((u) => {
        const { postCount = 0, publishedPostCount = 0 } = u as UserCounts;
        return BigInt(Math.max(0, postCount - publishedPostCount));
      }, noValue);
    }
    return agg.secondary(part, (scope) => this.posts.count(call, { authorId, status: this.posts.draft }, scope));
  }
}

const noValue = (): undefined => undefined;
