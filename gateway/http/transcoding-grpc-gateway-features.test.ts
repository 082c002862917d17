/**
 * End-to-end, both transports: what grpc-gateway users rely on (issue 9) — PATCH with an
 * automatic field mask, HTTP rules and method options from a google.api.Service file merged
 * with the annotations, and `WWW-Authenticate: Bearer` on every 401.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { resolveConfig } from '../config';
import { startHarness, type Harness } from '../test-support/gateway-harness';
import { errorReason, readJson, TRANSPORTS, type JsonBody } from '../test-support/http-client';

const SHAPES = 'acme.conformance.v1.ShapesService';

const SERVICE_YAML = `
type: google.api.Service
config_version: 3
http:
  rules:
    - selector: ${SHAPES}.Unannotated
      get: /v1/unannotated/{id}
      additional_bindings:
        - post: /v1/unannotated
          body: "*"
    - selector: ${SHAPES}.Root
      get: /v1/root-too/{name}
backend:
  rules:
    - selector: ${SHAPES}.*
      deadline: 2.5
acme_gateway:
  methods:
    - selector: ${SHAPES}.Unannotated
      success_status: 202
      timeout_ms: 1500
`;

let dir: string;
let serviceConfig: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'service-config-'));
  serviceConfig = path.join(dir, 'service.yaml');
  writeFileSync(serviceConfig, SERVICE_YAML);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.each(TRANSPORTS)('grpc-gateway features over %s', (transport) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ transport, serviceConfig }, ['acme.echo.v1', SHAPES]);
  });
  afterAll(() => h.close());

  it.each<[string, string, string, JsonBody]>([
    ['top-level keys', '', '{"name":"n","flag":true}', { echo: { id: '1', name: 'n', flag: true }, updateMask: 'name,flag' }],
    [
      'nested keys, a list, a WKT and an empty object',
      '',
      '{"nested":{"value":"v","inner":{"count":"2"}},"tags":["t"],"when":"2024-01-02T03:04:05Z","object":{}}',
      {
        echo: { id: '1', nested: { value: 'v', inner: { count: '2' } }, tags: ['t'], when: '2024-01-02T03:04:05Z', object: {} },
        updateMask: 'nested.value,nested.inner.count,tags,when,object',
      },
    ],
    ['snake_case names', '', '{"maybe_string":"s","customName":3}', { echo: { id: '1', maybeString: 's', customName: 3 }, updateMask: 'maybeString,renamed' }],
    ['a mask the client sent is kept', '?updateMask=name', '{"name":"n","flag":true}', { echo: { id: '1', name: 'n', flag: true }, updateMask: 'name' }],
  ])('PATCH fills update_mask from the body: %s', async (_name, query, body, expected) => {
    const res = await h.request('PATCH', `/v1/updates/1${query}`, { body });
    expect(res.status).toBe(200);
    expect(await readJson(res)).toEqual(expected);
  });

  it.each<[string, string, string, number, JsonBody]>([
    ['a method with no annotation', 'GET', '/v1/unannotated/7', 202, { id: '7' }],
    ['its additional binding', 'POST', '/v1/unannotated', 202, { name: 'b' }],
    ['a rule merged with an annotated method', 'GET', '/v1/root-too/x', 200, { name: 'x' }],
    ['the annotation of that method still', 'GET', '/?name=y', 200, { name: 'y' }],
  ])('service config http rules: %s', async (_name, method, route, status, expected) => {
    const res = await h.request(method, route, method === 'POST' ? { body: '{"name":"b"}' } : {});
    expect(res.status).toBe(status);
    expect(await readJson(res)).toEqual(expected);
  });

  it('an upstream UNAUTHENTICATED is 401 with WWW-Authenticate: Bearer', async () => {
    const res = await h.request('GET', '/v1/fail/16?message=who');
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
  });
});

describe('PATCH field mask turned off', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ patchFieldMask: false }, [SHAPES]);
  });
  afterAll(() => h.close());

  it('leaves update_mask unset', async () => {
    const res = await h.request('PATCH', '/v1/updates/1', { body: '{"name":"n"}' });
    expect(await readJson(res)).toEqual({ echo: { id: '1', name: 'n' } });
  });
});

describe('service config timeouts', () => {
  it('backend deadlines and timeout_ms become resilience overrides; the config file wins', () => {
    const config = resolveConfig({ serviceConfig, resilience: { overrides: { [`${SHAPES}/Root`]: { timeoutMs: 99 } } } });
    expect(config.resilience.overrides[SHAPES]).toEqual({ timeoutMs: 2500 });
    expect(config.resilience.overrides[`${SHAPES}/Unannotated`]).toEqual({ timeoutMs: 1500 });
    expect(config.resilience.overrides[`${SHAPES}/Root`]).toEqual({ timeoutMs: 99 });
    expect(config.serviceRules.http.map((r) => r.selector)).toEqual([`${SHAPES}.Unannotated`, `${SHAPES}.Root`]);
  });

  it.each<[string, string, RegExp]>([
    ['a rule without a pattern', 'http: { rules: [ { selector: a.B.C, body: "*" } ] }', /exactly one of/],
    ['a bad selector', 'http: { rules: [ { selector: "a b", get: /x } ] }', /selector/],
    ['a success status that is not 2xx', 'acme_gateway: { methods: [ { selector: a.B.C, success_status: 404 } ] }', /success_status/],
    ['another type', 'type: google.api.Other', /google\.api\.Service/],
  ])('rejects %s at start, naming the option', (_name, yaml, problem) => {
    const file = path.join(dir, 'bad.yaml');
    writeFileSync(file, yaml);
    expect(() => resolveConfig({ serviceConfig: file })).toThrow(/option "serviceConfig"/);
    expect(() => resolveConfig({ serviceConfig: file })).toThrow(problem);
  });
});

describe('WWW-Authenticate on a 401 the gateway raises', () => {
  let h: Harness;
  beforeAll(async () => {
    // Nothing listens on the JWKS URL: a request without a token is refused before any fetch.
    h = await startHarness({ auth: { mode: 'jwt', jwks: 'http://127.0.0.1:9/jwks.json' } });
  });
  afterAll(() => h.close());

  it.each<[string, Record<string, string>]>([
    ['no token', {}],
    ['not a bearer token', { authorization: 'Basic dXNlcjpwdw==' }],
  ])('%s', async (_name, headers) => {
    const res = await h.request('GET', '/v1/echo/1', { headers });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
    expect(errorReason(await readJson(res))).toBe('UNAUTHENTICATED');
  });
});
