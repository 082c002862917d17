/**
 * The one reader of `authorization: Bearer <token>` (RFC 6750 §2.1), for the gateway's edge and
 * the services alike; each maps the outcome to its own UNAUTHENTICATED error.
 */

/** The token; `undefined` when there is no credential at all; `null` when the value is not a bearer credential. */
export function bearerToken(value: string | undefined): string | undefined | null {
  if (value === undefined) return undefined;
  const m = /^Bearer\s+(\S+)$/i.exec(value.trim());
  return m ? m[1] : null;
}
