import { mkdtempSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import * as path from 'node:path';
import { thrownBy } from './test-support/thrown';
import { ConfigError, configFromArgs, DEFAULT_CONFIG, MAX_WORKERS, resiliencePolicyFor, resolveConfig, type ConfigInput } from './config';

/** The ConfigError message `fn` throws. */
function configError(fn: () => unknown): string {
  const err = thrownBy(fn);
  expect(err).toBeInstanceOf(ConfigError);
  return (err as Error).message;
}

describe('resolveConfig', () => {
  it('fills every default', () => {
    expect(resolveConfig({})).toEqual(DEFAULT_CONFIG);
  });

  it('merges nested options over their defaults', () => {
    const config = resolveConfig({ auth: { mode: 'off' }, json: { emitUnpopulated: true } });
    expect(config.auth).toEqual({ ...DEFAULT_CONFIG.auth, mode: 'off' });
    expect(config.json).toEqual({ ...DEFAULT_CONFIG.json, emitUnpopulated: true });
  });

  it.each<[string, unknown, string]>([
    ['an unknown option', { bogus: 1 }, 'unknown option "bogus"'],
    ['a negative port', { port: -1 }, 'option "port"'],
    ['a port too large', { port: 65536 }, 'option "port"'],
    ['a port that is not a number', { port: Number('abc') }, 'option "port"'],
    ['a fractional port', { port: 80.5 }, 'option "port"'],
    ['an unknown transport', { transport: 'http3' }, 'option "transport"'],
    ['an unknown auth mode', { auth: { mode: 'basic' } }, 'option "auth.mode"'],
    ['an upstream that is not a string', { upstreams: { 'acme.echo.v1': 5 } }, 'option "upstreams"'],
    ['an empty host', { host: '' }, 'option "host"'],
    ['a zero body limit', { bodyLimit: 0 }, 'option "bodyLimit"'],
    ['a negative timeout', { resilience: { timeoutMs: -1 } }, 'option "resilience.timeoutMs"'],
    ['a method timeout that is not a number', { resilience: { overrides: { 'a.B/C': { timeoutMs: '5s' } } } }, 'option "resilience.overrides.a.B/C.timeoutMs"'],
    ['zero attempts', { resilience: { retry: { maxAttempts: 0 } } }, 'option "resilience.retry.maxAttempts"'],
    ['a misspelt breaker option', { resilience: { breaker: { consecutiveFailure: 3 } } }, 'unknown option "resilience.breaker.consecutiveFailure"'],
    ['an unknown resilience option', { resilience: { timeout: 5 } }, 'unknown option "resilience.timeout"'],
    ['a breaker per method', { resilience: { overrides: { 'a.B/C': { breaker: { consecutiveFailures: 1 } } } } }, 'option "resilience.overrides.a.B/C"'],
    ['a fractional bulkhead', { resilience: { bulkhead: { maxInFlight: 2.5 } } }, 'option "resilience.bulkhead.maxInFlight"'],
    ['optional upstreams that are not a list', { optionalUpstreams: 'acme' }, 'option "optionalUpstreams"'],
    ['an unknown JSON option', { json: { emitDefaults: true } }, 'option "json.emitDefaults"'],
    ['a JSON option that is not a boolean', { json: { useProtoNames: 'yes' } }, 'option "json.useProtoNames"'],
    ['forwarded headers that are not a list', { forwardedHeaders: 'authorization' }, 'option "forwardedHeaders"'],
    ['zero workers', { workers: 0 }, 'option "workers"'],
    ['negative workers', { workers: -2 }, 'option "workers"'],
    ['fractional workers', { workers: 1.5 }, 'option "workers"'],
    ['more workers than MAX_WORKERS', { workers: MAX_WORKERS + 1 }, 'option "workers"'],
    ['workers as a numeric string', { workers: '2' }, 'option "workers"'],
    ['workers as another word', { workers: 'all' }, 'option "workers"'],
    ['an unknown worker balancing', { workerBalancing: 'random' }, 'option "workerBalancing"'],
  ])('rejects %s, naming the option', (_name, input, named) => {
    expect(configError(() => resolveConfig(input as ConfigInput))).toContain(named);
  });
});

describe('resiliencePolicyFor', () => {
  const config = resolveConfig({
    resilience: {
      timeoutMs: 1000,
      retry: { maxAttempts: 2 },
      overrides: {
        acme: { timeoutMs: 2000 },
        'acme.user.v1': { bulkhead: { maxInFlight: 7 } },
        'acme.user.v1.UserService': { retry: { initialBackoffMs: 9 } },
        'acme.user.v1.UserService/GetUser': { timeoutMs: 50 },
      },
    },
  }).resilience;

  it('merges defaults and every covering override, most specific last, field by field', () => {
    const p = resiliencePolicyFor(config, 'acme.user.v1.UserService', 'GetUser');
    expect(p.timeoutMs).toBe(50);
    expect(p.retry).toEqual({ ...DEFAULT_CONFIG.resilience.retry, maxAttempts: 2, initialBackoffMs: 9 });
    expect(p.bulkhead.maxInFlight).toBe(7);
    expect(p.breaker).toEqual(DEFAULT_CONFIG.resilience.breaker);
  });

  it('an override for another service or method does not apply', () => {
    expect(resiliencePolicyFor(config, 'acme.user.v1.UserService', 'ListUsers').timeoutMs).toBe(2000);
    expect(resiliencePolicyFor(config, 'acme.content.v1.ContentService').bulkhead.maxInFlight).toBe(DEFAULT_CONFIG.resilience.bulkhead.maxInFlight);
    expect(resiliencePolicyFor(config, 'acmeish.v1.S').timeoutMs).toBe(1000);
  });
});

describe('workers', () => {
  it.each<[string, ConfigInput['workers'], number]>([
    ['defaults to one process', undefined, 1],
    ['takes a count', 4, 4],
    ['takes the bound itself', MAX_WORKERS, MAX_WORKERS],
    ['reads auto as the available parallelism, capped', 'auto', Math.min(availableParallelism(), MAX_WORKERS)],
  ])('%s', (_name, workers, expected) => {
    expect(resolveConfig({ workers }).workers).toBe(expected);
  });

  it('balances workers with SO_REUSEPORT by default on Linux, with node:cluster elsewhere', () => {
    expect(resolveConfig({}).workerBalancing).toBe(process.platform === 'linux' ? 'reuseport' : 'cluster');
  });
});

describe('configFromArgs', () => {
  it.each<[string, string[], Partial<Record<string, unknown>>]>([
    ['--upstream a=b', ['--upstream', 'acme.user.v1=127.0.0.1:5000'], { upstreams: { 'acme.user.v1': '127.0.0.1:5000' } }],
    ['--upstream=a=b, repeated', ['--upstream=a.v1=h:1', '--upstream', 'b.v1=h:2'], { upstreams: { 'a.v1': 'h:1', 'b.v1': 'h:2' } }],
    ['--port and --host', ['--port', '9090', '--host=0.0.0.0'], { port: 9090, host: '0.0.0.0' }],
    ['--transport h2', ['--transport', 'h2'], { transport: 'h2' }],
    ['--workers 2', ['--workers', '2'], { workers: 2 }],
    ['--strict', ['--strict'], { strict: true }],
    ['--no-docs', ['--no-docs'], { docs: false }],
    ['--workers=auto', ['--workers=auto'], { workers: Math.min(availableParallelism(), MAX_WORKERS) }],
    ['--worker-balancing cluster', ['--worker-balancing', 'cluster'], { workerBalancing: 'cluster' }],
  ])('%s', (_name, argv, expected) => {
    expect(configFromArgs(argv, {})).toMatchObject(expected);
  });

  it('--auth off and --jwks', () => {
    const config = configFromArgs(['--auth', 'off', '--jwks', 'https://id/jwks'], {});
    expect(config.auth).toMatchObject({ mode: 'off', jwks: 'https://id/jwks' });
  });

  it('--descriptor is resolved against the working directory', () => {
    expect(configFromArgs(['--descriptor', 'x.binpb'], {}).descriptor).toBe(path.resolve('x.binpb'));
  });

  it('GATEWAY_PORT and GATEWAY_HOST apply unless a flag is given', () => {
    expect(configFromArgs([], { GATEWAY_PORT: '7000', GATEWAY_HOST: '::1' })).toMatchObject({ port: 7000, host: '::1' });
    expect(configFromArgs(['--port', '7001'], { GATEWAY_PORT: '7000' }).port).toBe(7001);
  });

  it('flags beat the config file; upstreams and auth merge; a relative descriptor is relative to the file', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'gateway-config-'));
    const file = path.join(dir, 'gateway.yaml');
    writeFileSync(file, 'port: 1000\ndescriptor: api.binpb\nupstreams:\n  a.v1: h:1\nauth:\n  issuer: me\nworkers: 3\n');
    const config = configFromArgs(['--config', file, '--port', '2000', '--upstream', 'b.v1=h:2', '--auth', 'off'], {});
    expect(config).toMatchObject({ port: 2000, descriptor: path.join(dir, 'api.binpb'), upstreams: { 'a.v1': 'h:1', 'b.v1': 'h:2' }, workers: 3 });
    expect(config.auth).toMatchObject({ mode: 'off', issuer: 'me' });
  });

  it('a config file may say workers: auto', () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'gateway-config-')), 'gateway.json');
    writeFileSync(file, JSON.stringify({ workers: 'auto' }));
    expect(configFromArgs(['--config', file], {}).workers).toBe(Math.min(availableParallelism(), MAX_WORKERS));
  });

  it.each<[string, string[], string]>([
    ['an --upstream without =', ['--upstream', 'acme.user.v1'], '--upstream takes'],
    ['an --upstream with an empty name', ['--upstream', '=h:1'], '--upstream takes'],
    ['a flag without its value', ['--port'], "Option '--port <value>' argument missing"],
    ['an unknown flag', ['--verbose'], "Unknown option '--verbose'"],
    ['a positional argument', ['api.binpb'], "Unexpected argument 'api.binpb'"],
    ['a bad --log-format', ['--log-format', 'xml'], 'option "logFormat"'],
    ['a bad --port', ['--port', 'eighty'], 'option "port"'],
    ['a bad --transport', ['--transport', 'quic'], 'option "transport"'],
    ['a bad --auth', ['--auth', 'maybe'], 'option "auth.mode"'],
    ['a --workers that is not a number', ['--workers', 'many'], 'option "workers"'],
    ['an empty --workers=', ['--workers='], 'option "workers"'],
    ['--workers 0', ['--workers', '0'], 'option "workers"'],
    ['a bad --worker-balancing', ['--worker-balancing', 'kernel'], 'option "workerBalancing"'],
    ['a missing --config file', ['--config', '/nonexistent/gateway.yaml'], 'cannot read config file'],
  ])('rejects %s', (_name, argv, message) => {
    expect(configError(() => configFromArgs(argv, {}))).toContain(message);
  });
});
