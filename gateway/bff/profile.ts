/**
 * GET /v1/users/{id}/profile (acme.bff.v1.BffService/GetUserProfile): the user (primary),
 * their five most recent published posts (in parallel), and their published post count (kept on the user).
 */
import { create, type DescMessage, type Message } from '@bufbuild/protobuf';
import type { LocalMethod } from './local-upstream';
import type { BffParts } from './bff-parts';
import { publishedCount } from './post-counts';

/** Posts on a profile. */
const RECENT_POSTS = 5;

export function getUserProfile(parts: BffParts, output: DescMessage): LocalMethod {
  const { users, posts } = parts;
  return async (request, call) => {
    const id = (request as Message & { id: bigint }).id;
    const agg = parts.aggregation(call);
    const user = agg.primary((scope) => users.get(call, id, scope));
    const recentPosts = agg.secondary('recent_posts', (scope) => posts.recent(call, { authorId: id, status: posts.published }, RECENT_POSTS, scope));
    const account = await user;
    return create(output, {
      user: account,
      recentPosts: (await recentPosts) ?? [],
      postCount: publishedCount(account),
      partialFailures: await agg.partialFailures(),
    });
  };
}
