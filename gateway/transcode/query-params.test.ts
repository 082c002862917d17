import { echoRegistry } from '../test-support/echo-backend';
import { thrownBy } from '../test-support/thrown';
import { GatewayError } from './errors';
import { decodeQueryComponent, QueryReader } from './query-params';

const ECHO = echoRegistry().getMessage('acme.echo.v1.EchoMessage')!;
// As GET /v1/echo/{id}: `id` is bound by the path.
const reader = new QueryReader(ECHO, [['id']], { ignoreUnknown: false });

function read(query: string, r = reader): Record<string, unknown> {
  const overlay: Record<string, unknown> = {};
  r.apply(query, overlay);
  return overlay;
}

function reasonOf(fn: () => unknown): string {
  const err = thrownBy(fn);
  expect(err).toBeInstanceOf(GatewayError);
  return (err as GatewayError).reason;
}

describe('QueryReader', () => {
  // The overlay is proto3 JSON; values stay text where proto3 JSON accepts strings.
  it.each<[string, Record<string, unknown>]>([
    ['name=x', { name: 'x' }],
    ['name=a+b%20c%2B', { name: 'a b c+' }],
    ['small=5&ratio=1.5', { small: '5', ratio: '1.5' }],
    ['nested.inner.value=v', { nested: { inner: { value: 'v' } } }],
    ['nested.inner.value=v&nested.value=w', { nested: { inner: { value: 'v' }, value: 'w' } }],
    ['tags=a&tags=b', { tags: ['a', 'b'] }],
    ['numbers=9007199254740993', { numbers: ['9007199254740993'] }],
    ['kind=KIND_ONE&kinds=2&kinds=KIND_TWO', { kind: 'KIND_ONE', kinds: [2, 'KIND_TWO'] }],
    ['flag=t&maybeBool=0', { flag: true, maybeBool: false }],
    ['maybe_int=5&maybeString=', { maybeInt: '5', maybeString: '' }],
    ['renamed=1', { customName: '1' }],
    ['customName=1', { customName: '1' }],
    ['labels[env]=prod&labels[a%20b]=c', { labels: { env: 'prod', 'a b': 'c' } }],
    ['when=2024-01-01T00:00:00Z&ttl=1s&mask=a,b', { when: '2024-01-01T00:00:00Z', ttl: '1s', mask: 'a,b' }],
    ['name', { name: '' }],
    ['&&name=x&', { name: 'x' }],
    ['', {}],
  ])('%s', (query, expected) => {
    expect(read(query)).toEqual(expected);
  });

  it('counts the parameters it applied', () => {
    expect(reader.apply('name=x&tags=a&tags=b', {})).toBe(3);
  });

  it.each<[string, string]>([
    ['bogus=1', 'UNKNOWN_QUERY_PARAMETER'],
    ['nested.bogus=1', 'UNKNOWN_QUERY_PARAMETER'],
    ['name.x=1', 'INVALID_FIELD'],
    ['tags.x=1', 'INVALID_FIELD'],
    ['when.seconds=1', 'INVALID_FIELD'],
    ['nested.inner.value.x=1', 'INVALID_FIELD'],
    ['id=1', 'BOUND_QUERY_PARAMETER'],
    ['flag=yes', 'INVALID_FIELD'],
    ['name=a&name=b', 'INVALID_FIELD'],
    ['nested=x', 'INVALID_FIELD'],
    ['labels=x', 'INVALID_FIELD'],
    ['name[k]=x', 'INVALID_FIELD'],
    ['name=%zz', 'INVALID_FIELD'],
  ])('%s → %s', (query, reason) => {
    expect(reasonOf(() => read(query))).toBe(reason);
  });

  it('a bound message binds its sub-fields too, and a bound sub-field binds its parents', () => {
    const patch = new QueryReader(ECHO, [['nested']], { ignoreUnknown: false });
    expect(reasonOf(() => read('nested.value=x', patch))).toBe('BOUND_QUERY_PARAMETER');
    const deep = new QueryReader(ECHO, [['nested', 'inner', 'value']], { ignoreUnknown: false });
    expect(reasonOf(() => read('nested.inner.value=x', deep))).toBe('BOUND_QUERY_PARAMETER');
    expect(read('nested.value=x', deep)).toEqual({ nested: { value: 'x' } });
  });

  it('body "*" binds everything', () => {
    const all = new QueryReader(ECHO, [[]], { ignoreUnknown: false });
    expect(reasonOf(() => read('name=x', all))).toBe('BOUND_QUERY_PARAMETER');
  });

  it('ignoreUnknown drops unknown names but keeps the rest', () => {
    const lenient = new QueryReader(ECHO, [['id']], { ignoreUnknown: true });
    const overlay = {};
    expect(lenient.apply('bogus=1&name=x', overlay)).toBe(1);
    expect(overlay).toEqual({ name: 'x' });
    expect(reasonOf(() => read('id=1', lenient))).toBe('BOUND_QUERY_PARAMETER');
    // A dotted name through a field without sub-fields is not unknown: 400 whatever the option.
    expect(reasonOf(() => read('name.x=1', lenient))).toBe('INVALID_FIELD');
  });

  it('a path-bound field may be repeated in the query with the same value only', () => {
    const path = new QueryReader(ECHO, [['id'], ['tags']], { ignoreUnknown: false }, [['id'], ['tags']]);
    expect(path.apply('id=5&name=x', { id: '5' })).toBe(1);
    expect(path.apply('tags=a,b', { tags: ['a', 'b'] })).toBe(0);
    expect(reasonOf(() => path.apply('id=6', { id: '5' }))).toBe('BOUND_QUERY_PARAMETER');
  });
});

describe('decodeQueryComponent', () => {
  it.each([
    ['plain', 'plain'],
    ['a+b', 'a b'],
    ['a%2Bb', 'a+b'],
    ['caf%C3%A9', 'café'],
    ['%26%3D', '&='],
  ])('%s → %s', (text, decoded) => {
    expect(decodeQueryComponent(text)).toBe(decoded);
  });

  it.each(['%', '%zz', '%C3'])('%s is malformed', (text) => {
    expect(() => decodeQueryComponent(text)).toThrow(GatewayError);
  });
});
