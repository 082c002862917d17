/**
 * `npm run gateway -- --descriptor api.binpb --upstream pkg.Service=127.0.0.1:50051 [--auth off]`
 * Starts the gateway from the command line (see config.ts for every option, `--help` for the
 * flags) and shuts it down gracefully on SIGINT/SIGTERM. With `--workers N` (N > 1) this
 * process becomes the cluster primary and each of N workers runs this file too (see workers.ts).
 */
import cluster from 'node:cluster';
import { existsSync } from 'node:fs';
import {
  closingTelemetry,
  createLogger,
  listenError,
  loggerOptions,
  runMain,
  startTelemetry,
  StartupError,
  telemetrySettings,
  type Logger,
  type Telemetry,
} from '../shared-kit';
import type { Gateway } from './app';
import { ConfigError, configFromArgs, HelpRequested, type GatewayConfig } from './config';
import { releaseStartupGarbage } from './heap-trim';
import { runWorker, startWorkers } from './workers';

/** Builds and starts a gateway; resolves once it listens. A port in use is a StartupError. */
export async function startGateway(
  config: GatewayConfig,
  logger?: boolean | object,
  options: { releaseStartupGarbage?: boolean } = {},
): Promise<Gateway & { port: number }> {
  // Loaded here, not at the top: a cluster primary never builds a gateway, and this keeps
  // Fastify, protobuf-es and the transports (~13 MB of RSS) out of it.
  const { buildGateway } = await import('./app');
  const gateway = await buildGateway(config, logger);
  let port: number;
  try {
    port = await gateway.listen();
  } catch (err) {
    await gateway.close().catch(() => undefined);
    const code = (err as NodeJS.ErrnoException).code;
    throw code ? listenError(err as NodeJS.ErrnoException, `${config.host}:${config.port}`, 'gateway') : err;
  }
  // A serving process (main(), its workers, the bench) drops start-up's garbage just after it
  // listens, in a task of its own so start-up time does not grow (heap-trim.ts); in-process
  // tests skip the blocking GC.
  if (options.releaseStartupGarbage) setImmediate(releaseStartupGarbage);
  return Object.assign(gateway, { port });
}

/**
 * Closes `gateway`: readiness turns 503, server streams end with UNAVAILABLE, in-flight
 * requests get `graceMs` to finish; connections still open after that are cut, so closing
 * never hangs.
 */
export async function closeGateway(gateway: Gateway, graceMs: number, log: Logger): Promise<void> {
  // /readyz answers 503 from now on; close() ends open streams (UNAVAILABLE) and drains the rest.
  gateway.drain();
  const server = gateway.app.server;
  const cut = setTimeout(() => {
    log.warn(`requests still open after ${graceMs} ms: closing their connections`);
    server.closeAllConnections();
  }, graceMs);
  // server.close() closes the connections idle at that moment; a keep-alive connection whose
  // request was in flight (or whose stream just ended) becomes idle later and would hold the
  // close until its keep-alive timeout, so idle ones are closed as they appear.
  const sweep = setInterval(() => server.closeIdleConnections(), 50);
  try {
    await gateway.close();
  } finally {
    clearTimeout(cut);
    clearInterval(sweep);
  }
}

/** What the command line must name before anything is built: checked first, so the message is the real cause. */
export function checkStartable(config: GatewayConfig): void {
  if (Object.keys(config.upstreams).length === 0) {
    throw new StartupError('no upstream configured: pass --upstream <service-or-package>=<host:port> (or upstreams in --config); see --help');
  }
  if (!existsSync(config.descriptor))
    throw new StartupError(`descriptor set not found: ${config.descriptor} (build one with \`buf build -o\`, or run \`npm run gen\`)`);
}

function main(): void {
  if (cluster.isWorker) {
    // Each worker exports its own spans and flushes them when it closes (the primary makes none),
    // and closes as one process does: /readyz 503, in-flight requests get the grace, idle
    // keep-alive connections are closed as they appear.
    runWorker(async (config, id) => {
      const telemetry = gatewayTelemetry();
      const settings = { level: config.logLevel, format: config.logFormat };
      const gateway = await startGateway(config, loggerOptions(`gateway w${id}`, settings), { releaseStartupGarbage: true });
      const log = createLogger(`gateway w${id}`, settings);
      return closingTelemetry({ port: gateway.port, close: () => closeGateway(gateway, config.shutdownGraceMs, log) }, telemetry);
    });
    return;
  }
  let config: GatewayConfig;
  try {
    config = configFromArgs(process.argv.slice(2));
  } catch (err) {
    if (err instanceof HelpRequested) {
      process.stdout.write(`${err.message}\n`);
      process.exit(0);
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`gateway: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const settings = { level: config.logLevel, format: config.logFormat };
  const log = createLogger('gateway', settings);
  const started = config;
  runMain(
    async () => {
      checkStartable(started);
      if (started.workers > 1) {
        telemetrySettings(); // a bad OTEL_* variable fails here, once, not in every worker
        const pool = await startWorkers(started, {
          log: (level, msg) => log[level === 'ERROR' ? 'error' : level === 'WARN' ? 'warn' : 'info'](msg),
          onFatal: (err) => {
            log.error(err.message);
            process.exit(1);
          },
        });
        return { address: `${started.host}:${pool.port}`, close: () => pool.close() };
      }
      // Before the gateway is built: app.ts composes tracing only when telemetry exports (OTEL_*).
      // A cluster primary (above) builds no gateway and makes no span: it loads no SDK.
      const telemetry = gatewayTelemetry();
      const gateway = await startGateway(started, loggerOptions('gateway', settings), { releaseStartupGarbage: true });
      return closingTelemetry({ address: `${started.host}:${gateway.port}`, close: () => closeGateway(gateway, started.shutdownGraceMs, log) }, telemetry);
    },
    { log, graceMs: config.shutdownGraceMs },
  );
}

function gatewayTelemetry(): Telemetry {
  return startTelemetry({ defaultServiceName: 'acme-gateway', warn: (msg) => process.stderr.write(`gateway: ${msg}\n`) });
}

if (require.main === module) main();
