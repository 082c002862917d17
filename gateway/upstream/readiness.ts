/**
 * Readiness: whether this gateway should receive traffic. Not ready while draining
 * (shutdown has begun) or while a required upstream service is not serving, as its
 * grpc.health.v1 watch reports it. Built from state kept up to date elsewhere (watches,
 * breakers, bulkheads): a /readyz request makes no upstream call.
 */
import type { HealthStatus, HealthWatch } from './health-watch';
import type { BreakerState, UpstreamGuard } from './resilience';

/** One upstream service in the /readyz body. */
export interface UpstreamReport {
  readonly health: HealthStatus;
  readonly breaker: BreakerState;
  readonly inFlight: number;
  readonly required: boolean;
}

/** The /readyz body. */
export interface ReadinessReport {
  readonly ready: boolean;
  readonly draining: boolean;
  /** Required services not serving, by name. */
  readonly notServing: readonly string[];
  readonly upstreams: Readonly<Record<string, UpstreamReport>>;
}

/** What readiness reads of an upstream's health: a gRPC health watch, or a plain HTTP route's check (proxy/upstream-health.ts). */
export type HealthSource = Pick<HealthWatch, 'status' | 'serving'>;

export class Readiness {
  private draining = false;

  constructor(
    private readonly watches: ReadonlyMap<string, HealthSource>,
    private readonly guards: ReadonlyMap<string, UpstreamGuard>,
    /** Services whose state does not decide readiness. */
    private readonly optional: (service: string) => boolean,
  ) {}

  /** Marks the gateway as shutting down: readiness is false from now on. */
  drain(): void {
    this.draining = true;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  report(): ReadinessReport {
    const upstreams: Record<string, UpstreamReport> = {};
    const notServing: string[] = [];
    for (const [service, watch] of this.watches) {
      const guard = this.guards.get(service);
      const required = !this.optional(service);
      upstreams[service] = {
        health: watch.status,
        breaker: guard?.breakerState ?? 'off',
        inFlight: guard?.inFlight ?? 0,
        required,
      };
      if (required && !watch.serving) notServing.push(service);
    }
    return { ready: !this.draining && notServing.length === 0, draining: this.draining, notServing, upstreams };
  }
}
