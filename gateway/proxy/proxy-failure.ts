/**
 * What went wrong on a forward, in the gateway's error language. @fastify/reply-from reports
 * a failed attempt (no answer) as one of its errors wrapping undici's; they become local
 * CallErrors, so the breaker counts them and upstream/upstream-failure.ts turns them into
 * UPSTREAM_UNAVAILABLE (503) or DEADLINE_EXCEEDED (504) naming the route, while their
 * words, which hold internal addresses, go only to the log.
 */
import { Code, GatewayError } from '../transcode';
import { CallError } from '../upstream/transport';

/** No response headers within the route's timeout. */
const TIMEOUTS = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'FST_REPLY_FROM_TIMEOUT', 'FST_REPLY_FROM_GATEWAY_TIMEOUT']);

interface NodeError {
  readonly code?: string;
  readonly message?: string;
  readonly cause?: NodeError;
}

/** The CallError for a reply-from error (its `cause` is undici's). */
export function forwardFailure(error: unknown): CallError {
  const outer = error as NodeError | undefined;
  const cause = outer?.cause ?? outer;
  const code = cause?.code ?? outer?.code ?? 'UNKNOWN';
  const timedOut = TIMEOUTS.has(code) || TIMEOUTS.has(outer?.code ?? '');
  return new CallError({
    code: timedOut ? Code.DEADLINE_EXCEEDED : Code.UNAVAILABLE,
    message: `${code}: ${cause?.message ?? String(error)}`,
    trailers: [],
    local: true,
  });
}

/** The client went away before an answer came. */
export function clientGone(): CallError {
  return new CallError({ code: Code.CANCELLED, message: 'the client went away', trailers: [], local: true });
}

/** A path reply-from refuses to forward (a `..` segment, encoded or not). */
export function refusedPath(): GatewayError {
  return new GatewayError('BAD_REQUEST', 'the path may not contain ".." segments');
}
