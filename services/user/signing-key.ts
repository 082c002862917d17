/**
 * The access-token signing key: Ed25519, generated on first start and kept in the data
 * directory as a private JWK (file mode 0600), so tokens stay valid across restarts. Its
 * public half is served by GetJwks; `kid` is the RFC 7638 thumbprint.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, SignJWT, type JWK, type KeyLike } from 'jose';
import { SERVICE_AUDIENCE, serviceSubject, TOKEN_ALGORITHM, TOKEN_AUDIENCE, TOKEN_ISSUER, type RoleName } from '../kit';

/** The loaded key pair. */
export interface SigningKey {
  kid: string;
  privateKey: KeyLike | Uint8Array;
  /** Public JWK with kid, alg and use, as published in the JWKS. */
  publicJwk: JWK;
}

/** Where the key lives under the data directory. */
export function signingKeyPath(dataDir: string): string {
  return join(dataDir, 'keys', 'user-signing-key.jwk.json');
}

/** Loads the key from the data directory, generating and saving it on first start. */
export async function loadOrCreateSigningKey(dataDir: string): Promise<SigningKey> {
  const path = signingKeyPath(dataDir);
  if (!existsSync(path)) {
    const { privateKey } = await generateKeyPair(TOKEN_ALGORITHM, { crv: 'Ed25519', extractable: true });
    const jwk = await exportJWK(privateKey);
    jwk.kid = await calculateJwkThumbprint(jwk);
    jwk.alg = TOKEN_ALGORITHM;
    mkdirSync(join(dataDir, 'keys'), { recursive: true, mode: 0o700 });
    try {
      // 'wx': if another process created it first, keep theirs and read it below.
      writeFileSync(path, JSON.stringify(jwk, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  const jwk = JSON.parse(readFileSync(path, 'utf8')) as JWK;
  if (jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519' || !jwk.d || !jwk.x) throw new Error(`${path} is not an Ed25519 private JWK`);
  const kid = jwk.kid ?? (await calculateJwkThumbprint(jwk));
  return {
    kid,
    privateKey: await importJWK(jwk, TOKEN_ALGORITHM),
    publicJwk: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, kid, alg: TOKEN_ALGORITHM, use: 'sig' },
  };
}

/** Signs an access token for a user at the account's current token version; returns the JWT and its expiry. */
export async function issueAccessToken(
  key: SigningKey,
  userId: bigint,
  role: RoleName,
  tokenVersion: number,
  ttlSeconds: number,
): Promise<{ token: string; expiresAt: Date }> {
  const now = Math.floor(Date.now() / 1000);
  const exp = now + ttlSeconds;
  // `ver` is the account's token version: a token stops working when the account's moves on.
  const token = await new SignJWT({ role, ver: tokenVersion })
    .setProtectedHeader({ alg: TOKEN_ALGORITHM, kid: key.kid, typ: 'JWT' })
    .setSubject(userId.toString())
    .setIssuer(TOKEN_ISSUER)
    .setAudience(TOKEN_AUDIENCE)
    .setIssuedAt(now)
    .setExpirationTime(exp)
    .sign(key.privateKey);
  return { token, expiresAt: new Date(exp * 1000) };
}

/**
 * Signs a service credential for `service` (kit/service-token.ts): the user service is the
 * issuer, so it signs its own when it calls another service's services-only methods.
 */
export async function issueServiceToken(key: SigningKey, service: string, ttlSeconds: number): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: TOKEN_ALGORITHM, kid: key.kid, typ: 'JWT' })
    .setSubject(serviceSubject(service))
    .setIssuer(TOKEN_ISSUER)
    .setAudience(SERVICE_AUDIENCE)
    .setIssuedAt(now)
    .setExpirationTime(now + ttlSeconds)
    .sign(key.privateKey);
}
