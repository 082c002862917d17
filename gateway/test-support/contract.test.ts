/**
 * The contract checker itself: it must catch what does not fit the document, naming the
 * operation and the JSON path, and pass what does (the end-to-end suites run every exchange
 * through it). Exchanges here are hand-made against the echo service's real document.
 */
import { resolveConfig } from '../config';
import { openApiForConfig } from '../openapi';
import { OpenApiContract } from './contract';
import { startHarness } from './gateway-harness';

const contract = new OpenApiContract(
  JSON.parse(JSON.stringify(openApiForConfig(resolveConfig({ upstreams: { 'acme.echo.v1': 'unused:1' }, auth: { mode: 'off' } })))),
);
const json = 'application/json';

describe('the contract catches mismatches', () => {
  it.each([
    [
      'an int64 sent as a number',
      { method: 'GET', url: '/v1/echo/7' },
      200,
      json,
      '{"id":7}',
      'EchoService_Echo (GET /v1/echo/{id}): 200 body at $.id: must be string',
    ],
    ['a field the message lacks', { method: 'GET', url: '/v1/echo/7' }, 200, json, '{"bogus":1}', 'at $: must NOT have additional properties ("bogus")'],
    ['a deep mismatch', { method: 'GET', url: '/v1/echo/7' }, 200, json, '{"nested":{"inner":{"count":1}}}', 'at $.nested.inner.count: must be string'],
    ['two members of a oneof', { method: 'GET', url: '/v1/echo/7' }, 200, json, '{"text":"a","number":1}', 'at $: must NOT be valid'],
    ['an enum number where names are written', { method: 'GET', url: '/v1/echo/7' }, 200, json, '{"kind":1}', 'at $.kind: must be string'],
    [
      'an undocumented success status',
      { method: 'POST', url: '/v1/created' },
      200,
      json,
      '{}',
      'EchoService_Create (POST /v1/created): status 200 is not documented',
    ],
    ['a body on a 204', { method: 'DELETE', url: '/v1/removed/1' }, 204, json, '{}', 'documented without a body'],
    ['a wrong content type', { method: 'GET', url: '/v1/echo/7' }, 200, 'text/plain', 'x', 'content type "text/plain" is not one of application/json'],
    [
      'an error body that is not a Status',
      { method: 'GET', url: '/v1/echo/7' },
      503,
      json,
      '{"error":"down"}',
      "503 body at $: must have required property 'code'",
    ],
    [
      'an NDJSON line that fits neither result nor error',
      { method: 'GET', url: '/v1/expand' },
      200,
      'application/x-ndjson',
      '{"result":{"id":1}}\n',
      'NDJSON line 1 at $.result.id: must be string',
    ],
    [
      'an SSE event that does not fit',
      { method: 'GET', url: '/v1/expand' },
      200,
      'text/event-stream',
      'data: {"small":"x"}\n\n',
      'event 1 at $.small: must be integer',
    ],
    [
      'a path no operation has, answered 200',
      { method: 'GET', url: '/v1/nowhere' },
      200,
      json,
      '{}',
      'GET /v1/nowhere: answered 200 but the document has no operation for it',
    ],
    [
      'an undocumented query parameter on a 2xx',
      { method: 'GET', url: '/v1/echo/7?bogus=1' },
      200,
      json,
      '{"id":"7"}',
      'query parameter "bogus" is not documented',
    ],
    [
      'a query value of the wrong type on a 2xx',
      { method: 'GET', url: '/v1/echo/7?small=x' },
      200,
      json,
      '{"id":"7"}',
      'query parameter small at $: must be integer',
    ],
    [
      'a request body that does not fit, answered 2xx',
      { method: 'POST', url: '/v1/echo', body: '{"nested":"x"}' },
      200,
      json,
      '{}',
      'request body at $.nested: must be object',
    ],
  ])('%s', (_name, request, status, contentType, body, expected) => {
    const problems = contract.check(request, { status, contentType, body });
    expect(problems.join('\n')).toContain(expected);
  });

  it.each([
    [
      'the canonical answer',
      { method: 'GET', url: '/v1/echo/9007199254740993?kind=KIND_ONE&tags=a&tags=b' },
      200,
      json,
      '{"id":"9007199254740993","kind":"KIND_ONE","tags":["a","b"]}',
    ],
    ['input forms proto3 JSON accepts', { method: 'POST', url: '/v1/echo', body: '{"id":5,"kind":1,"maybe_int":"3","nested":null}' }, 200, json, '{"id":"5"}'],
    ['a 404 Status for a path no operation has', { method: 'GET', url: '/v1/nowhere' }, 404, json, '{"code":5,"message":"no route","details":[]}'],
    ['an upstream status under default', { method: 'GET', url: '/v1/fail/9' }, 400, json, '{"code":9,"message":"no","details":[]}'],
    [
      'a stream ending with an error line',
      { method: 'GET', url: '/v1/expand?count=1' },
      200,
      'application/x-ndjson',
      '{"result":{"name":"a"}}\n{"error":{"code":10,"message":"x","details":[]}}\n',
    ],
    ['a ** path with zero segments', { method: 'GET', url: '/v1/files' }, 200, json, '{}'],
  ])('passes %s', (_name, request, status, contentType, body) => {
    expect(contract.check(request, { status, contentType, body })).toEqual([]);
  });
});

describe('the harness checks live exchanges', () => {
  it('validates every response of a running gateway and throws on none that fit', async () => {
    const h = await startHarness();
    try {
      expect(h.contract).toBeDefined();
      const before = h.contract!.checked;
      await h.request('GET', '/v1/echo/1?name=x');
      await h.request('POST', '/v1/echo', { body: '{"kind":"KIND_TWO","when":"2024-01-02T03:04:05Z"}' });
      await h.request('GET', '/v1/fail/5');
      expect(h.contract!.checked - before).toBe(3);
    } finally {
      await h.close();
    }
  });
});
