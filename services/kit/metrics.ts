/**
 * A service's Prometheus metrics (prom-client, one Registry per started service, never the
 * global one, so services started in one process do not collide), served by a small node:http
 * server at `GET /metrics` when METRICS_PORT is set. Names follow the usual gRPC server ones
 * (`grpc_server_handled_total`, `grpc_server_handling_seconds`); labels are bounded by
 * construction: service and method names from the generated definitions, gRPC code names
 * (go-grpc-prometheus's spelling, shared-kit/grpc-code-name.ts).
 * A service's own calls are recorded in bindService's wrapper, once for every handler; the
 * calls of the services the server adds itself (health, reflection) by a server interceptor.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ServerInterceptingCall, status, type ServerInterceptor } from '@grpc/grpc-js';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { grpcCodeName, listenError, type Logger } from '../../shared-kit';
import type { Config } from './config';

// Seconds; the gateway's buckets: from 1 ms (a cached answer on loopback) to 10 s (a deadline).
const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface ServiceMetrics {
  readonly registry: Registry;
  /** Starts timing one call of `path` (`/pkg.Service/Method`); the returned function records its end with `code`. */
  start(path: string): (code: number) => void;
  /**
   * A grpc-js server interceptor recording the calls of every service not in `recordedByHandler`
   * (health and reflection, whose handlers are not ours): the status when it is sent, `Canceled`
   * when the client leaves first. A stream is timed until it ends, as the wrapper does.
   */
  interceptor(recordedByHandler: ReadonlySet<string>): ServerInterceptor;
}

/** A fresh registry with the gRPC server metrics and prom-client's default process metrics. */
export function serviceMetrics(): ServiceMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const handled = new Counter({
    name: 'grpc_server_handled_total',
    help: 'gRPC calls completed by the server, by service, method and status code name.',
    labelNames: ['grpc_service', 'grpc_method', 'grpc_code'],
    registers: [registry],
  });
  const seconds = new Histogram({
    name: 'grpc_server_handling_seconds',
    help: 'gRPC call latency in the handler wrapper (authentication, validation, handler), by service and method.',
    labelNames: ['grpc_service', 'grpc_method'],
    buckets: BUCKETS,
    registers: [registry],
  });
  return {
    registry,
    start(path) {
      const [grpc_service = '', grpc_method = ''] = path.replace(/^\//, '').split('/');
      const timer = seconds.labels({ grpc_service, grpc_method });
      const begun = process.hrtime.bigint();
      return (code) => {
        timer.observe(Number(process.hrtime.bigint() - begun) / 1e9);
        handled.inc({ grpc_service, grpc_method, grpc_code: grpcCodeName(code) });
      };
    },
    interceptor(recordedByHandler) {
      return (method, call) => {
        if (recordedByHandler.has(method.path.slice(1, method.path.lastIndexOf('/')))) return new ServerInterceptingCall(call);
        const record = this.start(method.path);
        let recorded = false;
        const done = (code: number): void => {
          if (recorded) return;
          recorded = true;
          record(code);
        };
        return new ServerInterceptingCall(call, {
          start: (next) => next({ onCancel: () => done(status.CANCELLED) }),
          sendStatus: (sent, next) => {
            done(sent.code ?? status.UNKNOWN);
            next(sent);
          },
        });
      };
    },
  };
}

export interface MetricsServer {
  /** host:port with the bound port. */
  address: string;
  port: number;
  close(): Promise<void>;
}

/** Serves `registry` at `GET /metrics` on host:port (port 0 picks a free one); anything else is 404. */
export async function startMetricsServer(host: string, port: number, registry: Registry, log: Logger): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(path === '/metrics' ? 405 : 404, { 'content-type': 'text/plain' }).end(path === '/metrics' ? 'method not allowed\n' : 'not found\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(req.method === 'HEAD' ? undefined : text),
      (err: unknown) => {
        log.error({ err }, 'metrics collection failed');
        res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics collection failed\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(listenError(err, `${host}:${port}`, 'metrics server')));
    server.listen({ host, port }, resolve);
  });
  const bound = (server.address() as AddressInfo).port;
  const address = `${host.includes(':') ? `[${host}]` : host}:${bound}`;
  log.info(`metrics on http://${address}/metrics`);
  let closing: Promise<void> | undefined;
  return {
    address,
    port: bound,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}

/** The metrics of a service configured with METRICS_PORT, served; undefined when it is unset. */
export async function startServiceMetrics(
  config: Pick<Config, 'metricsPort' | 'metricsHost'>,
  log: Logger,
): Promise<{ metrics: ServiceMetrics; server: MetricsServer } | undefined> {
  if (config.metricsPort === undefined) return undefined;
  const metrics = serviceMetrics();
  return { metrics, server: await startMetricsServer(config.metricsHost, config.metricsPort, metrics.registry, log) };
}
