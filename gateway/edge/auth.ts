/**
 * Bearer-token verification at the edge (jose). Policy comes from the proto: methods marked
 * `(acme.gateway.v1.method).public` pass without a token; others need a valid JWT, and the
 * caller's `role` claim must be one of `roles` when the method lists any. A token that is
 * sent is always verified, even on public methods. Services verify tokens again themselves.
 */
import { createLocalJWKSet, createRemoteJWKSet, errors as joseErrors, jwtVerify, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { GatewayError, type MethodPolicy } from '../transcode';
import type { AuthConfig } from '../config';
import type { InterceptorFactory } from '../pipeline';
import { bearerToken as parseBearer } from '../../shared-kit';

type Headers = Readonly<Record<string, string | string[] | undefined>>;

/** Fetches a JWKS document (for `rpc:` sources, by calling the upstream). */
export type JwksFetcher = () => Promise<JSONWebKeySet>;

// After a failed refresh for an unknown key, wait this long before asking again.
const REFRESH_COOLDOWN_MS = 30_000;

/** Builds the authorizer for `config`; `fetchRpcJwks` serves `rpc:` JWKS sources. */
export function createAuthorizer(config: AuthConfig, fetchRpcJwks: JwksFetcher | undefined) {
  // A key set once loaded is kept while its source is down (cacheMaxAge: Infinity); unknown
  // kids still trigger a reload, at most once per cooldown.
  const keys = config.jwks.startsWith('rpc:') ? rpcKeySet(fetchRpcJwks) : createRemoteJWKSet(new URL(config.jwks), { cacheMaxAge: Infinity });
  // `exp` is required: a token that never expires can never be revoked by expiry (the services require it too).
  const verifyOptions = { issuer: config.issuer, audience: config.audience, requiredClaims: ['exp'] };

  /**
   * Refuses (throws) unless `headers` satisfy `policy` (a transcoded method's, or a plain HTTP
   * route's); resolves with the verified token's `sub` (undefined without a token, or a token without one).
   */
  return async function authorize(policy: MethodPolicy, headers: Headers): Promise<string | undefined> {
    const token = bearerToken(headers.authorization);
    if (token === undefined) {
      if (policy.public) return undefined;
      throw new GatewayError('UNAUTHENTICATED', 'this method needs a bearer token');
    }
    let role: unknown;
    let subject: unknown;
    try {
      const { payload } = await jwtVerify(token, keys, verifyOptions);
      role = payload.role;
      subject = payload.sub;
    } catch (err) {
      if (keysUnavailable(err)) {
        // Without keys the gateway cannot judge the token. A public route needs no verdict
        // from the edge (the service verifies any token it gets), so it keeps working while
        // the key source is down; a protected route cannot.
        if (policy.public) return undefined;
        throw err instanceof GatewayError ? err : new GatewayError('UPSTREAM_UNAVAILABLE', 'cannot load the token verification keys');
      }
      throw new GatewayError('UNAUTHENTICATED', `invalid bearer token: ${describe(err)}`);
    }
    if (policy.roles.length > 0 && !policy.roles.includes(String(role))) {
      throw new GatewayError('PERMISSION_DENIED', `this method needs one of the roles: ${policy.roles.join(', ')}`);
    }
    return typeof subject === 'string' ? subject : undefined;
  };
}

function bearerToken(header: string | string[] | undefined): string | undefined {
  const token = parseBearer(Array.isArray(header) ? header[0] : header);
  if (token === null) throw new GatewayError('UNAUTHENTICATED', 'authorization header must be "Bearer <token>"');
  return token;
}

/** The key source failed (rpc: GatewayError; URL: timeout or a network error), as opposed to a bad token. */
function keysUnavailable(err: unknown): boolean {
  if (err instanceof GatewayError) return err.reason === 'UPSTREAM_UNAVAILABLE';
  return err instanceof joseErrors.JWKSTimeout || !(err instanceof joseErrors.JOSEError);
}

function describe(err: unknown): string {
  if (err instanceof joseErrors.JWTExpired) return 'expired';
  if (err instanceof joseErrors.JWKSNoMatchingKey) return 'signed by an unknown key';
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return 'bad signature';
  if (err instanceof joseErrors.JWTClaimValidationFailed) return `claim "${err.claim}" rejected`;
  return 'malformed or unverifiable';
}

/** A key set loaded through an RPC, reloaded when a token names a key it does not have. */
function rpcKeySet(fetch: JwksFetcher | undefined): JWTVerifyGetKey {
  if (!fetch) throw new Error('auth.jwks is an rpc: source but no upstream serves it');
  let local: JWTVerifyGetKey | undefined;
  let loadedAt = 0;
  let loading: Promise<JWTVerifyGetKey> | undefined;
  const load = (): Promise<JWTVerifyGetKey> =>
    (loading ??= fetch()
      .then((jwks) => {
        local = createLocalJWKSet(jwks);
        loadedAt = Date.now();
        return local;
      })
      .finally(() => {
        loading = undefined;
      }));
  return async (header, token) => {
    const set =
      local ??
      (await load().catch(() => {
        throw new GatewayError('UPSTREAM_UNAVAILABLE', 'cannot load the token verification keys');
      }));
    try {
      return await set(header, token);
    } catch (err) {
      if (!(err instanceof joseErrors.JWKSNoMatchingKey) || Date.now() - loadedAt < REFRESH_COOLDOWN_MS) throw err;
      return (await load())(header, token);
    }
  };
}

/** The signature of createAuthorizer's result: throws a GatewayError (401/403) to refuse, else resolves with the subject. */
export type Authorize = ReturnType<typeof createAuthorizer>;

/** Edge auth as an interceptor on every route: the call goes on only once authorized, carrying the verified subject. */
export function authInterceptor(authorize: Authorize): InterceptorFactory {
  return (route) => (next) => async (call) => {
    const subject = await authorize(route.rpc.policy, call.headers);
    if (subject !== undefined) call.subject = subject;
    return next(call);
  };
}
