/**
 * RequestPlan with the direct codec (json-to-binary) against its canonical
 * @bufbuild/protobuf path, case by case: every request must give the same bytes, or the
 * same error (reason, message, field violations), as the canonical path alone gave before
 * the direct codec existed. Each row also says whether the direct codec handles it or
 * hands it over (bails), so a change in coverage is a visible change.
 */
import { fromBinary, toBinary, type DescMessage, type Registry } from '@bufbuild/protobuf';
import { echoRegistry } from '../test-support/echo-backend';
import { GatewayError } from './errors';
import { DEFAULT_JSON_OPTIONS, type JsonOptions } from './json-options';
import { parsePathTemplate } from './path-template';
import { RequestPlan } from './request-plan';

const registry: Registry = echoRegistry();
const ECHO = registry.getMessage('acme.echo.v1.EchoMessage') as DescMessage;

interface Row {
  name: string;
  /** HTTP path template and body binding of the route. */
  route?: [path: string, body: string];
  path?: string[];
  query?: string;
  body?: string;
  /** true: json-to-binary encodes it; false: it hands over to protobuf-es. */
  direct: boolean;
  options?: Partial<JsonOptions>;
}

const POST: [string, string] = ['/v1/echo', '*'];

const ROWS: Row[] = [
  // Bodies the direct codec encodes.
  {
    name: 'bench case 2 body',
    body: '{"id":"9007199254740993","name":"widget-42","kind":"KIND_TWO","tags":["alpha","beta","gamma"],"nested":{"value":"hello","inner":{"value":"deep","count":"7"}}}',
    direct: true,
  },
  { name: 'empty object', body: ' {} ', direct: true },
  { name: 'proto names and JSON names', body: '{"renamed":1,"customName":2}', direct: false },
  { name: 'custom json_name', body: '{"customName":2,"opt":""}', direct: true },
  {
    name: 'int64 spellings',
    body: '{"id":-0,"big":"18446744073709551615","signed":"-9223372036854775808","fixed":1e3,"numbers":["7",-1,"0",-0]}',
    direct: true,
  },
  { name: 'int32 spellings protobuf-es accepts', body: '{"small":"1e3","number":"0x10"}', direct: true },
  { name: 'float and double spellings', body: '{"ratio":"-Infinity","fraction":"1.5e2"}', direct: true },
  { name: '-0 double is written', body: '{"ratio":-0}', direct: true },
  { name: 'enums by name and number', body: '{"kind":7,"kinds":["KIND_ONE",2,-5]}', direct: true },
  { name: 'bytes, URL-safe without padding', body: '{"data":"-_-_AA"}', direct: true },
  {
    name: 'maps with canonical keys',
    body: '{"labels":{"b":"1","10":"x","2":"y","__proto__":"p"},"indexed":{"-2":{},"10":{"value":"t"},"3":{}}}',
    direct: true,
  },
  { name: 'nulls unset', body: '{"name":null,"nested":null,"tags":null,"labels":null,"kind":null,"when":null,"maybeInt":null,"opt":null}', direct: true },
  { name: 'oneof: a null scalar member does not count', body: '{"text":null,"object":{"value":"o"}}', direct: true },
  { name: 'unicode and escapes', body: '{"name":"\\u00e9\\n\\"日本\\ud83d\\ude00"}', direct: true },
  { name: 'ASCII strings with escapes', body: '{"name":"a\\"b\\\\c\\/d\\n\\t\\b\\f\\r","tags":["x\\\\","y"],"labels":{"k\\"":"v\\n"}}', direct: true },
  {
    name: 'ASCII strings with escapes, and a backslash before a u',
    body: '{"name":"a\\"b\\\\c\\/d\\n\\t","tags":["x\\\\u","\\\\u0041"],"labels":{"k\\"":"v"}}',
    direct: true,
  },
  { name: 'a lone surrogate by escape', body: '{"name":"\\ud800"}', direct: false },
  { name: 'a lone surrogate in a list', body: '{"tags":["a","\\udc00"]}', direct: false },
  { name: 'colons inside strings', body: '{"name":"a:b","nested":{"value":":"},"labels":{"k:":"v:"}}', direct: true },
  { name: 'duplicate key, colons inside strings', body: '{"name":"a:b","name":"c"}', direct: false },
  { name: 'duplicate key, nested, ASCII', body: '{"tags":["a"],"nested":{"inner":{"count":"1","count":"2"}}}', direct: false },
  { name: 'unknown key ignored when configured', body: '{"name":"a","extra":{"x":[{"y":1}]}}', direct: true, options: { ignoreUnknownFields: true } },
  // Bodies left to protobuf-es: the errors must be the canonical ones.
  { name: 'malformed JSON', body: '{"name":', direct: false },
  { name: 'not an object', body: '[1,2]', direct: false },
  { name: 'a string', body: '"text"', direct: false },
  { name: 'null body', body: 'null', direct: false },
  { name: 'BOM before the object', body: '\ufeff{}', direct: false },
  { name: 'duplicate key', body: '{"name":"a","name":"b"}', direct: false },
  { name: 'duplicate key, nested', body: '{"nested":{"value":"a","value":"b"}}', direct: false },
  { name: 'duplicate key, in a map', body: '{"labels":{"k":"a","k":"b"}}', direct: false },
  { name: 'duplicate key, escaped spelling', body: '{"name":"a","n\\u0061me":"b"}', direct: false },
  { name: 'duplicate key inside an ignored unknown value', body: '{"extra":{"a":1,"a":2}}', direct: false, options: { ignoreUnknownFields: true } },
  { name: 'unknown key', body: '{"nope":1}', direct: false },
  { name: 'extension-looking key', body: '{"[acme.gateway.v1.method]":{}}', direct: false },
  { name: 'wrong type: bool for string', body: '{"name":true}', direct: false },
  { name: 'wrong type: string for bool', body: '{"flag":"true"}', direct: false },
  { name: 'wrong type: object for list', body: '{"tags":{"a":1}}', direct: false },
  { name: 'wrong type: number for message', body: '{"nested":5}', direct: false },
  { name: 'int32 out of range', body: '{"small":2147483648}', direct: false },
  { name: 'int32 not integral', body: '{"small":1.5}', direct: false },
  { name: 'int32 with blanks', body: '{"small":" 1"}', direct: false },
  { name: 'int64 in exponent text', body: '{"id":"1e3"}', direct: false },
  { name: 'int64 with blanks', body: '{"id":" 12"}', direct: false },
  { name: 'int64 hex text', body: '{"id":"0x10"}', direct: false },
  { name: 'int64 not integral', body: '{"id":1.5}', direct: false },
  // 64-bit integer literals beyond 2^53 are read from the text (exact-json), then encoded directly.
  { name: 'int64 beyond 2^53 as a number', body: '{"id":18014398509481985}', direct: true },
  {
    name: '64-bit numbers at their limits',
    body: '{"big":18446744073709551615,"signed":-9223372036854775808,"fixed":18446744073709551615,"numbers":[9007199254740993,-9007199254740993]}',
    direct: true,
  },
  { name: 'int64 map value beyond 2^53', route: ['/v1/x', 'nested'], body: '{"inner":{"count":9007199254740993}}', direct: true },
  { name: 'uint64 number out of range', body: '{"big":18446744073709551616}', direct: false },
  { name: 'int64 number out of range', body: '{"id":-9223372036854775809}', direct: false },
  { name: 'big literal for a double stays a double', body: '{"ratio":12345678901234567890,"id":"1"}', direct: true },
  { name: 'big literal for an int32 is out of range', body: '{"small":12345678901234567890}', direct: false },
  { name: 'big literal for a string field is a wrong type', body: '{"name":12345678901234567890}', direct: false },
  { name: 'big literal in a Struct stays a number', body: '{"meta":{"n":12345678901234567890}}', direct: false },
  { name: 'big literal in an Int64Value', body: '{"maybeBig":9223372036854775807}', direct: false },
  { name: 'digits inside a string are not a number', body: '{"name":"n 12345678901234567890","tags":["[1234567890123456789"]}', direct: true },
  { name: 'int64 out of range', body: '{"id":"9223372036854775808"}', direct: false },
  { name: 'int64 text with leading zeros', body: '{"numbers":["1","007"]}', direct: false },
  { name: 'int64 text -0', body: '{"id":"-0"}', direct: false },
  { name: 'int64 text +1', body: '{"signed":"+1"}', direct: false },
  { name: 'int64 text deep inside', body: '{"nested":{"inner":{"count":"0x10"}}}', direct: false },
  { name: 'Int64Value text', body: '{"maybeBig":" 12"}', direct: false },
  { name: 'uint64 negative', body: '{"big":"-1"}', direct: false },
  { name: 'uint64 out of range', body: '{"big":"18446744073709551616"}', direct: false },
  { name: 'float out of range', body: '{"fraction":1e39}', direct: false },
  { name: 'double overflowing to Infinity', body: '{"ratio":1e400}', direct: false },
  { name: 'double NaN as a number-like string', body: '{"ratio":"nan"}', direct: false },
  { name: 'unknown enum name', body: '{"kind":"KIND_NOPE"}', direct: false },
  { name: 'enum number as text', body: '{"kind":"1"}', direct: false },
  { name: 'enum number out of range', body: '{"kinds":[2147483648]}', direct: false },
  { name: 'invalid base64', body: '{"data":"!!"}', direct: false },
  { name: 'base64 with spaces', body: '{"data":"AA AA"}', direct: false },
  { name: 'lone surrogate', body: '{"name":"\\ud800"}', direct: false },
  { name: 'lone surrogate in a map key', body: '{"labels":{"\\udc00":"v"}}', direct: false },
  { name: 'Timestamp present', body: '{"when":"2024-01-02T03:04:05Z"}', direct: false },
  { name: 'wrapper present', body: '{"maybeInt":0}', direct: false },
  { name: 'Value null', body: '{"value":null}', direct: false },
  { name: 'oneof set twice', body: '{"text":"a","number":1}', direct: false },
  { name: 'oneof: null message member and a text', body: '{"object":null,"text":"a"}', direct: false },
  { name: 'list item null', body: '{"tags":["a",null]}', direct: false },
  { name: 'map value null', body: '{"labels":{"a":null}}', direct: false },
  { name: 'int map key not canonical', body: '{"indexed":{"01":{}}}', direct: false },
  { name: 'int map key -0', body: '{"indexed":{"-0":{}}}', direct: false },
  { name: 'int map key not a number', body: '{"indexed":{"x":{}}}', direct: false },
  // Path and query overlays.
  { name: 'GET path + query (bench case 1)', route: ['/v1/echo/{id}', ''], path: ['12345'], query: 'name=bench-item&small=25&kind=KIND_ONE', direct: true },
  {
    name: 'query lists, maps, nested fields',
    route: ['/v1/echo/{id}', ''],
    path: ['1'],
    query: 'tags=a&tags=b&labels[k]=v&nested.inner.count=3&kinds=2&kinds=KIND_ONE',
    direct: true,
  },
  { name: 'bad path value', route: ['/v1/echo/{id}', ''], path: ['abc'], direct: false },
  { name: 'bad query value', route: ['/v1/echo/{id}', ''], path: ['1'], query: 'small=x', direct: false },
  { name: 'unknown query parameter', route: ['/v1/echo/{id}', ''], path: ['1'], query: 'nope=1', direct: false },
  { name: 'query scalar given twice', route: ['/v1/echo/{id}', ''], path: ['1'], query: 'name=a&name=b', direct: false },
  { name: 'query naming a WKT', route: ['/v1/echo/{id}', ''], path: ['1'], query: 'when=2024-01-02T03:04:05Z', direct: false },
  // Body and path together: merged as JSON, the path value winning.
  {
    name: 'a body value differing from the path value (BOUND_FIELD_CONFLICT)',
    route: ['/v1/echo/{id}', '*'],
    path: ['5'],
    body: '{"id":"9","name":"x"}',
    direct: false,
  },
  { name: 'a body value repeating the path value', route: ['/v1/echo/{id}', '*'], path: ['5'], body: '{"id":5,"name":"x"}', direct: false },
  { name: 'body value still checked under a path value', route: ['/v1/echo/{id}', '*'], path: ['5'], body: '{"id":"abc"}', direct: false },
  { name: 'malformed body and a bad path value: the body speaks first', route: ['/v1/echo/{id}', '*'], path: ['abc'], body: '{"id":', direct: false },
  {
    name: 'path into the body message: merged',
    route: ['/v1/x/{nested.inner.value}', '*'],
    path: ['p'],
    body: '{"nested":{"value":"v","inner":{"count":"2"}}}',
    direct: true,
  },
  { name: 'path over a null body message', route: ['/v1/x/{nested.value}', '*'], path: ['p'], body: '{"nested":null}', direct: false },
  { name: 'body bound to a message field', route: ['/v1/echo/{id}/nested', 'nested'], path: ['3'], body: '{"value":"v","items":["i"]}', direct: true },
  {
    name: 'body bound to a message field, path inside it, conflicting',
    route: ['/v1/x/{nested.value}', 'nested'],
    path: ['p'],
    body: '{"value":"v","items":["i"]}',
    direct: false,
  },
  { name: 'body bound to a message field, path inside it', route: ['/v1/x/{nested.value}', 'nested'], path: ['p'], body: '{"items":["i"]}', direct: true },
  {
    name: 'body bound to a message field, duplicate key',
    route: ['/v1/echo/{id}/nested', 'nested'],
    path: ['3'],
    body: '{"value":"a","value":"b"}',
    direct: false,
  },
  { name: 'body bound to a message field, not an object', route: ['/v1/echo/{id}/nested', 'nested'], path: ['3'], body: 'null', direct: false },
  { name: 'body bound to a list field', route: ['/v1/x', 'tags'], body: '["a","b"]', direct: true },
  { name: 'body bound to an int64 list, beyond 2^53', route: ['/v1/x', 'numbers'], body: '[9007199254740993]', direct: true },
  { name: 'body bound to a Struct field', route: ['/v1/x', 'meta'], body: '{"a":1,"b":[true,null,"x"],"c":{"d":{}}}', direct: false },
  { name: 'body bound to a map field, duplicate key kept as JSON.parse keeps it', route: ['/v1/x', 'labels'], body: '{"k":"a","k":"b"}', direct: true },
  { name: 'body bound to a scalar field, wrong type', route: ['/v1/x', 'name'], body: '5', direct: false },
  { name: 'body and query on other fields', route: ['/v1/x', 'nested'], query: 'name=n&tags=t', body: '{"value":"v"}', direct: true },
];

function planFor(row: Row): RequestPlan {
  const [path, body] = row.route ?? POST;
  const options = { ...DEFAULT_JSON_OPTIONS, ...row.options };
  return new RequestPlan(ECHO, { httpMethod: 'POST', path, body, responseBody: '' }, parsePathTemplate(path), registry, options);
}

function outcome(fn: () => Uint8Array): unknown {
  try {
    return { bytes: Buffer.from(fn()).toString('hex') };
  } catch (err) {
    if (!(err instanceof GatewayError)) return { thrown: String(err) };
    return { reason: err.reason, message: err.message, violations: err.violations };
  }
}

describe('RequestPlan.build: the direct codec changes no answer', () => {
  it.each(ROWS)('$name', (row) => {
    const plan = planFor(row);
    const body = row.body === undefined ? undefined : Buffer.from(row.body);
    const args = [row.path ?? [], row.query ?? '', body, 'application/json'] as const;
    const canonical = outcome(() => plan['buildCanonical'](...args));
    expect(outcome(() => plan.build(...args))).toEqual(canonical);
    expect(plan['buildDirect'](args[0], args[1], args[2]) !== undefined).toBe(row.direct);
  });
});

describe('RequestPlan.buildStream: the direct codec changes no answer', () => {
  // A stream's lines are trimmed (JavaScript's trim also drops a BOM) before decoding.
  it.each(ROWS.filter((r) => r.route === undefined))('$name', (row) => {
    const plan = planFor(row);
    const canonical = outcome(() => toBinary(ECHO, plan['fromJsonText'](row.body!.trim(), undefined)));
    expect(outcome(() => plan.buildStream([], '', Buffer.from(row.body!))[0])).toEqual(canonical);
  });
});

describe('RequestPlan: 64-bit JSON numbers arrive exact', () => {
  it.each<[string, string, Record<string, bigint>]>([
    ['int64 just past 2^53', '{"id":9007199254740993}', { id: 9007199254740993n }],
    ['uint64 max', '{"big":18446744073709551615}', { big: 18446744073709551615n }],
    ['int64 min', '{"signed":-9223372036854775808}', { signed: -9223372036854775808n }],
    ['fixed64 max', '{"fixed":18446744073709551615}', { fixed: 18446744073709551615n }],
  ])('%s', (_name, body, expected) => {
    const plan = planFor({ name: '', body, direct: true });
    const message = fromBinary(ECHO, plan.build([], '', Buffer.from(body), 'application/json')) as unknown as Record<string, bigint>;
    for (const [k, v] of Object.entries(expected)) expect(message[k]).toBe(v);
  });

  it('out of range is 400 naming the field', () => {
    const plan = planFor({ name: '', body: '', direct: false });
    const failed = outcome(() => plan.build([], '', Buffer.from('{"big":18446744073709551616}'), 'application/json')) as {
      reason: string;
      violations: Array<{ field: string }>;
    };
    expect(failed.reason).toBe('INVALID_FIELD');
    expect(failed.violations.map((v) => v.field)).toEqual(['big']);
  });
});

describe('RequestPlan: 64-bit integer text in a body is strict decimal, as in the path and query', () => {
  // The proto3 JSON mapping writes int64 as a decimal string; protobuf-es alone would read 0x10, " 12", 007, +1 and -0.
  it.each<[string, string, string[], string, string | undefined]>([
    ['exponent', '{"id":"1e3"}', ['id'], 'expected a decimal int64', undefined],
    ['a blank', '{"id":" 12"}', ['id'], 'expected a decimal int64', undefined],
    ['hex', '{"id":"0x10"}', ['id'], 'expected a decimal int64', undefined],
    ['past int64', '{"id":"9223372036854775808"}', ['id'], 'out of the int64 range', undefined],
    ['a literal past int64', '{"id":9223372036854775808}', ['id'], 'out of the int64 range', undefined],
    ['leading zeros', '{"signed":"007"}', ['signed'], 'expected a decimal int64', undefined],
    ['-0', '{"signed":"-0"}', ['signed'], 'expected a decimal int64', undefined],
    ['+1', '{"fixed":"+1"}', ['fixed'], 'expected a decimal uint64', undefined],
    ['uint64 negative', '{"big":"-1"}', ['big'], 'expected a decimal uint64', undefined],
    ['in a list', '{"numbers":["1","0b11"]}', ['numbers'], 'expected a decimal int64', undefined],
    ['nested', '{"nested":{"inner":{"count":"1.0"}}}', ['nested.inner.count'], 'expected a decimal int64', undefined],
    ['an Int64Value', '{"maybeBig":"0x10"}', ['maybeBig'], 'expected a decimal int64', undefined],
    ['a body bound to an int64 list', '["12"," 1"]', ['numbers'], 'expected a decimal int64', 'numbers'],
  ])('%s is 400 naming the field', (_name, body, fields, message, bodyField) => {
    const plan = planFor({ name: '', route: bodyField ? ['/v1/x', bodyField] : undefined, direct: false });
    const failed = outcome(() => plan.build([], '', Buffer.from(body), 'application/json')) as {
      reason: string;
      message: string;
      violations: Array<{ field: string }>;
    };
    expect(failed.reason).toBe('INVALID_FIELD');
    expect(failed.message).toContain(message);
    expect(failed.violations.map((v) => v.field)).toEqual(fields);
  });

  it.each([['{"id":"-9223372036854775808","big":"18446744073709551615","numbers":["0","-1"]}'], ['{"id":9223372036854775807,"maybeBig":"12"}']])(
    '%s is accepted',
    (body) => {
      const plan = planFor({ name: '', direct: true });
      expect(outcome(() => plan['buildCanonical']([], '', Buffer.from(body), 'application/json'))).toHaveProperty('bytes');
    },
  );
});

describe('RequestPlan: every well-known type as a body field arrives as through body "*"', () => {
  it.each<[string, string]>([
    ['when', '"2024-01-02T03:04:05.123Z"'],
    ['ttl', '"3.5s"'],
    ['mask', '"a.b,cD"'],
    ['meta', '{"a":1,"b":[true,null,"x"],"c":{"d":{}}}'],
    ['value', '{"k":[1,"two"]}'],
    ['list', '[1,"a",null,{"o":false}]'],
    ['maybe_int', '7'],
    ['maybe_string', '"s"'],
    ['maybe_bool', 'false'],
    ['maybe_big', '9007199254740993'],
    ['payload', `{"@type":"type.googleapis.com/acme.echo.v1.Nested","value":"v"}`],
    ['nothing', '{}'],
  ])('%s', (field, json) => {
    const jsonName = ECHO.fields.find((f) => f.name === field)!.jsonName;
    const viaField = planFor({ name: '', route: ['/v1/x', field], direct: false });
    const viaAll = planFor({ name: '', direct: false });
    const expected = viaAll.build([], '', Buffer.from(`{"${jsonName}":${json}}`), 'application/json');
    expect(viaField.build([], '', Buffer.from(json), 'application/json')).toEqual(expected);
    expect(viaField['buildCanonical']([], '', Buffer.from(json), 'application/json')).toEqual(expected);
  });
});
