/**
 * End-to-end, both transports: JSON that must arrive and leave exact (issue 9) — every
 * well-known type as a `body: "<field>"` field and as a `response_body`, float32 text,
 * 64-bit JSON numbers beyond 2^53, emitUnpopulated's nulls, what ignoreUnknownFields and
 * ignoreUnknownQueryParameters do and do not ignore, a path-bound field repeated in the body
 * or the query, and the JSON content type both ways.
 */
import { startHarness, type Harness } from '../test-support/gateway-harness';
import { errorReason, rawRequest, readJson, TRANSPORTS, violatedFields, type JsonBody } from '../test-support/http-client';

const SHAPES = 'acme.conformance.v1.ShapesService';
const ANY = 'type.googleapis.com/';

// [field (proto name), JSON name, a value of it]
const WELL_KNOWN: Array<[string, string, unknown]> = [
  ['when', 'when', '2024-01-02T03:04:05.123Z'],
  ['ttl', 'ttl', '3.500s'],
  ['mask', 'mask', 'a.b,cD'],
  ['meta', 'meta', { a: 1, b: [true, null, 'x'], c: { d: {} } }],
  ['value', 'value', { k: [1, 'two'] }],
  ['list', 'list', [1, 'a', null, { o: false }]],
  ['maybe_int', 'maybeInt', 7],
  ['maybe_string', 'maybeString', 's'],
  ['maybe_bool', 'maybeBool', true],
  ['maybe_big', 'maybeBig', '9007199254740993'],
  ['payload', 'payload', { '@type': `${ANY}acme.echo.v1.Nested`, value: 'v' }],
  ['nothing', 'nothing', {}],
];

describe.each(TRANSPORTS)('exact JSON over %s', (transport) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ transport }, ['acme.echo.v1', SHAPES]);
  });
  afterAll(() => h.close());

  it.each(WELL_KNOWN)('%s as a body field arrives as sent', async (field, json, value) => {
    const res = await h.request('POST', `/v1/wkt-body/${field}`, { body: JSON.stringify(value) });
    expect(res.status).toBe(200);
    expect(await readJson(res)).toEqual({ [json]: value });
  });

  it.each(WELL_KNOWN)('%s as a response_body', async (field, json, value) => {
    const res = await h.request('POST', `/v1/wkt-response/${field}`, { body: JSON.stringify({ [json]: value, name: 'other' }) });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(JSON.stringify(value));
  });

  it.each<[string, string, string]>([
    ['0.1', '{"fraction":0.1}', '{"fraction":0.1}'],
    ['1/3', '{"fraction":0.3333333333333333}', '{"fraction":0.33333334}'],
    ['a float32 max', '{"fraction":3.4028234663852886e38}', '{"fraction":3.4028235e+38}'],
    ['the smallest subnormal', '{"fraction":1e-45}', '{"fraction":1e-45}'],
    ['a list item and a double beside it', '{"ratio":0.1,"fraction":16777217}', '{"ratio":0.1,"fraction":16777216}'],
  ])('float32 prints as the shortest text that reads back: %s', async (_name, body, expected) => {
    const res = await h.request('POST', '/v1/echo', { body });
    expect(await res.text()).toBe(expected);
  });

  it.each<[string, string, JsonBody]>([
    ['int64 past 2^53', '{"id":9007199254740993}', { id: '9007199254740993' }],
    ['uint64 max', '{"big":18446744073709551615}', { big: '18446744073709551615' }],
    ['int64 min, sint64', '{"signed":-9223372036854775808}', { signed: '-9223372036854775808' }],
    [
      'repeated int64 and a nested int64',
      '{"numbers":[9007199254740993],"nested":{"inner":{"count":9007199254740995}}}',
      { numbers: ['9007199254740993'], nested: { inner: { count: '9007199254740995' } } },
    ],
    ['an Int64Value', '{"maybeBig":9223372036854775807}', { maybeBig: '9223372036854775807' }],
  ])('a 64-bit JSON number beyond 2^53 arrives exact: %s', async (_name, body, expected) => {
    const res = await h.request('POST', '/v1/echo', { body });
    expect(res.status).toBe(200);
    expect(await readJson(res)).toEqual(expected);
  });

  it.each<[string, string, string]>([
    ['uint64 past max', '{"big":18446744073709551616}', 'big'],
    ['int64 past max', '{"id":9223372036854775808}', 'id'],
    ['a negative uint64', '{"nested":{"inner":{"count":-9223372036854775809}}}', 'nested.inner.count'],
  ])('a 64-bit JSON number out of range is 400 naming the field: %s', async (_name, body, field) => {
    const res = await h.request('POST', '/v1/echo', { body });
    expect(res.status).toBe(400);
    expect(violatedFields(await readJson(res))).toEqual([field]);
  });

  it.each<[string, string, string, number, JsonBody | string]>([
    ['a body value equal to the path value', 'PUT', '/v1/echo/5', 200, { id: '5', name: 'x' }],
    ['a body value differing from the path value', 'PUT', '/v1/echo/6', 400, 'BOUND_FIELD_CONFLICT'],
    ['a query value equal to the path value', 'GET', '/v1/echo/5?id=5&name=x', 200, { id: '5', name: 'x' }],
    ['a query value differing from the path value', 'GET', '/v1/echo/5?id=6', 400, 'BOUND_QUERY_PARAMETER'],
  ])('one rule for a path-bound field repeated: %s', async (_name, method, path, status, expected) => {
    const res = await h.request(method, path, method === 'PUT' ? { body: '{"id":"5","name":"x"}' } : {});
    expect(res.status).toBe(status);
    const json = await readJson(res);
    if (typeof expected === 'string') expect(errorReason(json)).toBe(expected);
    else expect(json).toEqual(expected);
  });

  it('JSON answers, success and error, are application/json without a charset', async () => {
    const ok = await h.request('GET', '/v1/echo/1');
    expect(ok.headers.get('content-type')).toBe('application/json');
    const failed = await h.request('GET', '/v1/nowhere');
    expect(failed.headers.get('content-type')).toBe('application/json');
  });

  it('an empty Content-Type header is no type: the body is read as JSON', async () => {
    const res = await rawRequest(`${h.baseUrl}/v1/echo`, { method: 'POST', headers: { 'content-type': '' }, body: '{"name":"x"}' });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body.toString())).toEqual({ name: 'x' });
  });
});

describe('json.emitUnpopulated prints unset singular message fields as null', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ json: { emitUnpopulated: true } });
  });
  afterAll(() => h.close());

  it.each<[string, string, string | undefined]>([
    ['direct codec: no well-known type present', '{"name":"n"}', undefined],
    ['canonical path: a well-known type present', '{"name":"n","when":"2024-01-02T03:04:05Z"}', '2024-01-02T03:04:05Z'],
  ])('%s', async (_name, body, when) => {
    const json = await readJson(await h.request('POST', '/v1/echo', { body }));
    expect(json.nested).toBeNull();
    expect(json.when).toBe(when ?? null);
    for (const key of ['ttl', 'mask', 'meta', 'value', 'list', 'maybeInt', 'maybeString', 'maybeBool', 'maybeBig', 'payload', 'nothing']) {
      expect(json[key]).toBeNull();
    }
    // Oneof members and proto3 optional fields stay out, as in protojson.
    expect('object' in json || 'text' in json || 'opt' in json).toBe(false);
  });

  it('a nested message present prints its own unset message fields as null', async () => {
    const json = await readJson(await h.request('POST', '/v1/echo', { body: '{"nested":{"value":"v"}}' }));
    expect(json.nested).toEqual({ value: 'v', inner: null, items: [] });
  });
});

describe('json.ignoreUnknownFields is about JSON body fields only', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ json: { ignoreUnknownFields: true, ignoreUnknownQueryParameters: true } });
  });
  afterAll(() => h.close());

  it.each<[string, string, string]>([
    ['an unknown enum name in a query parameter', '/v1/echo/1?kind=KIND_NINE', 'kind'],
    ['an unknown enum name in a repeated query parameter', '/v1/echo/1?kinds=KIND_ONE&kinds=KIND_NINE', 'kinds'],
    ['a dotted name through a scalar, ignoreUnknownQueryParameters or not', '/v1/echo/1?name.x=1', 'name.x'],
  ])('400 for %s', async (_name, path, field) => {
    const res = await h.request('GET', path);
    expect(res.status).toBe(400);
    expect(violatedFields(await readJson(res))).toEqual([field]);
  });

  it('an unknown enum name in the body is still ignored, and an unknown query parameter', async () => {
    const res = await h.request('POST', '/v1/echo?bogus=1', { body: '{"kind":"KIND_NINE","name":"kept"}' });
    expect(res.status).toBe(200);
    expect(await readJson(res)).toEqual({ name: 'kept' });
  });
});
