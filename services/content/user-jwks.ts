/**
 * The user service's public keys, fetched with its GetJwks RPC (generated client) and cached
 * by kit's JWKS cache: the content service verifies tokens itself with these keys.
 */
import { credentials, Metadata } from '@grpc/grpc-js';
import type { JSONWebKeySet, JWK } from 'jose';
import { createJwksCache } from '../kit';
import { UserServiceClient } from '../../gen/acme/user/v1/user';

const FETCH_DEADLINE_MS = 5_000;

/** A jose key resolver over the user service's JWKS, and the client to close on shutdown. */
export function userServiceKeys(target: string): { keys: ReturnType<typeof createJwksCache>; close(): void } {
  const client = new UserServiceClient(target, credentials.createInsecure());
  const fetchJwks = () =>
    new Promise<JSONWebKeySet>((resolve, reject) =>
      client.getJwks({}, new Metadata(), { deadline: Date.now() + FETCH_DEADLINE_MS }, (err, res) => {
        if (err) return reject(err);
        // Empty strings are proto3's "unset"; a JWK omits them.
        resolve({ keys: res.keys.map((k) => Object.fromEntries(Object.entries(k).filter(([, v]) => v !== '')) as JWK) });
      }),
    );
  return { keys: createJwksCache(fetchJwks), close: () => client.close() };
}
