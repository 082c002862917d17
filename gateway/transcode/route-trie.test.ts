import { parsePathTemplate } from './path-template';
import { DuplicateRouteError, type MatchResult, RouteTrieBuilder } from './route-trie';

/** Each route's value is its own `METHOD template` text, so expectations read as the route that won. */
function trieOf(...routes: string[]) {
  const builder = new RouteTrieBuilder<string>();
  for (const route of routes) {
    const [method, template] = route.split(' ');
    builder.add(method, parsePathTemplate(template), route);
  }
  return builder.build();
}

type Outcome = string | { route: string; bindings: Record<string, string> };

/** Flattens a result for table rows: '404', '405 GET,POST', the route text, or route + bindings. */
function outcome(result: MatchResult<string>): Outcome {
  if (result.kind === 'not-found') return '404';
  if (result.kind === 'method-not-allowed') return `405 ${result.allow.join(',')}`;
  if (result.bindings.length === 0) return result.value;
  return { route: result.value, bindings: Object.fromEntries(result.bindings.map(([f, v]) => [f.join('.'), v])) };
}

describe('RouteTrie priority and backtracking', () => {
  const trie = trieOf(
    'GET /v1/users/me',
    'GET /v1/users/{id}',
    'GET /v1/users/{id}/posts',
    'GET /v1/users/me/settings',
    'GET /v1/{name=**}',
    'GET /v1/users/*/posts/{post}',
    'POST /v1/users/{id}',
  );
  it.each<[string, string, Outcome]>([
    ['GET', '/v1/users/me', 'GET /v1/users/me'],
    ['GET', '/v1/users/bob', { route: 'GET /v1/users/{id}', bindings: { id: 'bob' } }],
    // `me` is tried as a literal first; `me/posts` only exists under `*`, so the search backtracks.
    ['GET', '/v1/users/me/posts', { route: 'GET /v1/users/{id}/posts', bindings: { id: 'me' } }],
    ['GET', '/v1/users/me/settings', 'GET /v1/users/me/settings'],
    ['GET', '/v1/users/bob/settings', { route: 'GET /v1/{name=**}', bindings: { name: 'users/bob/settings' } }],
    ['GET', '/v1/users/me/posts/7', { route: 'GET /v1/users/*/posts/{post}', bindings: { post: '7' } }],
    ['GET', '/v1/users/me/posts/7/x', { route: 'GET /v1/{name=**}', bindings: { name: 'users/me/posts/7/x' } }],
    // The method takes part in the search: POST skips the GET-only literal `me`.
    ['POST', '/v1/users/me', { route: 'POST /v1/users/{id}', bindings: { id: 'me' } }],
    ['GET', '/v1', { route: 'GET /v1/{name=**}', bindings: { name: '' } }],
    ['GET', '/v2/users/me', '404'],
  ])('%s %s', (method, path, expected) => {
    expect(outcome(trie.match(method, path))).toEqual(expected);
  });
});

describe('RouteTrie ** matches zero or more segments', () => {
  const trie = trieOf('GET /v1/files/{path=**}', 'GET /v1/a/*/b/**', 'GET /**', 'GET /v1/{name=shelves/*/books/**}');
  it.each<[string, Outcome]>([
    ['/v1/files', { route: 'GET /v1/files/{path=**}', bindings: { path: '' } }],
    ['/v1/files/a', { route: 'GET /v1/files/{path=**}', bindings: { path: 'a' } }],
    ['/v1/files/a/b/c.txt', { route: 'GET /v1/files/{path=**}', bindings: { path: 'a/b/c.txt' } }],
    ['/v1/a/x/b', 'GET /v1/a/*/b/**'],
    ['/v1/a/x/b/y/z', 'GET /v1/a/*/b/**'],
    ['/v1/a/x', 'GET /**'],
    ['/v1/shelves/1/books', { route: 'GET /v1/{name=shelves/*/books/**}', bindings: { name: 'shelves/1/books' } }],
    ['/v1/shelves/1/books/2/pages/3', { route: 'GET /v1/{name=shelves/*/books/**}', bindings: { name: 'shelves/1/books/2/pages/3' } }],
    ['/', 'GET /**'],
    ['/anything/at/all', 'GET /**'],
  ])('GET %s', (path, expected) => {
    expect(outcome(trie.match('GET', path))).toEqual(expected);
  });
});

describe('RouteTrie segments after ** match from the end of the path', () => {
  const trie = trieOf(
    'GET /v1/archive/{path=**}/manifest',
    'GET /v1/archive/{path=**}/{file}:get',
    'POST /v1/archive/{path=**}/manifest',
    'GET /v1/archive/**',
    'GET /',
  );
  it.each<[string, string, Outcome]>([
    ['GET', '/v1/archive/a/b/manifest', { route: 'GET /v1/archive/{path=**}/manifest', bindings: { path: 'a/b' } }],
    ['GET', '/v1/archive/manifest', { route: 'GET /v1/archive/{path=**}/manifest', bindings: { path: '' } }],
    ['GET', '/v1/archive/a%2Fb/manifest', { route: 'GET /v1/archive/{path=**}/manifest', bindings: { path: 'a%2Fb' } }],
    ['GET', '/v1/archive/a/b/c.txt:get', { route: 'GET /v1/archive/{path=**}/{file}:get', bindings: { path: 'a/b', file: 'c.txt' } }],
    ['GET', '/v1/archive/a/other', 'GET /v1/archive/**'],
    ['POST', '/v1/archive/x/manifest', { route: 'POST /v1/archive/{path=**}/manifest', bindings: { path: 'x' } }],
    ['DELETE', '/v1/archive/x/manifest', '405 GET,POST'],
    ['GET', '/', 'GET /'],
    ['GET', '/v2', '404'],
  ])('%s %s', (method, path, expected) => {
    expect(outcome(trie.match(method, path))).toEqual(expected);
  });
});

describe('RouteTrie verbs', () => {
  const trie = trieOf(
    'POST /v1/users/{id}:publish',
    'GET /v1/users/{id}',
    'POST /v1/users:batchGet',
    'GET /v1/files/{path=**}:download',
    'GET /v1/x:custom',
    'DELETE /v1/things/{id}:purge',
  );
  it.each<[string, string, Outcome]>([
    ['POST', '/v1/users/42:publish', { route: 'POST /v1/users/{id}:publish', bindings: { id: '42' } }],
    ['GET', '/v1/users/42', { route: 'GET /v1/users/{id}', bindings: { id: '42' } }],
    // No verb route matches: the colon is part of the id.
    ['GET', '/v1/users/a:b', { route: 'GET /v1/users/{id}', bindings: { id: 'a:b' } }],
    // A verb route matches the path but not the method; the verb-less route takes the full segment.
    ['GET', '/v1/users/42:publish', { route: 'GET /v1/users/{id}', bindings: { id: '42:publish' } }],
    // Only the text after the LAST colon is the verb.
    ['POST', '/v1/users/a:b:publish', { route: 'POST /v1/users/{id}:publish', bindings: { id: 'a:b' } }],
    ['POST', '/v1/users:batchGet', 'POST /v1/users:batchGet'],
    ['GET', '/v1/users:batchGet', '405 POST'],
    ['GET', '/v1/files/a/b.txt:download', { route: 'GET /v1/files/{path=**}:download', bindings: { path: 'a/b.txt' } }],
    ['GET', '/v1/files:download', { route: 'GET /v1/files/{path=**}:download', bindings: { path: '' } }],
    ['GET', '/v1/files/a:b/c.txt:download', { route: 'GET /v1/files/{path=**}:download', bindings: { path: 'a:b/c.txt' } }],
    ['GET', '/v1/files/a.txt', '404'],
    ['GET', '/v1/files/:download', '404'],
    ['GET', '/v1/x:custom', 'GET /v1/x:custom'],
    ['GET', '/v1/x', '404'],
    ['GET', '/v1/x:other', '404'],
    ['GET', '/v1/x:', '404'],
    ['GET', '/v1/things/1:purge', '405 DELETE'],
    ['PUT', '/v1/users/42:publish', '405 GET,POST'],
  ])('%s %s', (method, path, expected) => {
    expect(outcome(trie.match(method, path))).toEqual(expected);
  });
});

describe('RouteTrie 404 and 405', () => {
  const trie = trieOf(
    'GET /v1/users/{id}',
    'PATCH /v1/users/{id}',
    'DELETE /v1/users/{id}',
    'SEARCH /v1/users/me',
    'POST /v1/users',
    'GET /v1/users',
    'GET /v1/users/me/avatar',
  );
  it.each<[string, string, Outcome]>([
    ['PUT', '/v1/users/42', '405 DELETE,GET,PATCH'],
    // Allow gathers every route the path matches, across literal and wildcard branches.
    ['PUT', '/v1/users/me', '405 DELETE,GET,PATCH,SEARCH'],
    ['SEARCH', '/v1/users/me', 'SEARCH /v1/users/me'],
    ['DELETE', '/v1/users', '405 GET,POST'],
    // HEAD is not mapped to GET: the HTTP adapter decides that.
    ['HEAD', '/v1/users', '405 GET,POST'],
    // Methods are case-sensitive (RFC 9110).
    ['get', '/v1/users', '405 GET,POST'],
    ['GET', '/v1/users/me/avatar', 'GET /v1/users/me/avatar'],
    ['POST', '/v1/users/me/avatar', '405 GET'],
    ['GET', '/v1/users/42/avatar', '404'],
    ['GET', '/v1/groups', '404'],
    ['GET', '/v1', '404'],
    ['GET', '/', '404'],
    ['GET', '', '404'],
    ['GET', 'v1/users', '404'],
    // A trailing slash is a different path, and templates cannot express it.
    ['GET', '/v1/users/', '404'],
    ['POST', '/v1/users/', '404'],
    ['GET', '/v1//users', '404'],
    ['GET', '//v1/users', '404'],
  ])('%s %j', (method, path, expected) => {
    expect(outcome(trie.match(method, path))).toEqual(expected);
  });

  it('even ** does not match a trailing slash or an empty segment', () => {
    const deep = trieOf('GET /v1/{path=**}');
    expect(outcome(deep.match('GET', '/v1/a/'))).toBe('404');
    expect(outcome(deep.match('GET', '/v1/a//b'))).toBe('404');
    expect(outcome(deep.match('GET', '/v1/a/b'))).toEqual({ route: 'GET /v1/{path=**}', bindings: { path: 'a/b' } });
  });
});

describe('RouteTrie percent-decoding', () => {
  const trie = trieOf('GET /v1/users/{id}', 'GET /v1/{name=shelves/*/books/*}', 'GET /v1/files/{path=**}', 'GET /v1/caf%C3%A9/menu', 'GET /v1/places/café');
  it.each<[string, Outcome]>([
    // A single-segment variable decodes fully; %2F never splits the path.
    ['/v1/users/a%2Fb', { route: 'GET /v1/users/{id}', bindings: { id: 'a/b' } }],
    ['/v1/users/caf%C3%A9', { route: 'GET /v1/users/{id}', bindings: { id: 'café' } }],
    ['/v1/users/a%20b%2Bc+d', { route: 'GET /v1/users/{id}', bindings: { id: 'a b+c+d' } }],
    ['/v1/users/%E2%9C%93', { route: 'GET /v1/users/{id}', bindings: { id: '✓' } }],
    // Multi-segment variables keep %2F / %2f as sent and decode the rest.
    ['/v1/shelves/a%2Fb/books/c%2fd', { route: 'GET /v1/{name=shelves/*/books/*}', bindings: { name: 'shelves/a%2Fb/books/c%2fd' } }],
    ['/v1/files/dir%2Fsub/caf%C3%A9.txt', { route: 'GET /v1/files/{path=**}', bindings: { path: 'dir%2Fsub/café.txt' } }],
    ['/v1/files/%252F', { route: 'GET /v1/files/{path=**}', bindings: { path: '%2F' } }],
    ['/v1/files/a%20b', { route: 'GET /v1/files/{path=**}', bindings: { path: 'a b' } }],
    // Literals match the raw segment or its decoded form, however the template spelled it.
    ['/v1/caf%C3%A9/menu', 'GET /v1/caf%C3%A9/menu'],
    ['/v1/caf%c3%a9/menu', 'GET /v1/caf%C3%A9/menu'],
    ['/v1/café/menu', 'GET /v1/caf%C3%A9/menu'],
    ['/v1/places/caf%C3%A9', 'GET /v1/places/café'],
    ['/v1/%75sers/x', { route: 'GET /v1/users/{id}', bindings: { id: 'x' } }],
    // An invalid encoding in a bound segment: not-found, never a half-decoded value.
    ['/v1/users/%zz', '404'],
    ['/v1/users/%C3', '404'],
    ['/v1/files/a/%zz', '404'],
    ['/v1/files/%2F%zz', '404'],
  ])('GET %s', (path, expected) => {
    expect(outcome(trie.match('GET', path))).toEqual(expected);
  });
});

describe('RouteTrieBuilder duplicates', () => {
  it.each([
    ['GET /v1/users/{id}', 'GET /v1/users/{name}'],
    ['GET /v1/users/{id}', 'GET /v1/users/*'],
    ['GET /v1/{name=shelves/*}', 'GET /v1/shelves/{shelf}'],
    ['GET /v1/{a=**}', 'GET /v1/**'],
    ['POST /v1/{id}:publish', 'POST /v1/{other}:publish'],
    ['GET /v1/caf%C3%A9', 'GET /v1/café'],
  ])('%s then %s', (first, second) => {
    const builder = new RouteTrieBuilder<string>();
    builder.add(first.split(' ')[0], parsePathTemplate(first.split(' ')[1]), first);
    let caught: unknown;
    try {
      builder.add(second.split(' ')[0], parsePathTemplate(second.split(' ')[1]), second);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(DuplicateRouteError);
    const err = caught as DuplicateRouteError;
    expect(err.existing).toBe(first);
    expect(err.duplicate).toBe(second);
    expect(err.existingTemplate.text).toBe(first.split(' ')[1]);
    expect(err.message).toBe(`duplicate route: ${second} has the same shape as ${first}`);
  });

  it.each([
    ['GET /v1/users/{id}', 'POST /v1/users/{id}'],
    ['GET /v1/users/{id}', 'GET /v1/users/{id}:publish'],
    ['GET /v1/users/{id}:a', 'GET /v1/users/{id}:b'],
    ['GET /v1/users/{id}', 'GET /v1/users/me'],
    ['GET /v1/users/*', 'GET /v1/users/**'],
    ['GET /v1/{name=shelves/*}', 'GET /v1/{name=shelves/*/books/*}'],
  ])('%s and %s coexist', (...routes) => {
    expect(() => trieOf(...routes)).not.toThrow();
  });

  it.each(['get', 'GET ', '', 'G@T'])('rejects the HTTP method %j', (method) => {
    expect(() => new RouteTrieBuilder<string>().add(method, parsePathTemplate('/v1/x'), 'x')).toThrow(TypeError);
  });

  it('builds an immutable snapshot', () => {
    const builder = new RouteTrieBuilder<string>();
    builder.add('GET', parsePathTemplate('/v1/a'), 'a');
    const trie = builder.build();
    builder.add('GET', parsePathTemplate('/v1/b'), 'b');
    expect(Object.isFrozen(trie)).toBe(true);
    expect(outcome(trie.match('GET', '/v1/b'))).toBe('404');
    expect(outcome(builder.build().match('GET', '/v1/b'))).toBe('b');
  });
});

describe('RouteTrie with many routes', () => {
  const builder = new RouteTrieBuilder<string>();
  const N = 2000;
  for (let i = 0; i < N; i++) {
    builder.add('GET', parsePathTemplate(`/v1/svc${i}/things/{id}`), `get${i}`);
    builder.add('POST', parsePathTemplate(`/v1/svc${i}/things/{id}:verb`), `verb${i}`);
    builder.add('GET', parsePathTemplate(`/v1/{name=svc${i}/*/items/*}`), `items${i}`);
    builder.add('POST', parsePathTemplate(`/v1/svc${i}/things`), `create${i}`);
    builder.add('GET', parsePathTemplate(`/v1/svc${i}/files/{path=**}`), `files${i}`);
  }
  const trie = builder.build();

  it.each([0, 1, 999, 1999])('finds every route of service %d', (i) => {
    expect(trie.match('GET', `/v1/svc${i}/things/t${i}`)).toEqual({ kind: 'match', value: `get${i}`, bindings: [[['id'], `t${i}`]] });
    expect(trie.match('POST', `/v1/svc${i}/things/t:verb`)).toEqual({ kind: 'match', value: `verb${i}`, bindings: [[['id'], 't']] });
    expect(trie.match('GET', `/v1/svc${i}/x/items/y`)).toEqual({ kind: 'match', value: `items${i}`, bindings: [[['name'], `svc${i}/x/items/y`]] });
    expect(trie.match('POST', `/v1/svc${i}/things`)).toEqual({ kind: 'match', value: `create${i}`, bindings: [] });
    expect(trie.match('GET', `/v1/svc${i}/files/a/b`)).toEqual({ kind: 'match', value: `files${i}`, bindings: [[['path'], 'a/b']] });
    expect(outcome(trie.match('GET', `/v1/svc${i}/things`))).toBe('405 POST');
  });

  it('misses cleanly', () => {
    expect(outcome(trie.match('GET', `/v1/svc${N}/things/x`))).toBe('404');
    expect(outcome(trie.match('GET', '/v1/svc1/other/x'))).toBe('404');
  });
});
