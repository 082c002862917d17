/**
 * GET /v1/me/home (acme.bff.v1.BffService/GetHome): for the caller (the verified token's
 * subject), their account (primary) with their draft count (kept on the user), and the most
 * recent published posts from everyone, fetched in parallel.
 */
import { create, type DescMessage } from '@bufbuild/protobuf';
import { decodeJwt } from 'jose';
import { bearerToken } from '../../shared-kit';
import type { Call } from '../pipeline';
import { GatewayError } from '../transcode';
import type { BffParts } from './bff-parts';
import type { LocalMethod } from './local-upstream';
import { draftCount } from './post-counts';

const MAX_INT64 = 2n ** 63n - 1n;

/** Posts on the home screen. */
const RECENT_POSTS = 20;

export function getHome(parts: BffParts, output: DescMessage): LocalMethod {
  const { users, posts } = parts;
  return async (_request, call) => {
    const me = callerId(call);
    const agg = parts.aggregation(call);
    const user = agg.primary((scope) => users.get(call, me, scope));
    const recentPosts = agg.secondary('recent_posts', (scope) => posts.recent(call, { authorId: 0n, status: posts.published }, RECENT_POSTS, scope));
    const account = await user;
    return create(output, {
      user: account,
      recentPosts: (await recentPosts) ?? [],
      draftCount: draftCount(account),
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
