/**
 * End-to-end conformance, part 2: the proto3 JSON mapping
 * (https://protobuf.dev/programming-guides/json/) of request bodies and responses, the JSON
 * options of the config, and what a body that is not acceptable JSON answers.
 */
import { startHarness, type Harness } from '../test-support/gateway-harness';
import { errorReason, readJson, TRANSPORTS, violatedFields, type JsonBody } from '../test-support/http-client';

const ANY = 'type.googleapis.com/';

interface RoundTrip {
  name: string;
  sent: JsonBody;
  /** What the echo answers; defaults to `sent`. */
  expected?: JsonBody;
}

// POST /v1/echo (body "*") echoes the message, so each row is one JSON → proto → JSON trip.
const ROUND_TRIPS: RoundTrip[] = [
  { name: 'lowerCamelCase names', sent: { maybeInt: 1, maybeString: 's', customName: 2 } },
  { name: 'proto names accepted on input', sent: { maybe_int: 1, maybe_string: 's', renamed: 2 }, expected: { maybeInt: 1, maybeString: 's', customName: 2 } },
  { name: 'int64 as a number', sent: { id: 12, numbers: [1, -2] }, expected: { id: '12', numbers: ['1', '-2'] } },
  { name: 'int64 as a string, exact beyond 2^53', sent: { id: '9007199254740993', signed: '-9223372036854775808' } },
  { name: 'uint64 and fixed64 as strings', sent: { big: '18446744073709551615', fixed: '18446744073709551615' } },
  { name: 'int64 numbers in exponent form', sent: { id: 1e3 }, expected: { id: '1000' } },
  { name: 'int32 given as a string', sent: { small: '-7' }, expected: { small: -7 } },
  { name: 'enums by name', sent: { kind: 'KIND_TWO', kinds: ['KIND_ONE', 'KIND_TWO'] } },
  { name: 'enums by number', sent: { kind: 1, kinds: [2, 1] }, expected: { kind: 'KIND_ONE', kinds: ['KIND_TWO', 'KIND_ONE'] } },
  { name: 'bytes, standard base64', sent: { data: '+/+/AA==' } },
  { name: 'bytes, url-safe base64 without padding', sent: { data: '-_-_AA' }, expected: { data: '+/+/AA==' } },
  { name: 'NaN and Infinity', sent: { ratio: 'NaN', fraction: 'Infinity' } },
  { name: '-Infinity', sent: { ratio: '-Infinity', fraction: '-Infinity' } },
  { name: 'float and double as strings', sent: { ratio: '1.5', fraction: '0.25' }, expected: { ratio: 1.5, fraction: 0.25 } },
  { name: 'bool', sent: { flag: true } },
  { name: 'oneof: string member', sent: { text: 'a' } },
  { name: 'oneof: message member', sent: { object: { value: 'v' } } },
  { name: 'oneof: a null member does not count', sent: { text: 'a', number: null }, expected: { text: 'a' } },
  { name: 'string map', sent: { labels: { env: 'prod', '': 'empty key' } } },
  { name: 'int-keyed map of messages', sent: { indexed: { '1': { value: 'one' }, '-2': { inner: { count: '3' } } } } },
  { name: 'repeated fields', sent: { tags: ['a', 'b'], numbers: ['1', '2'], nested: { items: ['x'] } } },
  { name: 'null means unset', sent: { name: null, nested: null, tags: null }, expected: {} },
  { name: 'Timestamp', sent: { when: '2024-01-02T03:04:05.123456789Z' } },
  { name: 'Timestamp with an offset is normalised to UTC', sent: { when: '2024-01-02T05:04:05+02:00' }, expected: { when: '2024-01-02T03:04:05Z' } },
  { name: 'Duration', sent: { ttl: '-1.5s' }, expected: { ttl: '-1.500s' } },
  { name: 'FieldMask', sent: { mask: 'fooBar,baz.quxQuux' } },
  { name: 'Struct', sent: { meta: { a: 1, b: [true, null, 'x'], c: { d: {} } } } },
  { name: 'Value: a string', sent: { value: 'hello' } },
  { name: 'Value: an object', sent: { value: { k: [1, 2] } } },
  { name: 'Value: null', sent: { value: null } },
  { name: 'ListValue', sent: { list: [1, 'a', false, null, { o: 1 }] } },
  { name: 'wrappers, including zero values', sent: { maybeInt: 0, maybeBool: false, maybeString: '', maybeBig: '9007199254740993' } },
  { name: 'Any holding a well-known type', sent: { payload: { '@type': `${ANY}google.protobuf.Duration`, value: '1s' } } },
  { name: 'Any holding a message', sent: { payload: { '@type': `${ANY}acme.echo.v1.Nested`, value: 'v', items: ['i'] } } },
  { name: 'Empty', sent: { nothing: {} } },
  { name: 'proto3 optional set to its zero value', sent: { opt: '' } },
  { name: 'zero values are not emitted', sent: { id: '0', name: '', small: 0, flag: false, kind: 'KIND_UNSPECIFIED', tags: [] }, expected: {} },
];

interface BadBody {
  name: string;
  body: string;
  reason: string;
  /** The field named in BadRequest, when one is at fault. */
  field?: string;
}

const BAD_BODIES: BadBody[] = [
  { name: 'malformed JSON', body: '{"name":', reason: 'MALFORMED_JSON' },
  { name: 'a JSON array', body: '[1]', reason: 'MALFORMED_JSON' },
  { name: 'a JSON string', body: '"x"', reason: 'MALFORMED_JSON' },
  { name: 'JSON null', body: 'null', reason: 'MALFORMED_JSON' },
  { name: 'an unknown field', body: '{"bogus":1}', reason: 'INVALID_FIELD', field: 'bogus' },
  { name: 'an unknown nested field', body: '{"nested":{"bogus":1}}', reason: 'INVALID_FIELD', field: 'nested.bogus' },
  { name: 'a string for int32', body: '{"small":"abc"}', reason: 'INVALID_FIELD', field: 'small' },
  { name: 'a fraction for int32', body: '{"small":1.5}', reason: 'INVALID_FIELD', field: 'small' },
  { name: 'a string for bool', body: '{"flag":"yes"}', reason: 'INVALID_FIELD', field: 'flag' },
  { name: 'a scalar for a repeated field', body: '{"tags":"a"}', reason: 'INVALID_FIELD', field: 'tags' },
  { name: 'an unknown enum name', body: '{"kind":"KIND_NINE"}', reason: 'INVALID_FIELD', field: 'kind' },
  { name: 'bad base64', body: '{"data":"!!"}', reason: 'INVALID_FIELD', field: 'data' },
  { name: 'a bad Timestamp', body: '{"when":"yesterday"}', reason: 'INVALID_FIELD', field: 'when' },
  { name: 'a bad Duration', body: '{"ttl":"5 minutes"}', reason: 'INVALID_FIELD', field: 'ttl' },
  { name: 'a bad nested int64', body: '{"nested":{"inner":{"count":"x"}}}', reason: 'INVALID_FIELD', field: 'nested.inner.count' },
  { name: 'a bad map value', body: '{"labels":{"a":1}}', reason: 'INVALID_FIELD', field: 'labels' },
  { name: 'a bad map key', body: '{"indexed":{"x":{}}}', reason: 'INVALID_FIELD', field: 'indexed' },
  { name: 'two oneof members', body: '{"text":"a","number":1}', reason: 'INVALID_FIELD', field: 'number' },
  { name: 'an Any of a type not in the registry', body: `{"payload":{"@type":"${ANY}x.Y"}}`, reason: 'INVALID_FIELD', field: 'payload' },
  { name: 'an Any without @type', body: '{"payload":{"value":"1s"}}', reason: 'INVALID_FIELD', field: 'payload' },
  { name: 'a wrapper of the wrong type', body: '{"maybeInt":"x"}', reason: 'INVALID_FIELD', field: 'maybeInt' },
  { name: 'the same key twice', body: '{"name":"a","name":"b"}', reason: 'INVALID_FIELD', field: 'name' },
  { name: 'int64 text in exponent form', body: '{"id":"1e3"}', reason: 'INVALID_FIELD', field: 'id' },
  { name: 'int64 text with a blank', body: '{"id":" 12"}', reason: 'INVALID_FIELD', field: 'id' },
  { name: 'int64 text in hex', body: '{"id":"0x10"}', reason: 'INVALID_FIELD', field: 'id' },
  { name: 'int64 text past the range', body: '{"id":"9223372036854775808"}', reason: 'INVALID_FIELD', field: 'id' },
  { name: 'nested int64 text with leading zeros', body: '{"nested":{"inner":{"count":"007"}}}', reason: 'INVALID_FIELD', field: 'nested.inner.count' },
  { name: 'the same nested key twice', body: '{"nested":{"value":"a","value":"b"}}', reason: 'INVALID_FIELD', field: 'value' },
];

describe.each(TRANSPORTS)('transcoding over %s: proto3 JSON', (transport) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ transport, bodyLimit: 64 * 1024 });
  });
  afterAll(() => h.close());

  it.each(ROUND_TRIPS)('$name', async ({ sent, expected }) => {
    const res = await h.request('POST', '/v1/echo', { body: JSON.stringify(sent) });
    expect(res.status).toBe(200);
    expect(await readJson(res)).toEqual(expected ?? sent);
  });

  it.each(BAD_BODIES)('400 for $name', async ({ body, reason, field }) => {
    const res = await h.request('POST', '/v1/echo', { body });
    expect(res.status).toBe(400);
    const status = await readJson(res);
    expect(status.code).toBe(3);
    expect(errorReason(status)).toBe(reason);
    if (field !== undefined) expect(violatedFields(status)).toEqual([field]);
  });

  it("a body field route takes the field's JSON, not the message's", async () => {
    const res = await h.request('PATCH', '/v1/echo/1/nested', { body: '{"inner":{"count":"x"}}' });
    expect(res.status).toBe(400);
    expect(violatedFields(await readJson(res))).toEqual(['nested.inner.count']);
  });

  it('an empty body is an empty message', async () => {
    const res = await h.request('POST', '/v1/echo', { body: '' });
    expect(res.status).toBe(200);
    expect(await readJson(res)).toEqual({});
  });

  it.each([
    { name: 'application/json with a charset', type: 'application/json; charset=utf-8' },
    { name: 'a +json type', type: 'application/merge-patch+json' },
  ])('accepts $name', async ({ type }) => {
    const res = await h.request('POST', '/v1/echo', { body: '{"name":"x"}', headers: { 'content-type': type } });
    expect(res.status).toBe(200);
  });

  it.each(['text/plain', 'application/x-www-form-urlencoded', 'application/xml'])('415 for %s on a JSON route', async (type) => {
    const res = await h.request('POST', '/v1/echo', { body: '{"name":"x"}', headers: { 'content-type': type } });
    expect(res.status).toBe(415);
    expect(errorReason(await readJson(res))).toBe('UNSUPPORTED_MEDIA_TYPE');
  });

  it('413 for a body over bodyLimit', async () => {
    const res = await h.request('POST', '/v1/echo', { body: JSON.stringify({ name: 'x'.repeat(70 * 1024) }) });
    expect(res.status).toBe(413);
    const status = await readJson(res);
    expect(status.code).toBe(8);
    expect(errorReason(status)).toBe('BODY_TOO_LARGE');
  });

  it('a body just under bodyLimit passes', async () => {
    const res = await h.request('POST', '/v1/echo', { body: JSON.stringify({ name: 'x'.repeat(60 * 1024) }) });
    expect(res.status).toBe(200);
  });
});

describe.each([
  {
    name: 'emitUnpopulated',
    json: { emitUnpopulated: true },
    path: '/v1/echo/0',
    expected: {
      id: '0',
      name: '',
      big: '0',
      small: 0,
      flag: false,
      ratio: 0,
      fraction: 0,
      data: '',
      kind: 'KIND_UNSPECIFIED',
      tags: [],
      numbers: [],
      kinds: [],
      labels: {},
      indexed: {},
      customName: 0,
      signed: '0',
      fixed: '0',
      // Unset singular message fields are null, as protojson's EmitUnpopulated writes them.
      nested: null,
      when: null,
      ttl: null,
      mask: null,
      meta: null,
      value: null,
      list: null,
      maybeInt: null,
      maybeString: null,
      maybeBool: null,
      maybeBig: null,
      payload: null,
      nothing: null,
    },
  },
  { name: 'useProtoNames', json: { useProtoNames: true }, path: '/v1/echo/1?maybeInt=5&customName=2', expected: { id: '1', maybe_int: 5, renamed: 2 } },
  { name: 'enumsAsNumbers', json: { enumsAsNumbers: true }, path: '/v1/echo/1?kind=KIND_TWO&kinds=KIND_ONE', expected: { id: '1', kind: 2, kinds: [1] } },
])('transcoding with json.$name', ({ json, path, expected }) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ json });
  });
  afterAll(() => h.close());

  it(`changes the output: GET ${path}`, async () => {
    const res = await h.request('GET', path);
    expect(res.status).toBe(200);
    expect(await readJson(res)).toEqual(expected);
  });
});

describe('transcoding with json.ignoreUnknownFields', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ json: { ignoreUnknownFields: true } });
  });
  afterAll(() => h.close());

  it.each([
    { name: 'an unknown top-level field', body: { bogus: 1, name: 'kept' }, expected: { name: 'kept' } },
    { name: 'an unknown nested field', body: { nested: { bogus: 1, value: 'v' } }, expected: { nested: { value: 'v' } } },
    { name: 'an unknown enum name', body: { kind: 'KIND_NINE', name: 'kept' }, expected: { name: 'kept' } },
  ])('accepts $name', async ({ body, expected }) => {
    const res = await h.request('POST', '/v1/echo', { body: JSON.stringify(body) });
    expect(res.status).toBe(200);
    expect(await readJson(res)).toEqual(expected);
  });

  it('still rejects a known field of the wrong type', async () => {
    const res = await h.request('POST', '/v1/echo', { body: '{"small":"abc"}' });
    expect(violatedFields(await readJson(res))).toEqual(['small']);
  });
});
