/**
 * /openapi.json, /openapi.yaml and /docs served by a real gateway beside its transcoded
 * routes: the served document is the one built from the route table, the UI's assets come
 * from node_modules, `docs: false` leaves the paths to the transcoder (404 Status), and a
 * proto route on one of the docs' paths stops the start unless the docs are off.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { buildGateway } from '../app';
import { resolveConfig } from '../config';
import { openApiForConfig } from '../openapi';
import { startHarness, type Harness } from '../test-support/gateway-harness';
import { errorReason, readJson } from '../test-support/http-client';

describe('docs served beside the routes', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  it('serves the document of the served routes at /openapi.json', async () => {
    const res = await h.request('GET', '/openapi.json');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const served = await readJson(res);
    const built = openApiForConfig(resolveConfig({ upstreams: { 'acme.echo.v1': 'unused:1' }, auth: { mode: 'off' } }));
    expect(served).toEqual(JSON.parse(JSON.stringify(built)));
    expect(Object.keys(served.paths)).toContain('/v1/echo/{id}');
  });

  it('serves the same document as YAML at /openapi.yaml', async () => {
    const res = await h.request('GET', '/openapi.yaml');
    expect(res.headers.get('content-type')).toBe('application/yaml; charset=utf-8');
    const yaml = parseYaml(await res.text());
    expect(yaml).toEqual(await readJson(await h.request('GET', '/openapi.json')));
  });

  it('serves Swagger UI at /docs with its assets from node_modules and the document at /docs/json', async () => {
    const page = await h.request('GET', '/docs/');
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('<div id="swagger-ui"></div>');
    expect(html).not.toMatch(/https?:\/\//); // no CDN
    const bundle = await h.request('GET', '/docs/static/swagger-ui-bundle.js');
    expect(bundle.status).toBe(200);
    expect((await bundle.arrayBuffer()).byteLength).toBeGreaterThan(100_000);
    const initializer = await (await h.request('GET', '/docs/static/swagger-initializer.js')).text();
    expect(initializer).toContain("resolveUrl('./json')");
    expect(await readJson(await h.request('GET', '/docs/json'))).toEqual(await readJson(await h.request('GET', '/openapi.json')));
  });

  it('still transcodes every other path', async () => {
    const res = await h.request('GET', '/v1/echo/7');
    expect(await readJson(res)).toEqual({ id: '7' });
  });
});

describe('docs off', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ docs: false });
  });
  afterAll(() => h.close());

  it.each(['/openapi.json', '/docs/'])('%s is an unknown route (404 google.rpc.Status)', async (path) => {
    const res = await h.request('GET', path);
    expect(res.status).toBe(404);
    expect(errorReason(await readJson(res))).toBe('ROUTE_NOT_FOUND');
  });
});

describe('a proto route on a docs path', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'docs-paths-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** The echo service with Echo also bound to GET `route`, through a service config's http rule. */
  const configBinding = (route: string, docs: boolean) => {
    const serviceConfig = path.join(dir, `${route.replace(/\W/g, '_')}.yaml`);
    writeFileSync(
      serviceConfig,
      `type: google.api.Service\nconfig_version: 3\nhttp:\n  rules:\n    - selector: acme.echo.v1.EchoService.Echo\n      get: ${route}\n`,
    );
    return resolveConfig({ port: 0, upstreams: { 'acme.echo.v1': '127.0.0.1:1' }, auth: { mode: 'off' }, serviceConfig, docs });
  };

  it.each(['/docs', '/openapi.json', '/openapi.yaml', '/docs/{name=**}'])('GET %s stops the start naming the method and the way out', async (route) => {
    await expect(buildGateway(configBinding(route, true), false)).rejects.toThrow(
      /^GET \/(docs|openapi)\S* is bound by acme\.echo\.v1\.EchoService\.Echo \(.+\); the docs would hide it: start with --no-docs \(config docs: false\)$/,
    );
  });

  it('starts with the docs off, the route served by the transcoder', async () => {
    const gateway = await buildGateway(configBinding('/docs', false), false);
    try {
      expect(gateway.routes.trie.match('GET', '/docs').kind).toBe('match');
    } finally {
      await gateway.close();
    }
  });
});
