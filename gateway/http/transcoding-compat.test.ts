/**
 * End-to-end, both transports: `compat: grpc-gateway` and `compat: envoy` change exactly what
 * compat-presets.ts says, and explicit options still win over a preset.
 */
import { resolveConfig } from '../config';
import { startHarness, type Harness } from '../test-support/gateway-harness';
import { readJson, TRANSPORTS, violatedFields } from '../test-support/http-client';

const SHAPES = 'acme.conformance.v1.ShapesService';

describe.each(TRANSPORTS)('compat grpc-gateway over %s', (transport) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ transport, compat: 'grpc-gateway' }, ['acme.echo.v1', SHAPES]);
  });
  afterAll(() => h.close());

  it('EmitUnpopulated: zero values and null messages are printed', async () => {
    const json = await readJson(await h.request('GET', '/v1/echo/0'));
    expect(json).toMatchObject({ id: '0', name: '', tags: [], labels: {}, nested: null, when: null });
  });

  it('DiscardUnknown: unknown body fields and enum names, and unknown query parameters, are ignored', async () => {
    const res = await h.request('PUT', '/v1/echo/3?bogus=1', { body: '{"bogus":1,"kind":"KIND_NINE","name":"kept"}' });
    expect(res.status).toBe(200);
    expect(await readJson(res)).toMatchObject({ id: '3', name: 'kept', kind: 'KIND_UNSPECIFIED' });
  });

  it('path values win silently over the body and the query', async () => {
    const body = await readJson(await h.request('PUT', '/v1/echo/3', { body: '{"id":"9","name":"b"}' }));
    expect(body).toMatchObject({ id: '3', name: 'b' });
    const query = await readJson(await h.request('GET', '/v1/echo/3?id=9'));
    expect(query).toMatchObject({ id: '3' });
  });

  it('any content type is read as JSON', async () => {
    const res = await h.request('POST', '/v1/echo', { body: '{"name":"t"}', headers: { 'content-type': 'text/plain' } });
    expect(res.status).toBe(200);
    expect((await readJson(res)).name).toBe('t');
  });

  it('trailers as Grpc-Trailer-, permanent headers as grpcgateway- metadata', async () => {
    const res = await h.request('GET', '/v1/echo/1', { headers: { 'user-agent': 'ua/1', accept: 'application/json' } });
    expect(res.headers.get('grpc-trailer-x-trailer')).toBe('done');
    expect(res.headers.get('grpc-metadata-echo-grpcgateway-user-agent')).toBe('ua/1');
    expect(res.headers.get('grpc-metadata-echo-grpcgateway-accept')).toBe('application/json');
  });

  it('server streams: {"result"} lines as application/json', async () => {
    const res = await h.request('GET', '/v1/expand?count=2&text=s');
    expect(res.headers.get('content-type')).toBe('application/json');
    const lines = (await res.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { result: { name: string } });
    expect(lines.map((l) => l.result.name)).toEqual(['s', 's']);
  });

  it('PATCH still fills update_mask', async () => {
    const json = await readJson(await h.request('PATCH', '/v1/updates/1', { body: '{"name":"n"}' }));
    expect(json.updateMask).toBe('name');
  });
});

describe.each(TRANSPORTS)('compat envoy over %s', (transport) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ transport, compat: 'envoy' }, ['acme.echo.v1', SHAPES]);
  });
  afterAll(() => h.close());

  it.each<[string, string, string]>([
    ['two messages', 'count=2&text=s', '[{"name":"s"},{"name":"s","small":1}]'],
    ['none', 'count=0', '[]'],
  ])('server streams are one JSON array: %s', async (_name, query, expected) => {
    const res = await h.request('GET', `/v1/expand?${query}`);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.text()).toBe(expected);
  });

  it('an unknown query parameter is 400, as with ignore_unknown_query_parameters: false', async () => {
    const res = await h.request('GET', '/v1/echo/1?bogus=1');
    expect(res.status).toBe(400);
    expect(violatedFields(await readJson(res))).toEqual(['bogus']);
  });

  it('path values win, any content type is JSON, no automatic field mask', async () => {
    const put = await h.request('PUT', '/v1/echo/3', { body: '{"id":"9"}', headers: { 'content-type': 'application/octet-stream' } });
    expect(await readJson(put)).toEqual({ id: '3' });
    const patch = await readJson(await h.request('PATCH', '/v1/updates/1', { body: '{"name":"n"}' }));
    expect(patch.updateMask).toBeUndefined();
  });
});

describe('presets are defaults', () => {
  it('explicit options win over a preset', () => {
    const config = resolveConfig({ compat: 'grpc-gateway', json: { emitUnpopulated: false }, pathRepeats: 'reject-conflicts' });
    expect(config.json).toMatchObject({ emitUnpopulated: false, ignoreUnknownFields: true });
    expect(config.pathRepeats).toBe('reject-conflicts');
    expect(config.trailerHeaderPrefix).toBe('Grpc-Trailer-');
  });

  it('no preset keeps our defaults', () => {
    const config = resolveConfig({});
    expect(config).toMatchObject({
      compat: 'none',
      pathRepeats: 'reject-conflicts',
      anyContentTypeAsJson: false,
      streamFormat: 'ndjson',
      permanentHeaderPrefix: '',
    });
  });

  it('an unknown preset fails the start', () => {
    expect(() => resolveConfig({ compat: 'nginx' as never })).toThrow(/option "compat"/);
  });
});
