/**
 * `GET /metrics` after known traffic through a real echo backend: exact request counts by
 * route template, method and status; upstream attempts by gRPC code; retries; a breaker
 * opening and the call it refused; process and event-loop metrics; bounded labels.
 */
import { startHarness, type Harness } from '../test-support/gateway-harness';
import { TRANSPORTS } from '../test-support/http-client';

const SERVICE = 'acme.echo.v1.EchoService';

/** Samples of the Prometheus text format: `name{a="b",…} value`. */
function parse(text: string): { name: string; labels: Record<string, string>; value: number }[] {
  const out = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = line.match(/^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/);
    if (!m) throw new Error(`not a sample: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[k] = v;
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

describe.each(TRANSPORTS)('/metrics over %s', (transport) => {
  let h: Harness;
  let samples: ReturnType<typeof parse>;
  let contentType: string | null;
  const value = (name: string, labels: Record<string, string>): number | undefined =>
    samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;

  beforeAll(async () => {
    h = await startHarness({
      transport,
      resilience: { retry: { maxAttempts: 3, initialBackoffMs: 1 }, breaker: { consecutiveFailures: 5, halfOpenAfterMs: 60_000 } },
    });
    const expectStatus = async (path: string, status: number) => expect((await h.request('GET', path)).status).toBe(status);
    for (let i = 0; i < 3; i++) await expectStatus('/v1/echo/1', 200);
    await expectStatus('/nowhere', 404);
    await expectStatus(`/nowhere/${'x'.repeat(40)}`, 404); // raw paths never become labels
    await expectStatus('/v1/fail/3', 400); // INVALID_ARGUMENT: not retried, not a breaker failure
    await expectStatus('/v1/fail/14', 503); // UNAVAILABLE: 3 attempts (2 retries), one breaker failure (a call counts once)
    for (let i = 0; i < 3; i++) await expectStatus('/v1/fail/13', 500); // INTERNAL: 2nd to 4th
    await expectStatus('/v1/fail/13', 500); // 5th: the breaker opens
    await expectStatus('/v1/echo/1', 503); // refused: CIRCUIT_OPEN, never reaches the backend
    const res = await h.request('GET', '/metrics');
    expect(res.status).toBe(200);
    contentType = res.headers.get('content-type');
    samples = parse(await res.text());
  });
  afterAll(() => h.close());

  it('is Prometheus text', () => {
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  });

  it('counts requests by route template, method and status, with a latency histogram of the same', () => {
    const requests = samples.filter((s) => s.name === 'gateway_http_requests_total');
    expect(requests.map((s) => [s.labels.route, s.labels.method, s.labels.status, s.value]).sort()).toEqual(
      [
        ['(unmatched)', 'GET', '404', 2],
        ['/v1/echo/{id}', 'GET', '200', 3],
        ['/v1/echo/{id}', 'GET', '503', 1],
        ['/v1/fail/{code}', 'GET', '400', 1],
        ['/v1/fail/{code}', 'GET', '500', 4],
        ['/v1/fail/{code}', 'GET', '503', 1],
      ].sort(),
    );
    expect(value('gateway_http_request_duration_seconds_count', { route: '/v1/echo/{id}', status: '200' })).toBe(3);
    expect(value('gateway_http_request_duration_seconds_bucket', { route: '/v1/echo/{id}', status: '200', le: '+Inf' })).toBe(3);
    expect(value('gateway_http_requests_in_flight', {})).toBe(0);
  });

  it('counts upstream attempts by service, method and gRPC code, and the retries among them', () => {
    const calls = samples.filter((s) => s.name === 'gateway_upstream_call_duration_seconds_count');
    expect(calls.map((s) => [s.labels.service, s.labels.method, s.labels.code, s.value]).sort()).toEqual(
      [
        [SERVICE, 'Echo', 'OK', 3],
        [SERVICE, 'Fail', 'InvalidArgument', 1],
        [SERVICE, 'Fail', 'Unavailable', 3],
        [SERVICE, 'Fail', 'Internal', 4],
      ].sort(),
    );
    expect(value('gateway_upstream_retries_total', { service: SERVICE, method: 'Fail' })).toBe(2);
  });

  it('shows the breaker opening, its state and the call it refused, and the bulkhead empty', () => {
    expect(value('gateway_upstream_breaker_opened_total', { service: SERVICE })).toBe(1);
    expect(value('gateway_upstream_breaker_state', { service: SERVICE, state: 'open' })).toBe(1);
    expect(value('gateway_upstream_breaker_state', { service: SERVICE, state: 'closed' })).toBe(0);
    expect(value('gateway_upstream_rejected_total', { service: SERVICE, reason: 'CIRCUIT_OPEN' })).toBe(1);
    expect(value('gateway_upstream_bulkhead_in_flight', { service: SERVICE })).toBe(0);
    expect(value('gateway_upstream_bulkhead_queued', { service: SERVICE })).toBe(0);
  });

  it('has process and event-loop metrics', () => {
    expect(value('process_cpu_user_seconds_total', {})).toBeGreaterThan(0);
    expect(value('process_resident_memory_bytes', {})).toBeGreaterThan(0);
    expect(samples.some((s) => s.name === 'nodejs_eventloop_lag_p99_seconds')).toBe(true);
  });
});

it('counts a finished server stream as a request; the open-streams gauge is back at 0', async () => {
  const h = await startHarness();
  try {
    const open = await fetch(`${h.baseUrl}/v1/expand?count=1`);
    await open.text();
    const text = await (await h.request('GET', '/metrics')).text();
    expect(text).toMatch(/gateway_open_streams\{service="acme\.echo\.v1\.EchoService",method="Expand"\} 0/);
    expect(text).toMatch(/gateway_http_requests_total\{route="\/v1\/expand",method="GET",status="200"\} 1/);
  } finally {
    await h.close();
  }
});
