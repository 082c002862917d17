/** Entry point of the content service: `npm run content` (dist/services/content/main.js), or startContentService() from tests and the launcher. */
// First, before anything loads @grpc/grpc-js: traces its calls when OTEL_* configures tracing.
import '../../shared-kit/grpc-instrumentation';
import {
  bindService,
  claimServiceResources,
  createIdGenerator,
  createLogger,
  createServiceTokenVerifier,
  createTokenVerifier,
  loadConfig,
  openServiceDatabase,
  resolveConfig,
  runningService,
  startServiceMetrics,
  startGrpcServer,
  type Config,
  type Database,
  type Logger,
  type RunningService,
  withRevocation,
} from '../kit';
import { closingTelemetry, runMain, startTelemetry } from '../../shared-kit';
import { ContentServiceService, type ContentServiceServer } from '../../gen/acme/content/v1/content';
import { contentHandlers } from './content-service';
import { contentMigrations, PostStore } from './content-store';
import { contentChecks } from './content-validation';
import { PostEvents } from './post-events';
import { userServiceKeys } from './user-jwks';

/** Starts the content service on config.contentAddr; it reaches the user service at config.userServiceTarget for keys. */
export async function startContentService(overrides: Partial<Config> = {}, log?: Logger): Promise<RunningService> {
  const config = resolveConfig(overrides);
  log ??= createLogger('content', config.log);
  // Port and data directory first: a second instance stops here, before touching the database.
  const release = await claimServiceResources(config, 'content', config.contentAddr);
  let db: Database | undefined;
  let served: Awaited<ReturnType<typeof startServiceMetrics>>;
  let userKeys: ReturnType<typeof userServiceKeys> | undefined;
  try {
    served = await startServiceMetrics(config, log);
    db = await openServiceDatabase(config, 'content', contentMigrations);
    userKeys = userServiceKeys(config.userServiceTarget);
    const events = new PostEvents();
    // Signature and claims with the user service's keys, then the account's current state.
    const verify = withRevocation(createTokenVerifier(userKeys.keys), userKeys.lookup, { ttlMs: config.accountCacheMs });
    // Each committed outbox event wakes the WatchPostEvents streams.
    const store = new PostStore(db, () => events.committed());
    const handlers = contentHandlers({ store, events, nextId: createIdGenerator() });
    // WatchPostEvents takes service credentials, signed by the user service too.
    const verifyService = createServiceTokenVerifier(userKeys.keys);
    const implementation: ContentServiceServer = bindService(ContentServiceService, handlers, {
      verify,
      verifyService,
      log,
      checks: contentChecks,
      metrics: served?.metrics,
    });
    const server = await startGrpcServer(
      config.contentAddr,
      [{ name: 'acme.content.v1.ContentService', definition: ContentServiceService, implementation }],
      log,
      served?.metrics,
    );
    log.info(`store: ${db.driver} (schema ${db.schema}); keys from user service at ${config.userServiceTarget}`);
    const [opened, keys] = [db, userKeys];
    return runningService({
      server,
      graceMs: config.shutdownGraceMs,
      log,
      metrics: served?.server,
      // Watch streams never end by themselves: end them (UNAVAILABLE, so clients reconnect) so the server can drain.
      beforeShutdown: () => events.closeAll(),
      afterShutdown: async () => {
        keys.close();
        await opened.close();
        release();
      },
    });
  } catch (err) {
    await served?.server.close();
    userKeys?.close();
    await db?.close();
    release();
    throw err;
  }
}

if (require.main === module) {
  const config = loadConfig();
  const log = createLogger('content', config.log);
  runMain(
    async () => {
      const telemetry = startTelemetry({ defaultServiceName: 'acme-content', warn: (msg) => log.warn(msg) });
      return closingTelemetry(await startContentService({}, log), telemetry);
    },
    { log, graceMs: config.shutdownGraceMs },
  );
}
