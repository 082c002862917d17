/**
 * What the aggregation endpoints share, built once at start-up: the upstream sources (user,
 * posts), the partial-failure renderer, and a new Aggregation per request.
 */
import type { Registry } from '@bufbuild/protobuf';
import type { BffConfig } from '../config';
import type { Call } from '../pipeline';
import { Aggregation } from './parts';
import { PartialFailures } from './partial-failure';
import { checkUserCounts } from './post-counts';
import { Posts } from './posts';
import type { UpstreamRpcs } from './upstream-rpc';
import { Users } from './users';

export interface BffParts {
  readonly users: Users;
  readonly posts: Posts;
  /** A new aggregated answer for `call`. */
  aggregation(call: Call): Aggregation;
}

interface Log {
  error(obj: object, msg: string): void;
}

export function bffParts(rpcs: UpstreamRpcs, registry: Registry, config: BffConfig, log: Log): BffParts {
  const users = new Users(rpcs);
  const posts = new Posts(rpcs);
  checkUserCounts(users.user);
  const failures = new PartialFailures(registry, log);
  return { users, posts, aggregation: (call) => new Aggregation(call, config.partTimeoutMs, failures) };
}
