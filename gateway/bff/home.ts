/**
 * GET /v1/me/home (acme.bff.v1.BffService/GetHome): for the caller (the verified token's
 * subject), their account (primary), the most recent published posts from everyone and
 * their draft count, fetched in parallel.
 */
import { create, type DescMessage } from '@bufbuild/protobuf';
import { decodeJwt } from 'jose';
import { bearerToken } from '../../shared-kit';
import type { Call } from '../pipeline';
import { GatewayError } from '../transcode';
import type { BffParts } from './bff-parts';
import type { LocalMethod } from './local-upstream';

const MAX_INT64 = 2n ** 63n - 1n;

/** Posts on the home screen. */
const RECENT_POSTS = 20;

export function getHome(parts: BffParts, output: DescMessage): LocalMethod {
  const { users, posts, counts } = parts;
  return async (_request, call) => {
    const me = callerId(call);
    const agg = parts.aggregation(call);
    const user = agg.primary((scope) => users.get(call, me, scope));
    const recentPosts = agg.secondary('recent_posts', (scope) => posts.recent(call, { authorId: 0n, status: posts.published }, RECENT_POSTS, scope));
    const draftCount = counts.drafts(agg, call, me, user, 'draft_count');
    return create(output, {
      user: await user,
      recentPosts: (await recentPosts) ?? [],
      draftCount: await draftCount,
      partialFailures: await agg.partialFailures(),
    });
  };
}

/**
 * The caller's account id: the subject edge auth verified. With auth off (development) the
 * token is read unverified; the user service verifies it on GetUser, so a forged subject
 * gets the service's UNAUTHENTICATED, not someone else's home.
 */
function callerId(call: Call): bigint {
  let subject = call.subject;
  if (subject === undefined) {
    const header = call.headers.authorization;
    const token = bearerToken(Array.isArray(header) ? header[0] : header);
    if (token) {
      try {
        subject = decodeJwt(token).sub;
      } catch {
        subject = undefined;
      }
    }
  }
  if (subject === undefined) throw new GatewayError('UNAUTHENTICATED', 'this method needs a bearer token');
  const id = /^[1-9]\d{0,18}$/.test(subject) ? BigInt(subject) : 0n;
  if (id === 0n || id > MAX_INT64) throw new GatewayError('UNAUTHENTICATED', 'the bearer token names no account');
  return id;
}
