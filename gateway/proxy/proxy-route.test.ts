import { resolveConfig, type ConfigInput } from '../config';
import type { RouteTable } from '../transcode';
import { thrownBy } from '../test-support/thrown';
import { compileProxyRoutes, ProxyRoute } from './proxy-route';
import { isRetryable } from './proxy-call';

const NO_ROUTES = { routes: [] } as unknown as RouteTable;

function route(global: { prefix: string; stripPrefix: boolean }, path: string, upstream: string, stripPrefix = true): ProxyRoute {
  const config = resolveConfig({ httpRoutes: { ...global, routes: { r: { path, upstreams: upstream, stripPrefix } } } }).httpRoutes;
  return compileProxyRoutes(config, NO_ROUTES)[0];
}

describe('ProxyRoute.upstreamPath', () => {
  it.each<[string, boolean, string, string, boolean, string, string, string]>([
    // global prefix, strip it, route path, upstream, strip route prefix, client path, upstream path, X-Forwarded-Prefix
    ['', true, '/legacy/**', 'http://u:1', true, '/legacy/a/b', '/a/b', '/legacy'],
    ['', true, '/legacy/**', 'http://u:1', true, '/legacy', '/', '/legacy'],
    ['', true, '/legacy/**', 'http://u:1', false, '/legacy/a', '/legacy/a', ''],
    ['', true, '/legacy/**', 'http://u:1/base/', true, '/legacy/a', '/base/a', '/legacy'],
    ['', true, '/legacy/**', 'http://u:1/base', true, '/legacy', '/base', '/legacy'],
    ['/api', true, '/legacy/**', 'http://u:1', true, '/api/legacy/a', '/a', '/api/legacy'],
    ['/api', false, '/legacy/**', 'http://u:1', true, '/api/legacy/a', '/api/a', '/legacy'],
    ['/api', true, '/legacy/**', 'http://u:1', false, '/api/legacy/a', '/legacy/a', '/api'],
    ['/api', false, '/legacy/**', 'http://u:1', false, '/api/legacy/a', '/api/legacy/a', ''],
    ['', true, '/ping', 'http://u:1/health', true, '/ping', '/health', '/ping'],
  ])('prefix %j (strip %s), %s to %s (strip %s): %s -> %s', (prefix, stripGlobal, path, upstream, strip, client, sent, forwardedPrefix) => {
    const r = route({ prefix, stripPrefix: stripGlobal }, path, upstream, strip);
    expect(r.upstreamPath(r.upstreams[0], client)).toBe(sent);
    expect(r.stripped).toBe(forwardedPrefix);
    expect(r.template).toBe(prefix + path);
  });

  it('takes upstreams in turn, skipping unhealthy ones while another is healthy', () => {
    const config = resolveConfig({ httpRoutes: { routes: { r: { path: '/r/**', upstreams: ['http://a:1', 'http://b:1', 'http://c:1'] } } } }).httpRoutes;
    const r = compileProxyRoutes(config, NO_ROUTES)[0];
    expect([1, 2, 3, 4].map(() => r.next().origin)).toEqual(['http://a:1', 'http://b:1', 'http://c:1', 'http://a:1']);
    r.upstreams[1].healthy = false;
    expect([1, 2, 3, 4].map(() => r.next().origin)).toEqual(['http://c:1', 'http://a:1', 'http://c:1', 'http://a:1']);
    for (const u of r.upstreams) u.healthy = false;
    expect(new Set([1, 2, 3].map(() => r.next().origin)).size).toBe(3);
  });
});

describe('compileProxyRoutes', () => {
  const transcoded = {
    routes: [{ binding: { httpMethod: 'GET', path: '/v1/users/{id}' }, rpc: { service: 'acme.user.v1.UserService', name: 'GetUser' } }],
  } as unknown as RouteTable;
  const compile = (routes: NonNullable<ConfigInput['httpRoutes']>['routes']): string =>
    (thrownBy(() => compileProxyRoutes(resolveConfig({ httpRoutes: { routes } }).httpRoutes, transcoded)) as Error).message;

  it('refuses an HTTP route over a transcoded one, or two on one path', () => {
    expect(compile({ v1: { path: '/v1/**', upstreams: 'http://u:1' } })).toContain('covers GET /v1/users/{id} of acme.user.v1.UserService.GetUser');
    expect(compile({ users: { path: '/v1/users', upstreams: 'http://u:1' } })).toContain('covers GET /v1/users/{id}');
    expect(compile({ a: { path: '/x/**', upstreams: 'http://u:1' }, b: { path: '/x/**', upstreams: 'http://v:1' } })).toContain('both serve /x/**');
  });
});

describe('config httpRoutes', () => {
  const error = (input: unknown): string => (thrownBy(() => resolveConfig({ httpRoutes: input } as ConfigInput)) as Error).message;

  it('fills the documented defaults', () => {
    const { httpRoutes, resilience } = resolveConfig({ httpRoutes: { routes: { r: { path: '/r/**', upstreams: 'http://u:1' } } } });
    expect(httpRoutes).toMatchObject({ prefix: '', stripPrefix: true, sensitiveHeaders: ['cookie', 'set-cookie', 'authorization'] });
    expect(httpRoutes.routes.r).toEqual({
      path: '/r/**',
      upstreams: ['http://u:1'],
      stripPrefix: true,
      sensitiveHeaders: ['cookie', 'set-cookie', 'authorization'],
      host: 'rewrite',
      forwardedHeaders: true,
      public: false,
      roles: [],
      rateLimit: undefined,
      timeoutMs: resilience.timeoutMs,
      idleTimeoutMs: 60_000,
      connectTimeoutMs: 5_000,
      retry: resilience.retry,
      breaker: resilience.breaker,
      bulkhead: resilience.bulkhead,
      healthPath: '',
      healthIntervalMs: 5_000,
      optional: false,
    });
  });

  it.each<[string, unknown, string]>([
    ['an unknown option', { bogus: 1 }, 'unknown option "httpRoutes.bogus"'],
    ['a prefix with a trailing slash', { prefix: '/api/' }, 'option "httpRoutes.prefix"'],
    ['a path with a variable', { routes: { r: { path: '/r/{id}', upstreams: 'http://u:1' } } }, 'option "httpRoutes.routes.r.path"'],
    ['a path with a single *', { routes: { r: { path: '/r/*', upstreams: 'http://u:1' } } }, 'option "httpRoutes.routes.r.path"'],
    ['no upstream', { routes: { r: { path: '/r/**', upstreams: [] } } }, 'option "httpRoutes.routes.r.upstreams"'],
    ['a gRPC-style upstream', { routes: { r: { path: '/r/**', upstreams: '127.0.0.1:80' } } }, 'option "httpRoutes.routes.r.upstreams"'],
    ['credentials in an upstream', { routes: { r: { path: '/r/**', upstreams: 'http://u:p@h:1' } } }, 'option "httpRoutes.routes.r.upstreams"'],
    [
      'an unknown route option',
      { routes: { r: { path: '/r/**', upstreams: 'http://u:1', stripprefix: false } } },
      'unknown option "httpRoutes.routes.r.stripprefix"',
    ],
    ['a bad host mode', { routes: { r: { path: '/r/**', upstreams: 'http://u:1', host: 'keep' } } }, 'option "httpRoutes.routes.r.host"'],
    [
      'a misspelt retry option',
      { routes: { r: { path: '/r/**', upstreams: 'http://u:1', retry: { attempts: 2 } } } },
      'unknown option "httpRoutes.routes.r.retry.attempts"',
    ],
    [
      'zero attempts',
      { routes: { r: { path: '/r/**', upstreams: 'http://u:1', retry: { maxAttempts: 0 } } } },
      'option "httpRoutes.routes.r.retry.maxAttempts"',
    ],
    ['a bad header name', { sensitiveHeaders: ['bad header'] }, 'option "httpRoutes.sensitiveHeaders"'],
    ['a bad route name', { routes: { 'a b': { path: '/r/**', upstreams: 'http://u:1' } } }, 'option "httpRoutes.routes.a b"'],
  ])('refuses %s', (_what, input, named) => {
    expect(error(input)).toContain(named);
  });
});

describe('isRetryable', () => {
  it.each<[string, Record<string, string>, boolean]>([
    ['GET', {}, true],
    ['HEAD', {}, true],
    ['DELETE', { 'content-length': '0' }, true],
    ['PUT', {}, true],
    ['PUT', { 'content-length': '12' }, false],
    ['GET', { 'transfer-encoding': 'chunked' }, false],
    ['POST', {}, false],
    ['PATCH', {}, false],
  ])('%s %j: %s', (method, headers, expected) => {
    expect(isRetryable(method, headers)).toBe(expected);
  });
});
