/** /healthz and /readyz beside the transcoding plugin, against a real echo backend. */
import { startHarness, type Harness } from '../test-support/gateway-harness';
import { readJson, waitFor } from '../test-support/http-client';

const SERVICE = 'acme.echo.v1.EchoService';

describe('probes', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
    await waitFor(() => h.gateway.readiness().ready, 3000, 'the health watch');
  });
  afterAll(() => h.close());

  it('GET /healthz: 200, no upstream needed; HEAD too', async () => {
    const res = await h.request('GET', '/healthz');
    expect(res.status).toBe(200);
    expect(await readJson(res)).toEqual({ status: 'ok' });
    expect((await h.request('HEAD', '/healthz')).status).toBe(200);
  });

  it("GET /readyz: 200 with each upstream's health, breaker and in-flight count", async () => {
    const res = await h.request('GET', '/readyz');
    expect(res.status).toBe(200);
    expect(await readJson(res)).toEqual({
      ready: true,
      draining: false,
      notServing: [],
      upstreams: { [SERVICE]: { health: 'SERVING', breaker: 'off', inFlight: 0, required: true } },
    });
  });

  it('the health watch follows the service: NOT_SERVING makes /readyz 503 naming it, SERVING makes it 200 again', async () => {
    h.backend.setServing(false);
    await waitFor(() => !h.gateway.readiness().ready, 2000, 'NOT_SERVING to arrive');
    const res = await h.request('GET', '/readyz');
    expect(res.status).toBe(503);
    const body = await readJson(res);
    expect(body.notServing).toEqual([SERVICE]);
    expect(body.upstreams[SERVICE].health).toBe('NOT_SERVING');
    h.backend.setServing(true);
    await waitFor(() => h.gateway.readiness().ready, 2000, 'SERVING to arrive');
    expect((await h.request('GET', '/readyz')).status).toBe(200);
  });

  it('the transcoding plugin still answers unknown paths with its own 404 Status', async () => {
    const res = await h.request('GET', '/healthz/more');
    expect(res.status).toBe(404);
    expect((await readJson(res)).code).toBe(5);
  });

  it('drain() turns /readyz 503 while routes keep serving', async () => {
    h.gateway.drain();
    const res = await h.request('GET', '/readyz');
    expect(res.status).toBe(503);
    expect((await readJson(res)).draining).toBe(true);
    expect((await h.request('GET', '/v1/echo/1')).status).toBe(200);
    expect((await h.request('GET', '/healthz')).status).toBe(200);
  });
});
