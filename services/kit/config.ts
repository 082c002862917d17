import { availableParallelism } from 'node:os';
import { DEFAULT_LOG_SETTINGS, parseLogFormat, StartupError, type LogSettings } from '../../shared-kit';

/**
 * The services' one options object. Every environment variable the services read is read
 * here and nowhere else; each option is documented where it is declared.
 */
export interface Config {
  /** USER_ADDR: host:port the user service listens on (port 0 picks a free port). */
  userAddr: string;
  /** CONTENT_ADDR: host:port the content service listens on. */
  contentAddr: string;
  /** DATA_DIR: root of on-disk state: embedded databases (`<dir>/user`, `<dir>/content`) and the signing key. */
  dataDir: string;
  /** DATABASE_URL: when set, PostgreSQL is used instead of the embedded PGlite database. */
  databaseUrl: string | undefined;
  /** DATABASE_SCHEMA_PREFIX: PostgreSQL schemas are `<prefix>_user` and `<prefix>_content`. */
  schemaPrefix: string;
  /** USER_ADMIN_EMAILS: comma list; accounts signing up with one of these addresses become admins. */
  userAdminEmails: string[];
  /** USER_SERVICE_TARGET: where the content service reaches the user service (for its JWKS). */
  userServiceTarget: string;
  /**
   * CONTENT_SERVICE_TARGET: where the user service reads the content service's post events
   * (WatchPostEvents) to keep post counts; defaults to CONTENT_ADDR. `off` reads none.
   */
  contentServiceTarget: string;
  /** TOKEN_TTL_SECONDS: lifetime of issued access tokens. */
  tokenTtlSeconds: number;
  /** SHUTDOWN_GRACE_MS: how long in-flight calls may finish on shutdown before they are cut. */
  shutdownGraceMs: number;
  /**
   * ACCOUNT_CACHE_MS: how long a service trusts an account's looked-up state (exists, role,
   * token version) before checking again: the longest a deleted or demoted account's token
   * still works on a service that did not make the change. At most 10000.
   */
  accountCacheMs: number;
  /**
   * PASSWORD_HASH_CONCURRENCY: scrypt hashes (sign-up, login) the user service runs at once
   * (default: the number of cores); PASSWORD_HASH_QUEUE: how many more may wait (default 32).
   * Beyond both, the call fails at once with RESOURCE_EXHAUSTED (reason PASSWORD_HASHING_BUSY).
   */
  passwordHashConcurrency: number;
  passwordHashQueue: number;
  /**
   * METRICS_PORT: when set, a small HTTP server answers `GET /metrics` (Prometheus text) on
   * METRICS_HOST:METRICS_PORT (0 picks a free port); unset, no metrics server. METRICS_HOST
   * defaults to loopback. One port per process: give each service its own.
   */
  metricsPort: number | undefined;
  metricsHost: string;
  /** LOG_LEVEL (fatal…trace, default info) and LOG_FORMAT (auto: pretty on a terminal, JSON otherwise; pretty; json). */
  log: LogSettings;
}

type Env = Record<string, string | undefined>;

/** Builds the configuration from environment variables, applying defaults. */
export function loadConfig(env: Env = process.env): Config {
  const userAddr = env.USER_ADDR || '127.0.0.1:50051';
  const contentAddr = env.CONTENT_ADDR || '127.0.0.1:50052';
  return {
    userAddr,
    contentAddr,
    dataDir: env.DATA_DIR || './data',
    databaseUrl: env.DATABASE_URL || undefined,
    schemaPrefix: env.DATABASE_SCHEMA_PREFIX || 'acme',
    userAdminEmails: (env.USER_ADMIN_EMAILS ?? '')
      .split(',')
      .map((e) => e.trim().toLowerCase())
      .filter(Boolean),
    userServiceTarget: env.USER_SERVICE_TARGET || userAddr,
    contentServiceTarget: env.CONTENT_SERVICE_TARGET || contentAddr,
    tokenTtlSeconds: positiveInt(env, 'TOKEN_TTL_SECONDS', 3600),
    shutdownGraceMs: positiveInt(env, 'SHUTDOWN_GRACE_MS', 10_000),
    accountCacheMs: Math.min(positiveInt(env, 'ACCOUNT_CACHE_MS', 2_000), 10_000),
    passwordHashConcurrency: positiveInt(env, 'PASSWORD_HASH_CONCURRENCY', availableParallelism()),
    passwordHashQueue: positiveInt(env, 'PASSWORD_HASH_QUEUE', 32),
    metricsPort: port(env, 'METRICS_PORT'),
    metricsHost: env.METRICS_HOST || '127.0.0.1',
    log: {
      level: env.LOG_LEVEL || DEFAULT_LOG_SETTINGS.level,
      format: env.LOG_FORMAT ? (parseLogFormat(env.LOG_FORMAT) ?? fail('LOG_FORMAT must be auto, pretty or json')) : DEFAULT_LOG_SETTINGS.format,
    },
  };
}

/** The environment's configuration with `overrides` on top (what tests and the launcher pass). */
export function resolveConfig(overrides: Partial<Config> = {}): Config {
  return { ...loadConfig(), ...overrides };
}

function fail(message: string): never {
  throw new StartupError(message);
}

function positiveInt(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new StartupError(`${name} must be a positive integer, got "${raw}"`);
  return n;
}

/** A TCP port (0 picks a free one), or undefined when `name` is unset. */
function port(env: Env, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new StartupError(`${name} must be a port number (0-65535), got "${raw}"`);
  return n;
}
