/**
 * Database failures as statuses. A caller must never see a 500 because its input upset the
 * database, nor a database's message: the SQLSTATE class decides the code
 * (https://www.postgresql.org/docs/current/errcodes-appendix.html), the message is generic,
 * and the cause is logged by the caller of this function.
 */
import { status } from '@grpc/grpc-js';
import { statusError, type StatusError } from './status-error';

const SQLSTATE = /^[0-9A-Z]{5}$/;
// node-postgres losing its server surfaces socket errors, not SQLSTATEs.
const CONNECTION_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH']);

/** The status for a PostgreSQL error (either driver); undefined when `err` is not one. */
export function databaseStatus(err: unknown): StatusError | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && CONNECTION_ERRORS.has(code)) {
    return statusError(status.UNAVAILABLE, 'the database is unavailable', { reason: 'DATABASE_UNAVAILABLE' });
  }
  if (typeof code !== 'string' || !SQLSTATE.test(code)) return undefined;
  const cls = code.slice(0, 2);
  switch (cls) {
    // 22: data exception (a NUL byte, a number out of range, bad encoding): the request's fault.
    case '22':
      return statusError(status.INVALID_ARGUMENT, 'a value in the request cannot be stored', { reason: 'INVALID_VALUE', metadata: { sqlstate: code } });
    // 23: integrity constraint violation.
    case '23':
      return code === '23505'
        ? statusError(status.ALREADY_EXISTS, 'the resource already exists', { reason: 'ALREADY_EXISTS' })
        : statusError(status.FAILED_PRECONDITION, 'the change conflicts with stored data', { reason: 'CONSTRAINT_VIOLATION', metadata: { sqlstate: code } });
    // 40: serialization failure or deadlock: safe to retry.
    case '40':
      return statusError(status.ABORTED, 'the change conflicted with a concurrent one; retry', { reason: 'CONCURRENT_CHANGE' });
    // 57014: statement timeout or cancel.
    case '57':
      return code === '57014'
        ? statusError(status.DEADLINE_EXCEEDED, 'the database took too long', { reason: 'DATABASE_TIMEOUT' })
        : statusError(status.UNAVAILABLE, 'the database is unavailable', { reason: 'DATABASE_UNAVAILABLE' });
    // 08 connection, 53 insufficient resources, 58 system error: the database, not the request.
    case '08':
    case '53':
    case '58':
      return statusError(status.UNAVAILABLE, 'the database is unavailable', { reason: 'DATABASE_UNAVAILABLE' });
    // Anything else (a syntax error, an undefined column) is our bug: INTERNAL, with a generic message.
    default:
      return undefined;
  }
}
