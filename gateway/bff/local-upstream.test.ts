/**
 * The local upstream at start-up, without services (nothing is contacted while building): what
 * it serves, and the start-up errors naming what is missing.
 */
import { buildGateway } from '../app';
import { resolveConfig } from '../config';

const build = (upstreams: Record<string, string>) => buildGateway(resolveConfig({ port: 0, upstreams, auth: { mode: 'off' } }), false);

describe('local upstream', () => {
  it('serves acme.bff.v1 from the route table beside the upstream methods, and documents it', async () => {
    const gateway = await build({ 'acme.user.v1': '127.0.0.1:1', 'acme.content.v1': '127.0.0.1:1', 'acme.bff.v1': 'local' });
    try {
      const bff = gateway.routes.routes.filter((r) => r.rpc.service === 'acme.bff.v1.BffService').map((r) => `${r.binding.httpMethod} ${r.binding.path}`);
      expect(bff.sort()).toEqual(['GET /v1/me/home', 'GET /v1/users/{id}/profile']);
      expect(gateway.routes.warnings).toEqual([]);
      // No breaker or health watch for a service that is not reached over the network.
      expect([...gateway.guards.keys()].sort()).toEqual(['acme.content.v1.ContentService', 'acme.user.v1.UserService']);
      const port = await gateway.listen();
      const doc = (await (await fetch(`http://127.0.0.1:${port}/openapi.json`)).json()) as { paths: object };
      expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/users/{id}/profile', '/v1/me/home']));
      expect(Object.keys(gateway.readiness().upstreams).sort()).toEqual(['acme.content.v1.ContentService', 'acme.user.v1.UserService']);
    } finally {
      await gateway.close();
    }
  });

  it.each([
    ['without the services its parts call', { 'acme.bff.v1': 'local' }, /acme\.user\.v1\.UserService\/GetUser is not served by an upstream/],
    [
      'for a service the gateway has no implementation of',
      { 'acme.echo.v1': 'local' },
      /acme\.echo\.v1\.EchoService=local: the gateway has no local implementation of it \(it has: acme\.bff\.v1\.BffService\)/,
    ],
  ])('refuses to start %s', async (_name, upstreams, message) => {
    await expect(build(upstreams)).rejects.toThrow(message);
  });
});
