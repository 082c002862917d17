/**
 * Opaque page tokens for keyset pagination (https://google.aip.dev/158): the token carries
 * the last id of the previous page and a fingerprint of the filters, so a token cannot be
 * replayed against a different query.
 */
import { createHash } from 'node:crypto';
import { invalidArgument } from './status-error';
import { INT64_MAX } from './validation';

interface Cursor {
  after: string;
  q: string;
}

/** Encodes the position after `lastId` for a query described by `filters`. */
export function encodePageToken(lastId: bigint, filters: unknown = {}): string {
  const cursor: Cursor = { after: lastId.toString(), q: fingerprint(filters) };
  return Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

/** Decodes a token into the id to continue after; undefined for an empty token. Throws INVALID_ARGUMENT. */
export function decodePageToken(token: string, filters: unknown = {}, field = 'page_token'): bigint | undefined {
  if (token === '') return undefined;
  try {
    const cursor = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Cursor;
    // The fingerprint is no secret: a crafted token must not carry an id past int64 to the database.
    if (typeof cursor.after === 'string' && /^\d{1,19}$/.test(cursor.after) && BigInt(cursor.after) <= INT64_MAX && cursor.q === fingerprint(filters)) {
      return BigInt(cursor.after);
    }
  } catch {
    // falls through to the error below
  }
  throw invalidArgument([{ field, description: 'is not a page token returned by this query' }]);
}

/** Resolves a requested page size: `fallback` when unset, capped at `max`; negative is invalid. */
export function pageSize(requested: number, fallback: number, max: number, field = 'page_size'): number {
  if (requested < 0) throw invalidArgument([{ field, description: 'must not be negative' }]);
  return requested === 0 ? fallback : Math.min(requested, max);
}

function fingerprint(filters: unknown): string {
  const json = JSON.stringify(filters, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  return createHash('sha256').update(json).digest('base64url').slice(0, 16);
}
