/**
 * The innermost handler of a plain HTTP route: the forward itself, through the route's
 * breaker and bulkhead (upstream/resilience.ts's UpstreamGuard, one per route), with retries
 * where safe. As on transcoded routes, a call counts once against the breaker, by its final
 * outcome, and retries draw on the guard's retry budget with the same backoff
 * (resilience.retryDelay). What differs is HTTP's: an upstream 5xx answer is a failure too
 * (502/503/504 as UNAVAILABLE, as gRPC maps them, so they are retried; other 5xx as UNKNOWN,
 * counted by the breaker but not retried), each retry goes to the next upstream, and when
 * retries are over the upstream's own 5xx answer goes to the client as it is.
 */
import { Code } from '../transcode';
import { retryDelay, type UpstreamGuard } from '../upstream/resilience';
import { CallError } from '../upstream/transport';
import type { ProxyCall, ProxyHandler, UpstreamAnswer } from './proxy-call';
import type { ProxyRoute, ProxyUpstream } from './proxy-route';

/** An upstream answered with a 5xx: a failure for the breaker and the retry loop, with the answer kept. */
export class FailedAnswer extends CallError {
  constructor(readonly answer: UpstreamAnswer) {
    const code = answer.statusCode >= 502 && answer.statusCode <= 504 ? Code.UNAVAILABLE : Code.UNKNOWN;
    super({ code, message: `upstream answered HTTP ${answer.statusCode}`, trailers: [] });
  }
}

/** One attempt on `upstream`: answers of 500 and above reject (FailedAnswer). */
async function attemptOn(call: ProxyCall, upstream: ProxyUpstream): Promise<UpstreamAnswer> {
  const answer = await call.attempt(upstream);
  if (answer.statusCode >= 500) throw new FailedAnswer(answer);
  return answer;
}

/** The forward of `route` guarded by `guard`: breaker, bulkhead, retries. */
export function forwardHandler(route: ProxyRoute, guard: UpstreamGuard): ProxyHandler {
  const policy = route.config.retry;
  return async (call) => {
    const retries = call.retryable && policy.maxAttempts > 1;
    if (retries) guard.budget.deposit();
    for (let n = 1; ; n++) {
      const upstream = route.next();
      try {
        const answer = await guard.attempt((c: ProxyCall) => attemptOn(c, upstream), call, false);
        guard.recordSuccess();
        answer.send();
        return;
      } catch (err) {
        const delay = retries && n < policy.maxAttempts ? retryDelay(err, n, policy) : -1;
        if (delay < 0 || call.signal.aborted || !guard.budget.withdraw()) {
          guard.recordFailure(err);
          if (err instanceof FailedAnswer) return err.answer.send();
          throw err;
        }
        if (err instanceof FailedAnswer) err.answer.discard();
        if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  };
}
