/** Entry point of the content service: `node dist/services/content/main.js`, or startContentService() from tests and the launcher. */
// First, before anything loads @grpc/grpc-js: traces its calls when OTEL_* configures tracing.
import '../../shared-kit/grpc-instrumentation';
import {
  bindService,
  createIdGenerator,
  createLogger,
  createTokenVerifier,
  openServiceDatabase,
  resolveConfig,
  runMain,
  runningService,
  startGrpcServer,
  type Config,
  type Logger,
  type RunningService,
  withRevocation,
} from '../kit';
import { closingTelemetry, startTelemetry } from '../../shared-kit';
import { ContentServiceService, type ContentServiceServer } from '../../gen/acme/content/v1/content';
import { contentHandlers } from './content-service';
import { contentMigrations, PostStore } from './content-store';
import { PostEvents } from './post-events';
import { userServiceKeys } from './user-jwks';

/** Starts the content service on config.contentAddr; it reaches the user service at config.userServiceTarget for keys. */
export async function startContentService(overrides: Partial<Config> = {}, log: Logger = createLogger('content')): Promise<RunningService> {
  const config = resolveConfig(overrides);
  const db = await openServiceDatabase(config, 'content', contentMigrations);
  const userKeys = userServiceKeys(config.userServiceTarget);
  const events = new PostEvents();
  try {
    // Signature and claims with the user service's keys, then the account's current state.
    const verify = withRevocation(createTokenVerifier(userKeys.keys), userKeys.lookup, { ttlMs: config.accountCacheMs });
    const handlers = contentHandlers({ store: new PostStore(db), events, nextId: createIdGenerator() });
    const implementation: ContentServiceServer = bindService(ContentServiceService, handlers, { verify, log });
    const server = await startGrpcServer(config.contentAddr, [{ name: 'acme.content.v1.ContentService', definition: ContentServiceService, implementation }], log);
    log.info(`store: ${db.driver} (schema ${db.schema}); keys from user service at ${config.userServiceTarget}`);
    return runningService({
      server,
      graceMs: config.shutdownGraceMs,
      log,
      // Watch streams never end by themselves: end them so the server can drain.
      beforeShutdown: () => events.closeAll(),
      afterShutdown: async () => {
        userKeys.close();
        await db.close();
      },
    });
  } catch (err) {
    userKeys.close();
    await db.close();
    throw err;
  }
}

if (require.main === module) {
  const log = createLogger('content');
  runMain(async () => {
    const telemetry = startTelemetry({ defaultServiceName: 'acme-content', warn: log.warn });
    return closingTelemetry(await startContentService({}, log), telemetry);
  }, log);
}
