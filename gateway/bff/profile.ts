/**
 * GET /v1/users/{id}/profile (acme.bff.v1.BffService/GetUserProfile): the user (primary),
 * their five most recent published posts and their published post count, fetched in parallel.
 */
import { create, type DescMessage, type Message } from '@bufbuild/protobuf';
import type { LocalMethod } from './local-upstream';
import type { BffParts } from './bff-parts';

/** Posts on a profile. */
const RECENT_POSTS = 5;

export function getUserProfile(parts: BffParts, output: DescMessage): LocalMethod {
  const { users, posts, counts } = parts;
  return async (request, call) => {
    const id = (request as Message & { id: bigint }).id;
    const agg = parts.aggregation(call);
    const user = agg.primary((scope) => users.get(call, id, scope));
    const recentPosts = agg.secondary('recent_posts', (scope) => posts.recent(call, { authorId: id, status: posts.published }, RECENT_POSTS, scope));
    const postCount = counts.published(agg, call, id, user, 'post_count');
    return create(output, {
      user: await user,
      recentPosts: (await recentPosts) ?? [],
      postCount: await postCount,
      partialFailures: await agg.partialFailures(),
    });
  };
}
