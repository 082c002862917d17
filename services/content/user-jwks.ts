/**
 * What the content service asks the user service: its public keys (GetJwks, cached by kit's
 * JWKS cache: tokens are verified here with these keys) and whether a token is still
 * current (CheckAccessToken, called with the caller's own token; kit's revocation check
 * caches the answer per account for ACCOUNT_CACHE_MS).
 */
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import type { JSONWebKeySet, JWK } from 'jose';
import { createJwksCache, statusError, unauthenticated, type AccountLookup } from '../kit';
import { Role, UserServiceClient } from '../../gen/acme/user/v1/user';

const FETCH_DEADLINE_MS = 5_000;

/** A jose key resolver over the user service's JWKS, the account check, and the client to close on shutdown. */
export function userServiceKeys(target: string): { keys: ReturnType<typeof createJwksCache>; lookup: AccountLookup; close(): void } {
  const client = new UserServiceClient(target, credentials.createInsecure());
  const fetchJwks = () =>
    new Promise<JSONWebKeySet>((resolve, reject) =>
      client.getJwks({}, new Metadata(), { deadline: Date.now() + FETCH_DEADLINE_MS }, (err, res) => {
        if (err) return reject(err);
        // Empty strings are proto3's "unset"; a JWK omits them.
        resolve({ keys: res.keys.map((k) => Object.fromEntries(Object.entries(k).filter(([, v]) => v !== '')) as JWK) });
      }),
    );
  const lookup: AccountLookup = (_caller, token) =>
    new Promise((resolve, reject) => {
      const md = new Metadata();
      md.set('authorization', `Bearer ${token}`);
      client.checkAccessToken({}, md, { deadline: Date.now() + FETCH_DEADLINE_MS }, (err: ServiceError | null, res) => {
        if (!err) return resolve({ role: res.role === Role.ROLE_ADMIN ? 'admin' : 'user', tokenVersion: Number(res.tokenVersion) });
        // The user service refusing the token is the answer (revoked, deleted, invalid); anything else is an outage.
        if (err.code === status.UNAUTHENTICATED) return reject(unauthenticated('this token was revoked: sign in again', 'TOKEN_REVOKED'));
        reject(statusError(status.UNAVAILABLE, 'cannot check the account right now', { reason: 'ACCOUNT_CHECK_UNAVAILABLE' }));
      });
    });
  return { keys: createJwksCache(fetchJwks), lookup, close: () => client.close() };
}
