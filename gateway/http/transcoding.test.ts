/**
 * End-to-end conformance of the transcoding engine, part 1: HttpRule bindings
 * (google/api/http.proto) and query parameters, through a real gateway in front of the echo
 * backend, over both upstream transports. JSON mapping, errors, headers and streaming have
 * their own files (transcoding-*.test.ts) so each table stays readable.
 */
import { startHarness, type Harness } from '../test-support/gateway-harness';
import { errorReason, readJson, TRANSPORTS, violatedFields } from '../test-support/http-client';

type Json = Record<string, unknown>;

interface RuleCase {
  name: string;
  method: string;
  path: string;
  body?: Json;
  expected: Json;
}

// Echo returns its request, so the answer shows exactly which fields each binding set.
const RULES: RuleCase[] = [
  { name: 'get with a path variable', method: 'GET', path: '/v1/echo/7', expected: { id: '7' } },
  { name: 'post with body "*"', method: 'POST', path: '/v1/echo', body: { id: '5', name: 'x' }, expected: { id: '5', name: 'x' } },
  { name: 'put (additional binding) with body "*"', method: 'PUT', path: '/v1/echo/9', body: { name: 'p' }, expected: { id: '9', name: 'p' } },
  { name: 'put: the body may repeat the path value', method: 'PUT', path: '/v1/echo/9', body: { id: 9 }, expected: { id: '9' } },
  {
    name: 'patch with body "nested"',
    method: 'PATCH',
    path: '/v1/echo/3/nested',
    body: { value: 'v', inner: { count: 2 } },
    expected: { id: '3', nested: { value: 'v', inner: { count: '2' } } },
  },
  { name: 'delete without a body', method: 'DELETE', path: '/v1/echo/4', expected: { id: '4' } },
  { name: 'custom method SEARCH', method: 'SEARCH', path: '/v1/echo:search', body: { name: 's' }, expected: { name: 's' } },
  { name: 'a literal beats a variable', method: 'GET', path: '/v1/echo/literal', expected: {} },
  {
    name: 'nested field path {nested.inner.value}',
    method: 'GET',
    path: '/v1/echo/deepvalue/deep/n',
    expected: { name: 'n', nested: { inner: { value: 'deepvalue' } } },
  },
  { name: '{name=shelves/*/books/*}', method: 'GET', path: '/v1/shelves/1/books/2', expected: { name: 'shelves/1/books/2' } },
  { name: '{name=**}', method: 'GET', path: '/v1/files/a/b/c.txt', expected: { name: 'a/b/c.txt' } },
  { name: '* in a template', method: 'GET', path: '/v1/wild/anything/x/n', expected: { name: 'n' } },
  { name: 'trailing :verb', method: 'POST', path: '/v1/echo/6:reverse', body: { name: 'r' }, expected: { id: '6', name: 'r' } },
  {
    name: 'trailing :verb after {name=rest/**}',
    method: 'GET',
    path: '/v1/tail/5/rest/x/y:peek',
    expected: { id: '5', name: 'rest/x/y' },
  },
  { name: '%2F in a single-segment variable becomes /', method: 'GET', path: '/v1/wild/q/x/a%2Fb', expected: { name: 'a/b' } },
  { name: '%2F stays encoded in a multi-segment variable', method: 'GET', path: '/v1/files/a%2Fb/c', expected: { name: 'a%2Fb/c' } },
  { name: 'other escapes decode in a multi-segment variable', method: 'GET', path: '/v1/files/a%20b/c', expected: { name: 'a b/c' } },
  { name: 'unicode in a variable', method: 'GET', path: '/v1/wild/q/x/caf%C3%A9', expected: { name: 'café' } },
  { name: 'int64 beyond 2^53 in the path', method: 'GET', path: '/v1/echo/9007199254740993', expected: { id: '9007199254740993' } },
  {
    name: 'response_body picks one field',
    method: 'POST',
    path: '/v1/echo-nested',
    body: { name: 'dropped', nested: { value: 'kept' } },
    expected: { value: 'kept' },
  },
];

interface QueryCase {
  name: string;
  query: string;
  expected: Json;
}

// All on GET /v1/echo/1 (id bound by the path, everything else from the query).
const QUERIES: QueryCase[] = [
  { name: 'scalars', query: 'name=x&small=-5&ratio=1.5&fraction=0.25', expected: { name: 'x', small: -5, ratio: 1.5, fraction: 0.25 } },
  { name: 'spaces as + and %20', query: 'name=a+b%20c', expected: { name: 'a b c' } },
  { name: 'nested field', query: 'nested.inner.value=v&nested.inner.count=3', expected: { nested: { inner: { value: 'v', count: '3' } } } },
  { name: 'nested field by json names', query: 'nested.items=a&nested.items=b', expected: { nested: { items: ['a', 'b'] } } },
  { name: 'repeated string', query: 'tags=a&tags=b', expected: { tags: ['a', 'b'] } },
  {
    name: 'repeated int64, exact beyond 2^53',
    query: 'numbers=1&numbers=9007199254740993&numbers=-9223372036854775808',
    expected: { numbers: ['1', '9007199254740993', '-9223372036854775808'] },
  },
  { name: 'enum by name', query: 'kind=KIND_TWO', expected: { kind: 'KIND_TWO' } },
  { name: 'enum by number', query: 'kind=1', expected: { kind: 'KIND_ONE' } },
  { name: 'repeated enum, names and numbers', query: 'kinds=KIND_ONE&kinds=2', expected: { kinds: ['KIND_ONE', 'KIND_TWO'] } },
  { name: 'bool true', query: 'flag=true', expected: { flag: true } },
  { name: 'bool 1', query: 'flag=1', expected: { flag: true } },
  { name: 'bool false', query: 'flag=false&maybeBool=false', expected: { maybeBool: false } },
  { name: 'bool 0', query: 'flag=0&maybeBool=0', expected: { maybeBool: false } },
  { name: 'bytes, standard base64', query: 'data=%2B%2F%2B%2F', expected: { data: '+/+/' } },
  { name: 'bytes, url-safe base64', query: 'data=-_-_', expected: { data: '+/+/' } },
  { name: 'uint64 max', query: 'big=18446744073709551615', expected: { big: '18446744073709551615' } },
  {
    name: 'sint64 and fixed64',
    query: 'signed=-9007199254740993&fixed=9007199254740993',
    expected: { signed: '-9007199254740993', fixed: '9007199254740993' },
  },
  { name: 'Timestamp', query: 'when=2024-01-02T03:04:05.500Z', expected: { when: '2024-01-02T03:04:05.500Z' } },
  { name: 'Duration', query: 'ttl=1.5s', expected: { ttl: '1.500s' } },
  { name: 'FieldMask', query: 'mask=fooBar,baz.qux', expected: { mask: 'fooBar,baz.qux' } },
  {
    name: 'wrappers',
    query: 'maybeInt=5&maybeBool=true&maybeString=&maybeBig=9007199254740993',
    expected: { maybeInt: 5, maybeBool: true, maybeString: '', maybeBig: '9007199254740993' },
  },
  { name: 'proto name maybe_int', query: 'maybe_int=6', expected: { maybeInt: 6 } },
  { name: 'custom json name', query: 'customName=3', expected: { customName: 3 } },
  { name: 'proto name of a custom json name', query: 'renamed=4', expected: { customName: 4 } },
  { name: 'map labels[env]=prod', query: 'labels[env]=prod&labels[tier]=web', expected: { labels: { env: 'prod', tier: 'web' } } },
  { name: 'proto3 optional', query: 'opt=', expected: { opt: '' } },
  { name: 'oneof member', query: 'text=hello', expected: { text: 'hello' } },
  { name: 'google.protobuf.Value', query: 'value=hi', expected: { value: 'hi' } },
];

interface QueryErrorCase {
  name: string;
  query: string;
  reason: string;
  field: string;
}

const QUERY_ERRORS: QueryErrorCase[] = [
  { name: 'unknown parameter', query: 'bogus=1', reason: 'UNKNOWN_QUERY_PARAMETER', field: 'bogus' },
  { name: 'unknown nested parameter', query: 'nested.bogus=1', reason: 'UNKNOWN_QUERY_PARAMETER', field: 'nested.bogus' },
  { name: 'path-bound field', query: 'id=2', reason: 'BOUND_QUERY_PARAMETER', field: 'id' },
  { name: 'wrong type int32', query: 'small=abc', reason: 'INVALID_FIELD', field: 'small' },
  { name: 'wrong type bool', query: 'flag=yes', reason: 'INVALID_FIELD', field: 'flag' },
  { name: 'unknown enum name', query: 'kind=KIND_NINE', reason: 'INVALID_FIELD', field: 'kind' },
  { name: 'int32 out of range', query: 'small=2147483648', reason: 'INVALID_FIELD', field: 'small' },
  { name: 'bad Timestamp', query: 'when=yesterday', reason: 'INVALID_FIELD', field: 'when' },
  { name: 'a non-repeated field twice', query: 'name=a&name=b', reason: 'INVALID_FIELD', field: 'name' },
  { name: 'a message field', query: 'nested=x', reason: 'INVALID_FIELD', field: 'nested' },
  { name: 'map without a key', query: 'labels=x', reason: 'INVALID_FIELD', field: 'labels' },
  { name: 'two oneof members', query: 'text=a&number=1', reason: 'INVALID_FIELD', field: 'number' },
];

describe.each(TRANSPORTS)('transcoding over %s: HttpRule bindings and query parameters', (transport) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ transport });
  });
  afterAll(() => h.close());

  it.each(RULES)('$name: $method $path', async ({ method, path, body, expected }) => {
    const res = await h.request(method, path, body === undefined ? {} : { body: JSON.stringify(body) });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await readJson(res)).toEqual(expected);
  });

  it.each([
    { name: 'a method the path does not serve', method: 'PATCH', path: '/v1/echo/1', allow: 'DELETE, GET, PUT' },
    { name: 'GET on a POST-only route', method: 'GET', path: '/v1/echo-nested', allow: 'POST' },
    { name: 'GET on a custom-method route', method: 'GET', path: '/v1/echo:search', allow: 'SEARCH' },
  ])('405 with Allow: $name', async ({ method, path, allow }) => {
    const res = await h.request(method, path);
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe(allow);
    const status = await readJson(res);
    expect(status.code).toBe(12);
    expect(errorReason(status)).toBe('METHOD_NOT_ALLOWED');
  });

  it.each([
    { name: 'an unknown path', path: '/v1/nope' },
    { name: 'a trailing slash', path: '/v1/echo/1/' },
    { name: 'an unknown verb', path: '/v1/echo:bogus' },
    { name: 'too many segments for a template', path: '/v1/shelves/1/books/2/extra' },
    { name: 'the root', path: '/' },
  ])('404 for $name', async ({ path }) => {
    const res = await h.request('GET', path);
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const status = await readJson(res);
    expect(status).toMatchObject({ code: 5, message: expect.any(String) });
    expect(errorReason(status)).toBe('ROUTE_NOT_FOUND');
  });

  // An unknown verb falls back to the verb-less routes (as Envoy and grpc-gateway do), so
  // `6:bogus` is the value of {id}, and an invalid one.
  it.each(['/v1/echo/abc', '/v1/echo/6:bogus'])('a variable that does not parse as its field: GET %s → 400', async (path) => {
    const res = await h.request('GET', path);
    expect(res.status).toBe(400);
    const status = await readJson(res);
    expect(errorReason(status)).toBe('INVALID_PATH_PARAMETER');
    expect(violatedFields(status)).toEqual(['id']);
  });

  it.each(QUERIES)('query: $name', async ({ query, expected }) => {
    const res = await h.request('GET', `/v1/echo/1?${query}`);
    expect(res.status).toBe(200);
    expect(await readJson(res)).toEqual({ id: '1', ...expected });
  });

  it.each(QUERY_ERRORS)('query error: $name → 400 $reason', async ({ query, reason, field }) => {
    const res = await h.request('GET', `/v1/echo/1?${query}`);
    expect(res.status).toBe(400);
    const status = await readJson(res);
    expect(status.code).toBe(3);
    expect(errorReason(status)).toBe(reason);
    expect(violatedFields(status)).toContain(field);
  });

  it('a body "*" route binds nothing from the query', async () => {
    const res = await h.request('POST', '/v1/echo?name=x', { body: '{}' });
    expect(res.status).toBe(400);
    expect(errorReason(await readJson(res))).toBe('BOUND_QUERY_PARAMETER');
  });

  it('a body "field" route takes the other fields from the query', async () => {
    const res = await h.request('PATCH', '/v1/echo/3/nested?name=q', { body: '{"value":"v"}' });
    expect(await readJson(res)).toEqual({ id: '3', name: 'q', nested: { value: 'v' } });
    const bound = await h.request('PATCH', '/v1/echo/3/nested?nested.value=q', { body: '{}' });
    expect(errorReason(await readJson(bound))).toBe('BOUND_QUERY_PARAMETER');
  });
});

describe('transcoding with ignoreUnknownQueryParameters', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ json: { ignoreUnknownQueryParameters: true } });
  });
  afterAll(() => h.close());

  it('drops unknown parameters and still applies the known ones', async () => {
    const res = await h.request('GET', '/v1/echo/1?bogus=1&name=x&nested.bogus=2');
    expect(res.status).toBe(200);
    expect(await readJson(res)).toEqual({ id: '1', name: 'x' });
  });

  it('still rejects a path-bound field', async () => {
    const res = await h.request('GET', '/v1/echo/1?id=2');
    expect(errorReason(await readJson(res))).toBe('BOUND_QUERY_PARAMETER');
  });
});
