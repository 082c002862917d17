/**
 * End-to-end: the HttpRule shapes grpc-gateway and Envoy serve and the gateway once refused
 * at start (proto/acme/conformance/v1/shapes.proto), served over real sockets in front of the
 * echo backend; and what `strict` does with a binding no one can serve.
 */
import { buildGateway } from '../app';
import { resolveConfig } from '../config';
import { RouteCompileError } from '../transcode';
import { startHarness, type Harness } from '../test-support/gateway-harness';
import { readJson, TRANSPORTS, type JsonBody } from '../test-support/http-client';

const SHAPES = 'acme.conformance.v1.ShapesService';
const UNSERVABLE = 'acme.conformance.v1.UnservableService';

interface Row {
  name: string;
  method: string;
  path: string;
  body?: string;
  status: number;
  expected: JsonBody;
}

const ROWS: Row[] = [
  { name: 'literal after **', method: 'GET', path: '/v1/archive/2024/q1/manifest', status: 200, expected: { name: '2024/q1' } },
  { name: 'literal after **, ** empty', method: 'GET', path: '/v1/archive/manifest', status: 200, expected: {} },
  { name: '** then a variable and a verb', method: 'GET', path: '/v1/archive/a/b/files/c.txt:read', status: 200, expected: { name: 'a/b', text: 'c.txt' } },
  {
    name: 'repeated fields in the path, split on commas',
    method: 'GET',
    path: '/v1/tagged/a,b,c%2Cd/numbers/1,-2,9007199254740993',
    status: 200,
    expected: { tags: ['a', 'b', 'c', 'd'], numbers: ['1', '-2', '9007199254740993'] },
  },
  { name: 'the root template', method: 'GET', path: '/?name=root', status: 200, expected: { name: 'root' } },
  { name: 'a duplicate: the last registered wins', method: 'GET', path: '/v1/dup/x', status: 200, expected: { name: 'x' } },
  {
    name: 'client stream with a field body: each line is the field',
    method: 'POST',
    path: '/v1/collect-nested/7?name=q',
    body: '{"value":"a"}\n\n{"value":"b","items":["i"]}\n',
    status: 200,
    expected: {
      messages: [
        { id: '7', name: 'q', nested: { value: 'a' } },
        { id: '7', name: 'q', nested: { value: 'b', items: ['i'] } },
      ],
    },
  },
  {
    name: 'client stream without a body: one message from path and query',
    method: 'GET',
    path: '/v1/collect-bodiless/3?tags=x',
    status: 200,
    expected: { messages: [{ id: '3', tags: ['x'] }] },
  },
];

describe.each(TRANSPORTS)('proto shapes over %s', (transport) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ transport }, [SHAPES]);
  });
  afterAll(() => h.close());

  it('starts, warning only about the duplicate', () => {
    expect(h.warnings).toHaveLength(1);
    expect(h.warnings[0]).toMatch(
      /^acme\.conformance\.v1\.ShapesService\.DuplicateSecond \(GET \/v1\/dup\/\{name\}\): replaces acme\.conformance\.v1\.ShapesService\.DuplicateFirst/,
    );
  });

  it.each(ROWS)('$name: $method $path', async ({ method, path, body, status, expected }) => {
    const res = await h.request(method, path, body === undefined ? {} : { body, headers: { 'content-type': 'application/x-ndjson' } });
    expect(res.status).toBe(status);
    expect(await readJson(res)).toEqual(expected);
  });

  it('a bidi method with body "nested": each NDJSON line is that field, each echoed back as a result line', async () => {
    const res = await h.request('POST', '/v1/chat/1', { body: '{"value":"a"}\n{"value":"b"}\n', headers: { 'content-type': 'application/x-ndjson' } });
    expect(res.status).toBe(200);
    const lines = (await res.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toEqual([{ result: { id: '1', nested: { value: 'a' } } }, { result: { id: '1', nested: { value: 'b' } } }]);
  });
});

describe('an unservable binding', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({}, [UNSERVABLE]);
  });
  afterAll(() => h.close());

  it('is a warning naming the method; the rest is served', async () => {
    expect(h.warnings).toEqual([
      expect.stringMatching(/^acme\.conformance\.v1\.UnservableService\.Missing \(GET \/v1\/unservable\/\{no_such_field\}\): not served: .*no_such_field/),
    ]);
    const res = await h.request('GET', '/v1/fine/5');
    expect(await readJson(res)).toEqual({ id: '5' });
    expect((await h.request('GET', '/v1/unservable/5')).status).toBe(404);
  });

  it('fails the start under strict, naming the method', async () => {
    const config = resolveConfig({ port: 0, auth: { mode: 'off' }, strict: true, upstreams: { [UNSERVABLE]: '127.0.0.1:1' } });
    const start = buildGateway(config, false);
    await expect(start).rejects.toThrow(RouteCompileError);
    await expect(start).rejects.toThrow(/UnservableService\.Missing/);
  });
});
