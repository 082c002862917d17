/**
 * Service credentials: how one of our services proves to another that it is a service, not a
 * user. The user service is the token issuer of the system, so it signs them with the same key
 * as access tokens (the other services already verify with its JWKS), but for another audience:
 * `aud` acme-services and `sub` service:<name>. A user's access token (aud acme) is never a
 * service credential, and a service credential is never an access token.
 *
 * A method is for services only when its proto policy requires the role "service"
 * (`option (acme.gateway.v1.method) = { roles: ["service"] }`); bindService then verifies the
 * call's bearer token with this verifier instead of the user-token one.
 */
import { errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { StatusError } from './status-error';
import { TOKEN_ALGORITHM, TOKEN_ISSUER, unauthenticated } from './token-verifier';

/** The audience of service credentials (access tokens have acme). */
export const SERVICE_AUDIENCE = 'acme-services';
/** The policy role that marks a method as callable by services only. */
export const SERVICE_ROLE = 'service';
/** `sub` of a service credential: service:<name>. */
const SERVICE_SUBJECT = /^service:([a-z][a-z0-9-]{0,30})$/;

/** Verifies a service credential; resolves to the calling service's name, rejects with UNAUTHENTICATED. */
export type ServiceTokenVerifier = (token: string) => Promise<string>;

/** The subject a service credential for `service` carries. */
export function serviceSubject(service: string): string {
  if (!SERVICE_SUBJECT.test(`service:${service}`)) throw new Error(`invalid service name "${service}"`);
  return `service:${service}`;
}

/** A verifier over the issuer's keys (jose's createLocalJWKSet or a cached remote set). */
export function createServiceTokenVerifier(keys: JWTVerifyGetKey): ServiceTokenVerifier {
  return async (token) => {
    let sub: unknown;
    try {
      ({
        payload: { sub },
      } = await jwtVerify(token, keys, { issuer: TOKEN_ISSUER, audience: SERVICE_AUDIENCE, algorithms: [TOKEN_ALGORITHM], requiredClaims: ['exp', 'sub'] }));
    } catch (err) {
      if (err instanceof StatusError) throw err;
      if (err instanceof errors.JWTExpired) throw unauthenticated('service credential expired', 'TOKEN_EXPIRED');
      if (err instanceof errors.JOSEError) throw unauthenticated('a service credential is required', 'SERVICE_CREDENTIAL_REQUIRED');
      throw err;
    }
    const m = typeof sub === 'string' ? SERVICE_SUBJECT.exec(sub) : null;
    if (!m) throw unauthenticated('a service credential is required', 'SERVICE_CREDENTIAL_REQUIRED');
    return m[1];
  };
}
