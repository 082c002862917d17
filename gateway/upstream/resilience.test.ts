/**
 * Resilience end to end, over a real echo backend on loopback: retries only where safe,
 * the circuit breaker (opened by service failures only, fail-fast while open, closed by a
 * success after half-open), the bulkhead, deadlines, and gateway-made failures as
 * catalogue errors naming the service, never an address.
 */
import * as net from 'node:net';
import { startHarness, type Harness } from '../test-support/gateway-harness';
import { errorReason, readJson, TRANSPORTS, type JsonBody } from '../test-support/http-client';

const SERVICE = 'acme.echo.v1.EchoService';
const FAIL = `/${SERVICE}/Fail`;
const SLOW = `/${SERVICE}/Slow`;

const errorInfo = (status: JsonBody): JsonBody | undefined => (status.details as JsonBody[]).find((d) => String(d['@type']).endsWith('/google.rpc.ErrorInfo'));

describe.each(TRANSPORTS)('resilience over %s', (transport) => {
  describe('retries', () => {
    let h: Harness;
    beforeAll(async () => {
      h = await startHarness({ transport, resilience: { retry: { maxAttempts: 3, initialBackoffMs: 5 } } });
    });
    afterAll(() => h.close());
    beforeEach(() => h.backend.calls.clear());

    it("a GET-bound method failing UNAVAILABLE is tried maxAttempts times; the service's own status comes back", async () => {
      const res = await h.request('GET', '/v1/fail/14?message=busy');
      expect(res.status).toBe(503);
      expect(await readJson(res)).toEqual({ code: 14, message: 'busy', details: [] });
      expect(h.backend.calls.get(FAIL)).toBe(3);
    });

    it.each([
      [13, 'INTERNAL'],
      [8, 'RESOURCE_EXHAUSTED without a pushback'],
      [3, 'INVALID_ARGUMENT'],
    ])('code %i (%s) is not retried', async (code) => {
      await h.request('GET', `/v1/fail/${code}`);
      expect(h.backend.calls.get(FAIL)).toBe(1);
    });

    it('a success is not retried', async () => {
      expect((await h.request('GET', '/v1/echo/1')).status).toBe(200);
      expect(h.backend.calls.get(`/${SERVICE}/Echo`)).toBe(1);
    });

    it('a retry never goes past the deadline', async () => {
      const started = Date.now();
      const res = await h.request('GET', '/v1/fail/14', { headers: { 'grpc-timeout': '1m' } });
      expect([503, 504]).toContain(res.status);
      expect(Date.now() - started).toBeLessThan(1000);
      expect(h.backend.calls.get(FAIL) ?? 0).toBeLessThanOrEqual(1);
    });
  });

  describe('circuit breaker', () => {
    let h: Harness;
    beforeAll(async () => {
      h = await startHarness({
        transport,
        resilience: { retry: { maxAttempts: 1 }, breaker: { consecutiveFailures: 3, halfOpenAfterMs: 300 } },
      });
    });
    afterAll(() => h.close());

    it('caller errors never open it', async () => {
      for (let i = 0; i < 6; i++) expect((await h.request('GET', '/v1/fail/3')).status).toBe(400);
      for (let i = 0; i < 6; i++) expect((await h.request('GET', '/v1/fail/5')).status).toBe(404);
      expect(h.gateway.guards.get(SERVICE)!.breakerState).toBe('closed');
    });

    it('opens after consecutive service failures, fails at once with CIRCUIT_OPEN and Retry-After, then closes on a success after half-open', async () => {
      for (let i = 0; i < 3; i++) expect((await h.request('GET', '/v1/fail/13')).status).toBe(500);
      expect(h.gateway.guards.get(SERVICE)!.breakerState).toBe('open');
      h.backend.calls.clear();

      const res = await h.request('GET', '/v1/echo/1');
      expect(res.status).toBe(503);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      const body = await readJson(res);
      expect(errorReason(body)).toBe('CIRCUIT_OPEN');
      expect(errorInfo(body)!.metadata).toEqual({ service: SERVICE });
      expect(h.backend.calls.size).toBe(0); // never reached the service

      const stream = await h.request('GET', '/v1/expand?count=1');
      expect(stream.status).toBe(503);
      expect(errorReason(await readJson(stream))).toBe('CIRCUIT_OPEN');

      await new Promise((r) => setTimeout(r, 350));
      expect((await h.request('GET', '/v1/echo/1')).status).toBe(200);
      expect(h.gateway.guards.get(SERVICE)!.breakerState).toBe('closed');
    });
  });

  describe('bulkhead', () => {
    let h: Harness;
    beforeAll(async () => {
      h = await startHarness({ transport, resilience: { bulkhead: { maxInFlight: 1, maxQueued: 1 } } });
    });
    afterAll(() => h.close());

    it('past maxInFlight and maxQueued a call fails at once with BULKHEAD_FULL', async () => {
      const slow = [h.request('GET', '/v1/slow?delayMs=300'), h.request('GET', '/v1/slow?delayMs=300')];
      let slowDone = false;
      void Promise.all(slow).then(() => (slowDone = true));
      await new Promise((r) => setTimeout(r, 100));
      expect(h.gateway.guards.get(SERVICE)!.inFlight).toBe(1);
      const res = await h.request('GET', '/v1/echo/1');
      // At once: refused while both slow calls still hold the slot and the queue, not after
      // waiting for one of them (a wall-clock bound flaked on a loaded machine).
      expect(slowDone).toBe(false);
      expect(res.status).toBe(503);
      const body = await readJson(res);
      expect(errorReason(body)).toBe('BULKHEAD_FULL');
      expect(errorInfo(body)!.metadata).toEqual({ service: SERVICE });
      expect((await Promise.all(slow)).map((r) => r.status)).toEqual([200, 200]);
    });
  });

  describe('gateway-made failures', () => {
    it('an unreachable upstream is UPSTREAM_UNAVAILABLE naming the service, never its address', async () => {
      const server = net.createServer();
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as net.AddressInfo;
      await new Promise((resolve) => server.close(resolve));
      const h = await startHarness({ transport, upstreams: { 'acme.echo.v1': `127.0.0.1:${port}` } });
      try {
        const res = await h.request('GET', '/v1/echo/1');
        expect(res.status).toBe(503);
        const text = await res.text();
        expect(text).not.toContain('127.0.0.1');
        expect(text).not.toContain(String(port));
        const body = JSON.parse(text) as JsonBody;
        expect(errorReason(body)).toBe('UPSTREAM_UNAVAILABLE');
        expect(errorInfo(body)!.metadata).toEqual({ service: SERVICE });
      } finally {
        await h.close();
      }
    });

    it('an expired deadline is 504 DEADLINE_EXCEEDED naming the service, and the service sees the cancellation', async () => {
      const h = await startHarness({ transport, resilience: { timeoutMs: 100 } });
      try {
        const res = await h.request('GET', '/v1/slow?delayMs=5000');
        expect(res.status).toBe(504);
        const body = await readJson(res);
        expect(errorReason(body)).toBe('DEADLINE_EXCEEDED');
        expect(errorInfo(body)!.metadata).toEqual({ service: SERVICE });
        const until = Date.now() + 2000;
        while (!h.backend.cancelled.includes(SLOW) && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
        expect(h.backend.cancelled).toContain(SLOW);
      } finally {
        await h.close();
      }
    });
  });
});
