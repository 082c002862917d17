/**
 * Revocation: a valid signature is not enough, the token must also match the account as it
 * is now. Every token carries the account's token version (`ver`) and role; the account's
 * version is bumped when its role changes, and a deleted account has no state at all. So a
 * deleted user's token, or a demoted admin's, stops working within `ttlMs` (the cache
 * window) on every service, and at once on the service that made the change (it calls
 * `forget`). Lookups are cached per account for at most `ttlMs`, so the check costs one
 * lookup per account per window, not one per call.
 */
import { status } from '@grpc/grpc-js';
import { StatusError, statusError } from './status-error';
import { unauthenticated, type Caller, type RoleName, type TokenVerifier } from './token-verifier';

/** An account as stored now. */
export interface AccountState {
  role: RoleName;
  tokenVersion: number;
}

/** Reads an account's current state; undefined when the account does not exist. */
export type AccountLookup = (caller: Caller, token: string) => Promise<AccountState | undefined>;

export interface RevocationOptions {
  /** How long a looked-up state is trusted: the revocation window. */
  ttlMs: number;
  /** Cached accounts at most; the oldest entries go first. */
  maxEntries?: number;
}

/** A verifier that also refuses revoked tokens, plus `forget` to drop an account's cached state after a change. */
export interface RevocationVerifier extends TokenVerifier {
  forget(userId: bigint): void;
}

interface Entry {
  state: AccountState | undefined;
  at: number;
}

/** Wraps `verify` (signature and claims) with the account-state check. */
export function withRevocation(verify: TokenVerifier, lookup: AccountLookup, options: RevocationOptions): RevocationVerifier {
  const maxEntries = options.maxEntries ?? 10_000;
  const cache = new Map<bigint, Entry>();
  const inflight = new Map<bigint, Promise<AccountState | undefined>>();

  const current = async (caller: Caller, token: string): Promise<AccountState | undefined> => {
    const hit = cache.get(caller.userId);
    if (hit && Date.now() - hit.at < options.ttlMs) return hit.state;
    let pending = inflight.get(caller.userId);
    if (!pending) {
      pending = lookup(caller, token).finally(() => inflight.delete(caller.userId));
      inflight.set(caller.userId, pending);
      const state = await pending;
      cache.delete(caller.userId);
      if (cache.size >= maxEntries) cache.delete(cache.keys().next().value as bigint);
      cache.set(caller.userId, { state, at: Date.now() });
      return state;
    }
    return pending;
  };

  const verifier = (async (token: string): Promise<Caller> => {
    const caller = await verify(token);
    let state: AccountState | undefined;
    try {
      state = await current(caller, token);
    } catch (err) {
      if (err instanceof StatusError) throw err;
      throw statusError(status.UNAVAILABLE, 'cannot check the account right now', { reason: 'ACCOUNT_CHECK_UNAVAILABLE' });
    }
    if (!state) throw unauthenticated('the account of this token no longer exists', 'TOKEN_REVOKED');
    if (state.tokenVersion !== caller.tokenVersion || state.role !== caller.role) {
      throw unauthenticated('this token was revoked: sign in again', 'TOKEN_REVOKED');
    }
    return caller;
  }) as RevocationVerifier;
  verifier.forget = (userId) => {
    cache.delete(userId);
  };
  return verifier;
}
