/**
 * `npm start`: the user service, the content service and the gateway in front of them, in
 * one process with readable logs, on the embedded store (PGlite under ./data, or PostgreSQL
 * when DATABASE_URL is set). Ctrl-C stops all three cleanly.
 *
 * Defaults: user 127.0.0.1:50051, content 127.0.0.1:50052, gateway 127.0.0.1:8080
 * (USER_ADDR, CONTENT_ADDR, GATEWAY_HOST/GATEWAY_PORT override them).
 */
// First, before anything loads @grpc/grpc-js: traces the services' calls when OTEL_* configures tracing.
import '../shared-kit/grpc-instrumentation';
import { startTelemetry } from '../shared-kit';
import { startUserService } from '../services/user/main';
import { startContentService } from '../services/content/main';
import { configFromArgs } from '../gateway/config';
import { readableLogger } from '../gateway/log-format';
import { startGateway } from '../gateway/main';

async function main(): Promise<void> {
  // One process, one tracer provider: the three share service.name unless OTEL_SERVICE_NAME says otherwise.
  const telemetry = startTelemetry({ defaultServiceName: 'acme', warn: (msg) => process.stderr.write(`${msg}\n`) });
  const user = await startUserService();
  const content = await startContentService();
  let gateway;
  try {
    // Extra command-line flags (e.g. `npm start -- --auth off`) go to the gateway.
    const config = configFromArgs([
      '--upstream', `acme.user.v1=${user.address}`,
      '--upstream', `acme.content.v1=${content.address}`,
      ...process.argv.slice(2),
    ]);
    // Here the gateway shares its process with the services; cluster workers are for `npm run gateway`.
    if (config.workers !== 1) throw new Error('--workers is for `npm run gateway`; `npm start` runs one gateway beside the services');
    gateway = await startGateway(config, readableLogger(config.logLevel));
  } catch (err) {
    await Promise.allSettled([user.close(), content.close()]);
    throw err;
  }
  const running = gateway;
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('stopping gateway and services...\n');
    running
      .close()
      .then(() => Promise.all([content.close(), user.close()]))
      .then(() => telemetry.shutdown())
      .then(() => process.exit(0), (err: unknown) => {
        console.error(err);
        process.exit(1);
      });
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  process.stdout.write(`ready: gateway http://127.0.0.1:${running.port}  user ${user.address}  content ${content.address}\n`);
}

main().catch((err: unknown) => {
  console.error(`start: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});
