/**
 * `npm run gateway -- --descriptor api.binpb --upstream pkg.Service=127.0.0.1:50051 [--auth off]`
 * Starts the gateway from the command line (see config.ts for every option) and stops it
 * cleanly on SIGINT/SIGTERM.
 */
import { buildGateway, type Gateway } from './app';
import { ConfigError, configFromArgs, type GatewayConfig } from './config';
import { readableLogger } from './log-format';

/** Builds and starts a gateway; resolves once it listens. */
export async function startGateway(config: GatewayConfig, logger?: boolean | object): Promise<Gateway & { port: number }> {
  const gateway = await buildGateway(config, logger);
  const port = await gateway.listen();
  return Object.assign(gateway, { port });
}

async function main(): Promise<void> {
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
  const gateway = await startGateway(config, readableLogger(config.logLevel));
  const stop = (): void => {
    gateway.close().then(() => process.exit(0), () => process.exit(1));
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
