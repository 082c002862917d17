/**
 * The gateway's one options object: every option, its default and its meaning are declared
 * here, and this is the only file that reads argv, the environment or a config file.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { DEFAULT_JSON_OPTIONS, type JsonOptions } from './transcode';
import { DEFAULT_FORWARDED_HEADERS } from './upstream/metadata';

/** How the gateway checks callers' bearer tokens. */
export interface AuthConfig {
  /** `off` forwards tokens unchecked (services still verify them); `jwt` verifies at the edge. */
  readonly mode: 'off' | 'jwt';
  /** Where the JWKS comes from: an http(s) URL, or `rpc:/pkg.Service/Method` returning a JWKS-shaped message. */
  readonly jwks: string;
  /** Required `iss` claim, when set. */
  readonly issuer: string | undefined;
  /** Required `aud` claim, when set. */
  readonly audience: string | undefined;
}

export interface GatewayConfig {
  /** Address to listen on (loopback by default). */
  readonly host: string;
  /** Port to listen on; 0 picks a free one. */
  readonly port: number;
  /** Path to a binary FileDescriptorSet (`buf build -o`), with imports. */
  readonly descriptor: string;
  /** Upstream target per fully-qualified service name or package prefix (`acme.user.v1`). */
  readonly upstreams: Readonly<Record<string, string>>;
  /** gRPC client implementation: `h2` (lean, own HTTP/2 session) or `grpc-js` (@grpc/grpc-js). */
  readonly transport: 'h2' | 'grpc-js';
  readonly auth: AuthConfig;
  /** Proto3 JSON mapping options. */
  readonly json: JsonOptions;
  /** Largest request body accepted, in bytes; larger answers 413. */
  readonly bodyLimit: number;
  /** Request headers forwarded as metadata unchanged (besides Grpc-Metadata-*). */
  readonly forwardedHeaders: readonly string[];
  /** Prefix of response headers carrying upstream response headers. */
  readonly responseHeaderPrefix: string;
  /** Prefix of response headers carrying upstream trailers. */
  readonly trailerHeaderPrefix: string;
  /** Deadline for calls without a grpc-timeout header, in ms (0 = none). */
  readonly defaultTimeoutMs: number;
  /** Per-method deadline overrides, keyed `pkg.Service/Method` or `pkg.Service`. */
  readonly methodTimeoutsMs: Readonly<Record<string, number>>;
  /** Log level: fatal, error, warn, info, debug. */
  readonly logLevel: string;
  /**
   * Gateway processes sharing the port (node:cluster, see workers.ts). 1 serves from this
   * process alone; more makes it a primary that forks that many workers. `auto` in a config
   * file or on the command line means os.availableParallelism(), at most MAX_WORKERS.
   */
  readonly workers: number;
  /**
   * Start-up warnings are fatal. Without it, a binding that cannot be served (a bad template,
   * a binding naming no field...), a method+path bound twice (the last wins) and a
   * bidi-streaming method (answered 501) are logged as warnings naming the proto method and
   * the rest is served. For CI: `--strict`.
   */
  readonly strict: boolean;
}

/** Upper bound on `workers`: beyond the cores, workers only add memory and context switches. */
export const MAX_WORKERS = 64;

/** Our own descriptor set (all of proto/ plus google.api/google.rpc), built by `npm run gen`. */
export const BUILTIN_DESCRIPTOR = path.resolve(__dirname, findGenDir(), 'api.binpb');

export const DEFAULT_CONFIG: GatewayConfig = Object.freeze({
  host: '127.0.0.1',
  port: 8080,
  descriptor: BUILTIN_DESCRIPTOR,
  upstreams: {},
  transport: 'h2',
  auth: { mode: 'jwt', jwks: 'rpc:/acme.user.v1.UserService/GetJwks', issuer: 'acme-user', audience: 'acme' },
  json: DEFAULT_JSON_OPTIONS,
  bodyLimit: 4 * 1024 * 1024,
  forwardedHeaders: DEFAULT_FORWARDED_HEADERS,
  responseHeaderPrefix: 'Grpc-Metadata-',
  trailerHeaderPrefix: 'Grpc-Metadata-',
  defaultTimeoutMs: 0,
  methodTimeoutsMs: {},
  logLevel: 'info',
  workers: 1,
  strict: false,
} satisfies GatewayConfig);

/** A config problem, reported at start with the option's name. */
export class ConfigError extends Error {}

/** A partial config, as from a file or a caller; nested objects may be partial too. */
type Mutable<T> = { -readonly [K in keyof T]?: T[K] };
export type ConfigInput = Mutable<Omit<GatewayConfig, 'auth' | 'json' | 'workers'>> & {
  auth?: Mutable<AuthConfig>;
  json?: Mutable<JsonOptions>;
  workers?: number | 'auto';
};

/** Fills defaults and validates. */
export function resolveConfig(input: ConfigInput = {}): GatewayConfig {
  const known = new Set(Object.keys(DEFAULT_CONFIG));
  for (const key of Object.keys(input)) if (!known.has(key)) throw new ConfigError(`unknown option "${key}"`);
  const merged = {
    ...DEFAULT_CONFIG,
    ...stripUndefined(input),
    auth: { ...DEFAULT_CONFIG.auth, ...stripUndefined(input.auth ?? {}) },
    json: { ...DEFAULT_CONFIG.json, ...stripUndefined(input.json ?? {}) },
    ...(input.workers === 'auto' ? { workers: Math.min(availableParallelism(), MAX_WORKERS) } : {}),
  } as GatewayConfig;
  expect(typeof merged.host === 'string' && merged.host !== '', 'host', 'a non-empty string');
  expect(Number.isInteger(merged.port) && merged.port >= 0 && merged.port < 65536, 'port', 'an integer 0-65535');
  expect(typeof merged.descriptor === 'string' && merged.descriptor !== '', 'descriptor', 'a file path');
  expect(isStringRecord(merged.upstreams), 'upstreams', 'an object of service or package name to "host:port"');
  expect(merged.transport === 'h2' || merged.transport === 'grpc-js', 'transport', '"h2" or "grpc-js"');
  expect(merged.auth.mode === 'off' || merged.auth.mode === 'jwt', 'auth.mode', '"off" or "jwt"');
  expect(typeof merged.auth.jwks === 'string', 'auth.jwks', 'a URL or rpc:/pkg.Service/Method');
  expect(Number.isInteger(merged.bodyLimit) && merged.bodyLimit > 0, 'bodyLimit', 'a positive integer (bytes)');
  expect(Array.isArray(merged.forwardedHeaders) && merged.forwardedHeaders.every((h) => typeof h === 'string'), 'forwardedHeaders', 'a list of header names');
  expect(Number.isFinite(merged.defaultTimeoutMs) && merged.defaultTimeoutMs >= 0, 'defaultTimeoutMs', 'a number of ms >= 0');
  expect(isNumberRecord(merged.methodTimeoutsMs), 'methodTimeoutsMs', 'an object of method name to ms');
  expect(typeof merged.strict === 'boolean', 'strict', 'true or false');
  expect(Number.isInteger(merged.workers) && merged.workers >= 1 && merged.workers <= MAX_WORKERS, 'workers', `an integer 1-${MAX_WORKERS}, or "auto"`);
  for (const [k, v] of Object.entries(merged.json)) {
    expect(k in DEFAULT_JSON_OPTIONS && typeof v === 'boolean', `json.${k}`, 'a known boolean option');
  }
  return Object.freeze(merged);
}

/** Reads a JSON or YAML config file (by extension; YAML is a superset of JSON). */
export function readConfigFile(file: string): ConfigInput {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`);
  }
  const data: unknown = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new ConfigError(`config file ${file} must hold an object`);
  const input = data as ConfigInput;
  // A relative descriptor path in a file is relative to the file, not to the working directory.
  if (typeof input.descriptor === 'string') input.descriptor = path.resolve(path.dirname(file), input.descriptor);
  return input;
}

const USAGE = `usage: gateway [--config file.(json|yaml)] [--descriptor api.binpb]
  [--upstream <service-or-package>=<host:port>]... [--host 127.0.0.1] [--port 8080]
  [--transport h2|grpc-js] [--auth off|jwt] [--jwks <url|rpc:/pkg.Svc/Method>] [--workers N|auto]
  [--strict]`;

/** Parses command-line flags (over an optional --config file) into a config. */
export function configFromArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  let input: ConfigInput = {};
  const flags: ConfigInput = {};
  const upstreams: Record<string, string> = {};
  const auth: Mutable<AuthConfig> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] = arg.includes('=') && arg.startsWith('--') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new ConfigError(`${flag} needs a value\n${USAGE}`);
      return v;
    };
    switch (flag) {
      case '--config': input = readConfigFile(value()); break;
      case '--descriptor': flags.descriptor = path.resolve(value()); break;
      case '--host': flags.host = value(); break;
      case '--port': flags.port = Number(value()); break;
      case '--transport': flags.transport = value() as GatewayConfig['transport']; break;
      case '--auth': auth.mode = value() as AuthConfig['mode']; break;
      case '--jwks': auth.jwks = value(); break;
      case '--workers': {
        const v = value();
        flags.workers = v === 'auto' ? 'auto' : Number(v);
        break;
      }
      case '--upstream': {
        const spec = value();
        const eq = spec.indexOf('=');
        if (eq <= 0) throw new ConfigError(`--upstream takes <service-or-package>=<host:port>, got "${spec}"`);
        upstreams[spec.slice(0, eq)] = spec.slice(eq + 1);
        break;
      }
      case '--strict': flags.strict = true; break;
      case '--help': throw new ConfigError(USAGE);
      default: throw new ConfigError(`unknown argument "${arg}"\n${USAGE}`);
    }
  }
  if (env.GATEWAY_PORT && flags.port === undefined) flags.port = Number(env.GATEWAY_PORT);
  if (env.GATEWAY_HOST && flags.host === undefined) flags.host = env.GATEWAY_HOST;
  return resolveConfig({
    ...input,
    ...flags,
    upstreams: { ...(input.upstreams ?? {}), ...upstreams },
    auth: { ...(input.auth ?? {}), ...auth },
  });
}

function findGenDir(): string {
  // Works from gateway/ (ts-jest) and from dist/gateway/ (compiled): gen/ sits at the repo root.
  const fromSource = path.resolve(__dirname, '..', 'gen');
  const fromDist = path.resolve(__dirname, '..', '..', 'gen');
  try {
    readFileSync(path.join(fromSource, 'api.binpb'), { flag: 'r' });
    return fromSource;
  } catch {
    return fromDist;
  }
}

function expect(ok: boolean, option: string, what: string): void {
  if (!ok) throw new ConfigError(`option "${option}" must be ${what}`);
}

function isStringRecord(v: unknown): boolean {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string' && x !== '');
}

function isNumberRecord(v: unknown): boolean {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'number' && x >= 0);
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
