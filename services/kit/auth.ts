/**
 * Who may call a method: the bearer token from `authorization` metadata, checked against
 * the method's `(acme.gateway.v1.method)` policy read from the descriptors.
 */
import { status, type Metadata } from '@grpc/grpc-js';
import type { MethodPolicy } from './descriptors';
import type { ServiceTokenVerifier } from './service-token';
import { statusError } from './status-error';
import { unauthenticated, type Caller, type TokenVerifier } from './token-verifier';
import { bearerToken as parseBearer } from '../../shared-kit';

/** Resolves the caller of a call, or undefined for an anonymous call to a public method. */
export async function authenticate(metadata: Metadata, policy: MethodPolicy, verify: TokenVerifier): Promise<Caller | undefined> {
  const token = bearerToken(metadata);
  if (token === undefined) {
    if (policy.public) return undefined;
    throw unauthenticated('missing bearer token');
  }
  // A token sent to a public method is verified all the same: a bad one is never ignored.
  const caller = await verify(token);
  if (policy.roles.length > 0 && !policy.roles.includes(caller.role)) {
    throw statusError(status.PERMISSION_DENIED, `requires role ${policy.roles.join(' or ')}`, { reason: 'ROLE_REQUIRED' });
  }
  return caller;
}

/** The calling service of a services-only method (policy role "service"): its name, from a service credential. */
export async function authenticateService(metadata: Metadata, verify: ServiceTokenVerifier | undefined): Promise<string> {
  const token = bearerToken(metadata);
  if (token === undefined || !verify) throw unauthenticated('a service credential is required', 'SERVICE_CREDENTIAL_REQUIRED');
  return verify(token);
}

/** The caller, or UNAUTHENTICATED when the call is anonymous. */
export function requireCaller(caller: Caller | undefined): Caller {
  if (!caller) throw unauthenticated('missing bearer token');
  return caller;
}

/** PERMISSION_DENIED unless the caller is the owner or an admin. */
export function requireOwnerOrAdmin(caller: Caller, ownerId: bigint, what: string): void {
  if (caller.role !== 'admin' && caller.userId !== ownerId) {
    throw statusError(status.PERMISSION_DENIED, `only the owner or an admin may ${what}`, { reason: 'NOT_OWNER' });
  }
}

function bearerToken(metadata: Metadata): string | undefined {
  const values = metadata.get('authorization');
  const token = parseBearer(values.length === 0 ? undefined : String(values[0]));
  if (token === null) throw unauthenticated('authorization must be "Bearer <token>"');
  return token;
}
