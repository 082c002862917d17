/**
 * Server bootstrap: a grpc-js Server on host:port (port 0 picks a free one) with the
 * standard grpc.health.v1 Health service and server reflection (grpc.reflection.v1 and
 * v1alpha, answering with the files of gen/api.binpb), so `grpcurl -plaintext HOST:PORT list`,
 * `describe` and calls work with no local protos.
 */
import { Server, ServerCredentials, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { reflectionIndex } from './descriptors';
import type { Logger } from '../../shared-kit';
import type { MetricsServer, ServiceMetrics } from './metrics';
import { addReflection } from './reflection';

/** The standard health service every server carries (grpc-health-check implements it). */
const HEALTH_SERVICE_NAME = 'grpc.health.v1.Health';

/** One service to serve: its generated definition, fully qualified name and implementation. */
export interface ServiceBinding {
  /** Fully qualified name for health checks, e.g. `acme.user.v1.UserService`. */
  name: string;
  definition: ServiceDefinition;
  implementation: UntypedServiceImplementation;
}

export interface RunningServer {
  /** The port actually bound (differs from the requested one when that was 0). */
  port: number;
  /** host:port with the bound port. */
  address: string;
  /** Marks NOT_SERVING, drains in-flight calls for up to `graceMs`, then cuts the rest. */
  shutdown(graceMs: number): Promise<void>;
}

/** Binds and starts serving `services` plus health and reflection; with `metrics`, health and reflection calls are counted too. */
export async function startGrpcServer(address: string, services: readonly ServiceBinding[], log: Logger, metrics?: ServiceMetrics): Promise<RunningServer> {
  // The services' own calls are recorded in bindService's wrapper; the interceptor records the rest.
  const server = new Server(metrics ? { interceptors: [metrics.interceptor(new Set(services.map((s) => s.name)))] } : {});
  for (const s of services) server.addService(s.definition, s.implementation);

  const health = new HealthImplementation({ '': 'SERVING', ...Object.fromEntries(services.map((s) => [s.name, 'SERVING' as const])) });
  health.addToServer(server);
  // list_services shows only what this server serves, though the descriptor set holds every service.
  addReflection(server, reflectionIndex(), [...services.map((s) => s.name), HEALTH_SERVICE_NAME]);

  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(address, ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))),
  );
  const host = address.slice(0, address.lastIndexOf(':'));
  const bound = `${host}:${port}`;
  log.info(`listening on ${bound} (${services.map((s) => s.name).join(', ')})`);

  let closing: Promise<void> | undefined;
  const shutdown = (graceMs: number): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      for (const name of ['', ...services.map((s) => s.name)]) health.setStatus(name, 'NOT_SERVING');
      const timer = setTimeout(() => {
        log.warn(`calls still running after ${graceMs} ms: cutting them`);
        server.forceShutdown();
        resolve();
      }, graceMs);
      server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    return closing;
  };
  return { port, address: bound, shutdown };
}

/** What a started service hands back to its caller (tests, the launcher, main). */
export interface RunningService {
  /** The bound port (useful when the address asked for port 0). */
  port: number;
  /** host:port to dial. */
  address: string;
  /** host:port of the `GET /metrics` server, when METRICS_PORT is set. */
  metricsAddress?: string;
  /** Drains in-flight calls, stops the server and releases resources. Safe to call twice. */
  close(): Promise<void>;
}

export interface ServiceParts {
  server: RunningServer;
  graceMs: number;
  log: Logger;
  /** Runs before draining (e.g. ending streams that never end by themselves). */
  beforeShutdown?: () => void;
  /** Runs after the server stopped (closing the store, clients). */
  afterShutdown: () => Promise<void>;
  /** The metrics server, closed once the gRPC server has stopped (so it can be scraped while draining). */
  metrics?: MetricsServer;
}

/** Wraps a started server and its resources into a RunningService with one idempotent close. */
export function runningService(parts: ServiceParts): RunningService {
  let closing: Promise<void> | undefined;
  return {
    port: parts.server.port,
    address: parts.server.address,
    metricsAddress: parts.metrics?.address,
    close: () =>
      (closing ??= (async () => {
        parts.beforeShutdown?.();
        await parts.server.shutdown(parts.graceMs);
        await parts.metrics?.close();
        await parts.afterShutdown();
      })()),
  };
}
