/**
 * Resilience per upstream service: a cockatiel circuit breaker and bulkhead per service,
 * and retries with exponential backoff and full jitter for the methods where a retry is
 * safe. Everything is compiled per route at start-up (resilienceInterceptor), so a route
 * that may not retry never pays for the retry loop. Policy and defaults: config.ts
 * (ResiliencePolicy), resolved per service and method with resiliencePolicyFor.
 *
 * Order of an attempt: breaker (fail at once while open) → bulkhead (slot or bounded queue,
 * else fail at once) → the transport. Retries wrap attempts, so each one passes the breaker
 * and bulkhead again, as Envoy does. Streams only pass the breaker's open check: their
 * outcome comes too late (a watch lasts hours) to judge the service by, a retry could
 * repeat messages already written, and a long-lived stream would hold a bulkhead slot.
 */
import {
  BrokenCircuitError,
  BulkheadRejectedError,
  CircuitState,
  ConsecutiveBreaker,
  bulkhead,
  circuitBreaker,
  handleWhen,
  type BulkheadPolicy,
  type CircuitBreakerPolicy,
} from 'cockatiel';
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
  readonly bulkhead: BulkheadPolicy;
  readonly budget: RetryBudget;
  private readonly halfOpenAfterMs: number;
  private readonly capacity: number;
  private readonly queueCapacity: number;
  private openedAt = 0;

  constructor(readonly service: string, policy: ResiliencePolicy, transport: Transport, log: ResilienceLog) {
    const { breaker: b, bulkhead: h, retry } = policy;
    this.halfOpenAfterMs = b.halfOpenAfterMs;
    // maxInFlight 0 means no limit: a bulkhead that never fills still counts calls in flight.
    this.capacity = h.maxInFlight > 0 ? h.maxInFlight : Number.MAX_SAFE_INTEGER;
    this.queueCapacity = h.maxInFlight > 0 ? h.maxQueued : 0;
    this.bulkhead = bulkhead(this.capacity, this.queueCapacity);
    this.budget = new RetryBudget(retry.budgetRatio, retry.budgetMinPerSecond);
    if (b.consecutiveFailures > 0) {
      const breaker = circuitBreaker(handleWhen(isServiceFailure), {
        halfOpenAfter: b.halfOpenAfterMs,
        breaker: new ConsecutiveBreaker(b.consecutiveFailures),
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

  /** Unary and client-streaming calls in flight (in the bulkhead's slots). */
  get inFlight(): number {
    return this.capacity - this.bulkhead.executionSlots;
  }

  /** Calls waiting for a bulkhead slot. */
  get queued(): number {
    return this.queueCapacity - this.bulkhead.queueSlots;
  }

  /** One attempt of a unary or client-streaming call: breaker, then bulkhead, then `next`. */
  async attempt(next: Handler, call: Call): Promise<Result> {
    try {
      const { breaker } = this;
      return breaker === undefined
        ? await this.bulkhead.execute(() => next(call))
        : await breaker.execute(() => this.bulkhead.execute(() => next(call)));
    } catch (err) {
      throw this.translate(err);
    }
  }

  /** A stream may start unless the breaker is open (it then fails at once). */
  admitStream(): void {
    if (this.breaker?.state === CircuitState.Open && Date.now() - this.openedAt < this.halfOpenAfterMs) {
      throw this.circuitOpen();
    }
  }

  private translate(err: unknown): unknown {
    if (err instanceof BrokenCircuitError) return this.circuitOpen();
    if (err instanceof BulkheadRejectedError) {
      return new GatewayError('BULKHEAD_FULL', `${this.service} has too many calls in flight`, [], { 'retry-after': '1' }, { service: this.service });
    }
    return err;
  }

  private circuitOpen(): GatewayError {
    const wait = Math.max(1, Math.ceil((this.openedAt + this.halfOpenAfterMs - Date.now()) / 1000));
    return new GatewayError('CIRCUIT_OPEN', `${this.service} is unavailable (circuit open)`, [], { 'retry-after': String(wait) }, { service: this.service });
  }
}

function stateName(state: CircuitState): BreakerState {
  switch (state) {
    case CircuitState.Closed: return 'closed';
    case CircuitState.HalfOpen: return 'half-open';
    default: return 'open';
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
  return async (call) => {
    guard.budget.deposit();
    for (let n = 1; ; n++) {
      try {
        return await guard.attempt(next, call);
      } catch (err) {
        const delay = n < policy.maxAttempts ? retryDelay(err, n, policy) : -1;
        if (delay < 0 || call.signal.aborted) throw err;
        if (call.deadline !== undefined && Date.now() + delay >= call.deadline) throw err;
        if (!guard.budget.withdraw()) throw err;
        if (delay > 0) await sleep(delay);
        if (call.signal.aborted) throw err;
      }
    }
  };
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
