/**
 * A user's post counts, as the user service keeps them on acme.user.v1.User: `post_count` and
 * `published_post_count`, fed by the content service's post events through its outbox
 * (issue 15). Read from the user, the primary part, so they cost no call of their own. They are
 * eventually consistent: a post made a moment ago may not be counted yet (usually for
 * milliseconds), while `recent_posts`, read from the content service, already shows it.
 */
import type { DescMessage, Message } from '@bufbuild/protobuf';

/** acme.user.v1.User's counts (int32). */
type UserCounts = Message & { postCount?: number; publishedPostCount?: number };

/** Throws at start-up when the descriptor set's User does not carry the counts. */
export function checkUserCounts(user: DescMessage): void {
  for (const name of ['post_count', 'published_post_count']) {
    if (!user.fields.some((f) => f.name === name))
      throw new Error(`${user.typeName} has no field ${name}: the aggregation endpoints read their counts from it`);
  }
}

/** How many posts the user has published. */
export function publishedCount(user: Message): bigint {
  return BigInt((user as UserCounts).publishedPostCount ?? 0);
}

/** How many drafts the user has: their posts less the published ones. */
export function draftCount(user: Message): bigint {
  const { postCount = 0, publishedPostCount = 0 } = user as UserCounts;
  return BigInt(Math.max(0, postCount - publishedPostCount));
}
