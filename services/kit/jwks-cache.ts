/**
 * A key resolver over a JWKS fetched from elsewhere (the user service's GetJwks), cached in
 * memory and fetched again when a token names a kid the cache does not hold (key rotation),
 * at most once per `minRefreshMs`.
 */
import { status } from '@grpc/grpc-js';
import { createLocalJWKSet, errors, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { statusError } from './status-error';

export interface JwksCacheOptions {
  /** Smallest gap between two fetches caused by unknown kids (protects the key source). */
  minRefreshMs?: number;
}

/** Returns a jose key resolver backed by `fetchJwks`. */
export function createJwksCache(fetchJwks: () => Promise<JSONWebKeySet>, options: JwksCacheOptions = {}): JWTVerifyGetKey {
  const minRefreshMs = options.minRefreshMs ?? 5_000;
  let local: JWTVerifyGetKey | undefined;
  let fetchedAt = 0;
  let inflight: Promise<JWTVerifyGetKey> | undefined;

  const refresh = (): Promise<JWTVerifyGetKey> => {
    inflight ??= fetchJwks()
      .then((jwks) => {
        local = createLocalJWKSet(jwks);
        fetchedAt = Date.now();
        return local;
      })
      .catch((err: unknown) => {
        throw statusError(status.UNAVAILABLE, 'token keys are unavailable', {
          reason: 'JWKS_UNAVAILABLE',
          metadata: { cause: String((err as Error)?.message ?? err) },
        });
      })
      .finally(() => {
        inflight = undefined;
      });
    return inflight;
  };

  return async (header, token) => {
    const keys = local ?? (await refresh());
    try {
      return await keys(header, token);
    } catch (err) {
      const unknownKid = err instanceof errors.JWKSNoMatchingKey;
      if (!unknownKid || Date.now() - fetchedAt < minRefreshMs) throw err;
      return (await refresh())(header, token);
    }
  };
}
