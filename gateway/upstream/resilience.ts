/**
 * Resilience per upstream service: a cockatiel circuit breaker and a bulkhead per service,
 * and retries with exponential backoff and full jitter for the methods where a retry is
 * safe. Everything is compiled per route at start-up (resilienceInterceptor), so a route
 * that may not retry never pays for the retry loop. Policy and defaults: config.ts
 * (ResiliencePolicy), resolved per service and method with resiliencePolicyFor.
 *
 * Order of an attempt: breaker open? (fail at once) → bulkhead (slot or bounded queue, else
 * fail at once) → cockatiel's breaker.execute (which counts the outcome) → the transport.
 * Cost on the hot path (bench/pipeline-bench.ts): cockatiel's execute() costs about 1 µs per
 * call (two async frames, a closure, context and result objects), a fifth of the gateway's
 * whole budget for policies. So while the breaker is closed a call runs directly and its
 * outcome is reported to cockatiel's ConsecutiveBreaker (success) or through execute() (a
 * service failure, rare by definition); when open or half-open, cockatiel's execute()
 * governs every call. The state machine, its events and the half-open trial stay
 * cockatiel's. The bulkhead is likewise a counter and a queue here rather than cockatiel's
 * BulkheadPolicy, which costs the same frames per call.
 *
 * Retries wrap attempts, so each one passes the breaker and bulkhead again, as Envoy does;
 * the breaker counts a call once, by its final outcome (with two instances, a connection
 * dropped by the dead one and retried on the live one is no failure of the service). Streams only pass the breaker's open check: their
 * outcome comes too late (a watch lasts hours) to judge the service by, a retry could
 * repeat messages already written, and a long-lived stream would hold a bulkhead slot.
 */
import { BrokenCircuitError, CircuitState, ConsecutiveBreaker, circuitBreaker, handleWhen, type CircuitBreakerPolicy } from 'cockatiel';
import { resiliencePolicyFor, type ResilienceConfig, type ResiliencePolicy, type RetryPolicy } from '../config';
import type { Call, Handler, InterceptorFactory, Result } from '../pipeline';
import { Code, GatewayError } from '../transcode';
import { RetryBudget } from './retry-budget';
import { CallError, type Metadata, type Transport } from './transport';

/** The log calls resilience makes (pino's, as Fastify gives it). */
export interface ResilienceLog {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

/** Codes that count against a service: it failed, rather than refused the caller. */
const BREAKER_CODES: ReadonlySet<number> = new Set([Code.UNAVAILABLE, Code.DEADLINE_EXCEEDED, Code.INTERNAL, Code.UNKNOWN]);
const isServiceFailure = (err: Error): boolean => err instanceof CallError && BREAKER_CODES.has(err.status.code);

/** How /readyz reports a breaker. */
export type BreakerState = 'closed' | 'open' | 'half-open' | 'off';

/** The breaker, bulkhead and retry budget of one upstream service. */
export class UpstreamGuard {
  readonly breaker: CircuitBreakerPolicy | undefined;
  private readonly consecutive: ConsecutiveBreaker | undefined = undefined;
  readonly budget: RetryBudget;
  /** Unary and client-streaming calls in flight (holding a bulkhead slot). */
  inFlight = 0;
  private readonly capacity: number;
  private readonly maxQueued: number;
  /** Calls waiting for a slot; a finishing call hands its slot to the first. */
  private readonly queue: Array<() => void> = [];
  private readonly halfOpenAfterMs: number;
  private openedAt = 0;

  constructor(
    readonly service: string,
    policy: ResiliencePolicy,
    /** Only reconnect() is used (a half-open trial must not wait out a reconnect backoff). */
    transport: Pick<Transport, 'reconnect'>,
    log: ResilienceLog,
  ) {
    const { breaker: b, bulkhead: h, retry } = policy;
    this.halfOpenAfterMs = b.halfOpenAfterMs;
    // maxInFlight 0 means no limit: a bulkhead that never fills still counts calls in flight.
    this.capacity = h.maxInFlight > 0 ? h.maxInFlight : Number.MAX_SAFE_INTEGER;
    this.maxQueued = h.maxQueued;
    this.budget = new RetryBudget(retry.budgetRatio, retry.budgetMinPerSecond);
    if (b.consecutiveFailures > 0) {
      this.consecutive = new ConsecutiveBreaker(b.consecutiveFailures);
      // A half-open trial closes the breaker only if the service answered (success, or a
      // caller error it sent back); a trial that ended otherwise (cancelled by its client,
      // refused by the gateway) proved nothing, and cockatiel would take it as a success.
      const failed = (err: Error): boolean =>
        isServiceFailure(err) || (this.breaker?.state === CircuitState.HalfOpen && !(err instanceof CallError && err.status.code !== Code.CANCELLED));
      const breaker = circuitBreaker(handleWhen(failed), {
        halfOpenAfter: b.halfOpenAfterMs,
        breaker: this.consecutive,
      });
      breaker.onBreak(() => {
        this.openedAt = Date.now();
      });
      // The trial call must not meet a reconnect backoff left from the outage.
      breaker.onHalfOpen(() => transport.reconnect());
      breaker.onStateChange((state) => {
        const name = stateName(state);
        if (state === CircuitState.Open) log.warn({ service, breaker: name }, `circuit breaker for ${service} opened`);
        else log.info({ service, breaker: name }, `circuit breaker for ${service} ${name}`);
      });
      this.breaker = breaker;
    }
  }

  get breakerState(): BreakerState {
    return this.breaker === undefined ? 'off' : stateName(this.breaker.state);
  }

  /**
   * One attempt of a unary or client-streaming call: refused at once while the breaker is
   * open or the bulkhead and its queue are full; else it takes a slot (waiting in the queue
   * if need be) and runs through the breaker. `counted` false leaves reporting the outcome
   * to the caller (the retry loop reports a call once, after its retries: a failure that a
   * retry on another instance made good says nothing against the service).
   */
  attempt<C = Call, R = Result>(next: (call: C) => Promise<R>, call: C, counted = true): Promise<R> {
    this.admitStream();
    if (this.inFlight < this.capacity) {
      this.inFlight++;
      return this.run(next, call, counted);
    }
    if (this.queue.length >= this.maxQueued) {
      throw new GatewayError('BULKHEAD_FULL', `${this.service} has too many calls in flight`, [], { 'retry-after': '1' }, { service: this.service });
    }
    return new Promise<void>((resolve) => this.queue.push(resolve)).then(() => this.run(next, call, counted));
  }

  /** Calls waiting for a bulkhead slot. */
  get queued(): number {
    return this.queue.length;
  }

  /** A call succeeded: what cockatiel's execute() does with a success while closed. */
  recordSuccess(): void {
    this.consecutive?.success();
  }

  /** A call failed: a service failure is counted (and may open the breaker) by cockatiel itself. */
  recordFailure(err: unknown): void {
    const { breaker } = this;
    if (breaker !== undefined && breaker.state === CircuitState.Closed && isServiceFailure(err as Error)) {
      breaker.execute(() => Promise.reject(err)).catch(ignore);
    }
  }

  /** A stream may start unless the breaker is open (it then fails at once). */
  admitStream(): void {
    if (this.breaker?.state === CircuitState.Open && Date.now() - this.openedAt < this.halfOpenAfterMs) {
      throw this.circuitOpen();
    }
  }

  /**
   * Runs a call that holds a slot; the slot goes to the next queued call, or is freed. No
   * async frame per call (~0.2 us each here): the outcome passes through one then(), whose
   * handlers are made once per guard.
   */
  private run<C, R>(next: (call: C) => Promise<R>, call: C, counted: boolean): Promise<R> {
    const { breaker } = this;
    // Open (past its wait) or half-open: cockatiel runs the call, and the trial decides.
    const governed = breaker !== undefined && breaker.state !== CircuitState.Closed;
    // Closed: the outcome is reported here (unless the retry loop reports it after its retries).
    const counting = breaker !== undefined && !governed && counted;
    let outcome: Promise<R>;
    try {
      outcome = governed ? breaker.execute(() => next(call)) : next(call);
    } catch (err) {
      outcome = Promise.reject(err);
    }
    return counting ? outcome.then(this.counted as (r: R) => R, this.countedFailure) : outcome.then(this.released as (r: R) => R, this.failed);
  }

  private readonly released = (result: unknown): unknown => {
    this.release();
    return result;
  };

  private readonly counted = (result: unknown): unknown => {
    this.recordSuccess();
    this.release();
    return result;
  };

  private readonly failed = (err: unknown): never => {
    this.release();
    throw err instanceof BrokenCircuitError ? this.circuitOpen() : err;
  };

  private readonly countedFailure = (err: unknown): never => {
    this.recordFailure(err);
    this.release();
    throw err;
  };

  /** The slot goes to the first queued call, or is freed. */
  private release(): void {
    const waiting = this.queue.shift();
    if (waiting === undefined) this.inFlight--;
    else waiting();
  }

  private circuitOpen(): GatewayError {
    const wait = Math.max(1, Math.ceil((this.openedAt + this.halfOpenAfterMs - Date.now()) / 1000));
    return new GatewayError('CIRCUIT_OPEN', `${this.service} is unavailable (circuit open)`, [], { 'retry-after': String(wait) }, { service: this.service });
  }
}

function ignore(): void {}

function stateName(state: CircuitState): BreakerState {
  switch (state) {
    case CircuitState.Closed:
      return 'closed';
    case CircuitState.HalfOpen:
      return 'half-open';
    default:
      return 'open';
  }
}

/** The guards of every served service, built at start-up. */
export function createGuards(
  services: readonly string[],
  config: ResilienceConfig,
  transportOf: (service: string) => Transport,
  log: ResilienceLog,
): ReadonlyMap<string, UpstreamGuard> {
  const guards = new Map<string, UpstreamGuard>();
  for (const service of services) {
    guards.set(service, new UpstreamGuard(service, resiliencePolicyFor(config, service), transportOf(service), log));
  }
  return guards;
}

/** The resilience interceptor of each route: breaker and bulkhead, plus retries where safe. */
export function resilienceInterceptor(config: ResilienceConfig, guards: ReadonlyMap<string, UpstreamGuard>): InterceptorFactory {
  return (route) => {
    const guard = guards.get(route.rpc.service);
    if (guard === undefined) return undefined;
    const { kind } = route.rpc;
    if (kind === 'server_streaming' || kind === 'bidi_streaming') {
      return (next) => (call) => {
        guard.admitStream();
        return next(call);
      };
    }
    const policy = resiliencePolicyFor(config, route.rpc.service, route.rpc.name);
    const retryable = kind === 'unary' && policy.retry.maxAttempts > 1 && (route.rpc.idempotent || route.binding.httpMethod === 'GET');
    if (!retryable) return (next) => (call) => guard.attempt(next, call);
    return (next) => retrying(next, guard, policy.retry);
  };
}

/** Retries attempts that failed with a retryable status, within attempts, deadline and budget. */
function retrying(next: Handler, guard: UpstreamGuard, policy: RetryPolicy): Handler {
  const succeeded = (result: Result): Result => {
    guard.recordSuccess();
    return result;
  };
  // The first attempt without an async frame (almost every call ends with it); the retries in one.
  return (call) => {
    guard.budget.deposit();
    let first: Promise<Result>;
    try {
      first = guard.attempt(next, call, false);
    } catch (err) {
      first = Promise.reject(err);
    }
    return first.then(succeeded, (err: unknown) => retryAfter(err, call, next, guard, policy));
  };
}

/** The retries after a failed first attempt: each one waits, then passes the breaker and bulkhead again. */
async function retryAfter(err: unknown, call: Call, next: Handler, guard: UpstreamGuard, policy: RetryPolicy): Promise<Result> {
  for (let n = 1; ; n++) {
    const delay = n < policy.maxAttempts ? retryDelay(err, n, policy) : -1;
    if (delay < 0 || call.signal.aborted || (call.deadline !== undefined && Date.now() + delay >= call.deadline) || !guard.budget.withdraw()) {
      guard.recordFailure(err);
      throw err;
    }
    if (delay > 0) await sleep(delay);
    if (call.signal.aborted) {
      guard.recordFailure(err);
      throw err;
    }
    call.attempt = n + 1;
    try {
      const result = await guard.attempt(next, call, false);
      guard.recordSuccess();
      return result;
    } catch (failed) {
      err = failed;
    }
  }
}

/**
 * The wait before retry `n` (1 = the first retry), or -1 when the failure is not to be
 * retried. A server pushback (gRFC A6 `grpc-retry-pushback-ms`) sets the wait; a negative
 * or malformed one means "do not retry". Without one only UNAVAILABLE is retried.
 */
export function retryDelay(err: unknown, n: number, policy: RetryPolicy): number {
  if (!(err instanceof CallError)) return -1;
  const { code, trailers } = err.status;
  if (code !== Code.UNAVAILABLE && code !== Code.RESOURCE_EXHAUSTED) return -1;
  const pushback = pushbackMs(trailers);
  if (pushback !== undefined) return pushback;
  if (code !== Code.UNAVAILABLE) return -1;
  return Math.random() * Math.min(policy.maxBackoffMs, policy.initialBackoffMs * 2 ** (n - 1));
}

function pushbackMs(trailers: Metadata): number | undefined {
  for (const [name, value] of trailers) {
    if (name !== 'grpc-retry-pushback-ms') continue;
    return typeof value === 'string' && /^\d{1,9}$/.test(value) ? Number(value) : -1;
  }
  return undefined;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
