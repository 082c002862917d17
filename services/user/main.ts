/** Entry point of the user service: `npm run user` (dist/services/user/main.js), or startUserService() from tests and the launcher. */
// First, before anything loads @grpc/grpc-js: traces its calls when OTEL_* configures tracing.
import '../../shared-kit/grpc-instrumentation';
import { createLocalJWKSet } from 'jose';
import {
  bindService,
  claimServiceResources,
  createIdGenerator,
  createLogger,
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
import { UserServiceService, type UserServiceServer } from '../../gen/acme/user/v1/user';
import { startPostCountConsumer } from './post-count-consumer';
import { issueServiceToken, loadOrCreateSigningKey } from './signing-key';
import { PasswordHasher } from './password';
import { roleName, userHandlers } from './user-service';
import { UserStore, userMigrations } from './user-store';
import { userChecks } from './user-validation';

/** Lifetime of the service credential signed for each WatchPostEvents connection (checked when the stream opens). */
const SERVICE_TOKEN_TTL_SECONDS = 300;

/** Starts the user service on config.userAddr (environment defaults, then `overrides`). */
export async function startUserService(overrides: Partial<Config> = {}, log?: Logger): Promise<RunningService> {
  const config = resolveConfig(overrides);
  log ??= createLogger('user', config.log);
  // Port and data directory first: a second instance stops here, before touching the database.
  const release = await claimServiceResources(config, 'user', config.userAddr);
  let db: Database | undefined;
  let served: Awaited<ReturnType<typeof startServiceMetrics>>;
  try {
    served = await startServiceMetrics(config, log);
    const key = await loadOrCreateSigningKey(config.dataDir);
    db = await openServiceDatabase(config, 'user', userMigrations);
    const store = new UserStore(db);
    // The service checks its own tokens against its own public key, then against the stored account.
    const verify = withRevocation(
      createTokenVerifier(createLocalJWKSet({ keys: [key.publicJwk] })),
      async (caller) => {
        const state = await store.state(caller.userId);
        return state && { role: roleName(state.role), tokenVersion: state.tokenVersion };
      },
      { ttlMs: config.accountCacheMs },
    );
    const handlers = userHandlers({
      store,
      key,
      nextId: createIdGenerator(),
      adminEmails: config.userAdminEmails,
      tokenTtlSeconds: config.tokenTtlSeconds,
      passwords: new PasswordHasher(config.passwordHashConcurrency, config.passwordHashQueue),
      forgetAccount: (id) => verify.forget(id),
    });
    const implementation: UserServiceServer = bindService(UserServiceService, handlers, { verify, log, checks: userChecks, metrics: served?.metrics });
    const server = await startGrpcServer(
      config.userAddr,
      [{ name: 'acme.user.v1.UserService', definition: UserServiceService, implementation }],
      log,
      served?.metrics,
    );
    log.info(`store: ${db.driver} (schema ${db.schema}); signing key ${key.kid}`);
    // Post counts from the content service's events, with a service credential this service signs itself.
    const consumer =
      config.contentServiceTarget === 'off'
        ? undefined
        : startPostCountConsumer({
            target: config.contentServiceTarget,
            store,
            credential: () => issueServiceToken(key, 'user', SERVICE_TOKEN_TTL_SECONDS),
            log,
          });
    const opened = db;
    return runningService({
      server,
      graceMs: config.shutdownGraceMs,
      log,
      metrics: served?.server,
      afterShutdown: async () => {
        await consumer?.stop();
        await opened.close();
        release();
      },
    });
  } catch (err) {
    await served?.server.close();
    await db?.close();
    release();
    throw err;
  }
}

if (require.main === module) {
  const config = loadConfig();
  const log = createLogger('user', config.log);
  runMain(
    async () => {
      const telemetry = startTelemetry({ defaultServiceName: 'acme-user', warn: (msg) => log.warn(msg) });
      return closingTelemetry(await startUserService({}, log), telemetry);
    },
    { log, graceMs: config.shutdownGraceMs },
  );
}
