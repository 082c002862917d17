/**
 * Access-token verification shared by both services. Tokens are JWTs (RFC 7519) signed by
 * the user service with EdDSA; a service verifies every token itself and never trusts
 * identity metadata sent alongside.
 */
import { status } from '@grpc/grpc-js';
import { errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { statusError, StatusError } from './status-error';

const INT64_MAX = (1n << 63n) - 1n;

/** Issuer and audience of every access token. */
export const TOKEN_ISSUER = 'acme-user';
export const TOKEN_AUDIENCE = 'acme';
/** The only signing algorithm accepted. */
export const TOKEN_ALGORITHM = 'EdDSA';

/** Role claim values, matching acme.user.v1.Role (ROLE_USER, ROLE_ADMIN). */
export type RoleName = 'user' | 'admin';

/** Who is calling, as proven by a verified token. */
export interface Caller {
  userId: bigint;
  role: RoleName;
  /** The account's token version when the token was issued (claim `ver`); see revocation.ts. */
  tokenVersion: number;
}

/** Verifies a compact JWT; rejects with UNAUTHENTICATED (or UNAVAILABLE when keys cannot be had). */
export type TokenVerifier = (token: string) => Promise<Caller>;

/** A verifier over a key resolver (jose's createLocalJWKSet or a cached remote set). */
export function createTokenVerifier(keys: JWTVerifyGetKey): TokenVerifier {
  return async (token) => {
    let payload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer: TOKEN_ISSUER,
        audience: TOKEN_AUDIENCE,
        algorithms: [TOKEN_ALGORITHM],
        requiredClaims: ['exp', 'sub', 'ver'],
      }));
    } catch (err) {
      if (err instanceof StatusError) throw err;
      if (err instanceof errors.JWTExpired) throw unauthenticated('access token expired', 'TOKEN_EXPIRED');
      if (err instanceof errors.JOSEError) throw unauthenticated('invalid access token', 'TOKEN_INVALID');
      throw err;
    }
    const { sub, role, ver } = payload;
    if (
      typeof sub !== 'string' ||
      !/^[1-9]\d{0,18}$/.test(sub) ||
      BigInt(sub) > INT64_MAX ||
      (role !== 'user' && role !== 'admin') ||
      typeof ver !== 'number' ||
      !Number.isSafeInteger(ver) ||
      ver < 0
    ) {
      throw unauthenticated('invalid access token claims', 'TOKEN_INVALID');
    }
    return { userId: BigInt(sub), role, tokenVersion: ver };
  };
}

/** UNAUTHENTICATED with an ErrorInfo reason. */
export function unauthenticated(message: string, reason = 'UNAUTHENTICATED'): StatusError {
  return statusError(status.UNAUTHENTICATED, message, { reason });
}
