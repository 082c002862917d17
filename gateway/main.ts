/**
 * `npm run gateway -- --descriptor api.binpb --upstream pkg.Service=127.0.0.1:50051 [--auth off]`
 * Starts the gateway from the command line (see config.ts for every option) and stops it
 * cleanly on SIGINT/SIGTERM. With `--workers N` (N > 1) this process becomes the cluster
 * primary and each of N workers runs this file too (see workers.ts).
 */
import cluster from 'node:cluster';
import { startTelemetry } from '../shared-kit';
import type { Gateway } from './app';
import { ConfigError, configFromArgs, type GatewayConfig } from './config';
import { readableLogger } from './log-format';
import { runWorker, startWorkers } from './workers';

/** Builds and starts a gateway; resolves once it listens. */
export async function startGateway(config: GatewayConfig, logger?: boolean | object): Promise<Gateway & { port: number }> {
  // Loaded here, not at the top: a cluster primary never builds a gateway, and this keeps
  // Fastify, protobuf-es and the transports (~13 MB of RSS) out of it.
  const { buildGateway } = await import('./app');
  const gateway = await buildGateway(config, logger);
  const port = await gateway.listen();
  return Object.assign(gateway, { port });
}

async function main(): Promise<void> {
  // Before the gateway is built: app.ts composes tracing only when telemetry exports (OTEL_*).
  const telemetry = startTelemetry({ defaultServiceName: 'acme-gateway', warn: (msg) => console.error(`gateway: ${msg}`) });
  if (cluster.isWorker) {
    runWorker((config, id) => startGateway(config, readableLogger(config.logLevel, `gateway w${id}`)));
    return;
  }
  let config: GatewayConfig;
  try {
    config = configFromArgs(process.argv.slice(2));
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`gateway: ${err.message}`);
      process.exit(2);
    }
    throw err;
  }
  const gateway =
    config.workers > 1
      ? await startWorkers(config, {
          onFatal: (err) => {
            console.error(`gateway: ${err.message}`);
            process.exit(1);
          },
        })
      : await startGateway(config, readableLogger(config.logLevel));
  const stop = (): void => {
    gateway.close().then(() => telemetry.shutdown()).then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(`gateway: ${(err as Error).message}`);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(`gateway: failed to start: ${(err as Error).message}`);
    process.exit(1);
  });
}
