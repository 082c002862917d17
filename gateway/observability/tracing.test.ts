/**
 * One trace from the HTTP client through the gateway into a service, end to end: the
 * compiled user and content services and the gateway, each its own process configured only
 * by OTEL_* variables, export to a real OTLP/HTTP receiver on loopback. A request carrying a
 * known traceparent gives one tree: client's span → gateway SERVER (with its stage spans) →
 * gateway CLIENT → user SERVER, over the default h2 transport and over grpc-js alike.
 */
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { compileProject, type CompiledProject } from '../test-support/compiled-project';
import { tempDir } from '../../services/test-support';
import { NodeProcess, stopAll } from '../../shared-kit/test-support/node-process';
import {
  startOtlpReceiver,
  startSilentCollector,
  type OtlpReceiver,
  type ReceivedSpan,
  type SilentCollector,
} from '../../shared-kit/test-support/otlp-receiver';

const SERVER = 2;
const CLIENT = 3;
const randomHex = (bytes: number): string => Buffer.from(Array.from({ length: bytes }, () => Math.floor(Math.random() * 256))).toString('hex');

let project: CompiledProject;
let receiver: OtlpReceiver;
const dir = tempDir('acme-gw-trace-');
const gateways: Record<string, string> = {};
let upstreamArgs: string[] = [];
let token = '';
let userId = '';

function startGateway(args: string[], env: Record<string, string | undefined>): NodeProcess {
  return new NodeProcess(path.join(project.dir, 'gateway/main.js'), [...upstreamArgs, '--port', '0', ...args], env);
}

beforeAll(async () => {
  [project, receiver] = await Promise.all([compileProject(), startOtlpReceiver()]);
  const otel = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_BSP_SCHEDULE_DELAY: '50', OTEL_SERVICE_NAME: undefined };
  const user = new NodeProcess(path.join(project.dir, 'services/user/main.js'), [], {
    ...otel,
    USER_ADDR: '127.0.0.1:0',
    DATA_DIR: dir.path,
    DATABASE_URL: undefined,
  });
  const userAddr = `127.0.0.1:${await user.port()}`;
  const content = new NodeProcess(path.join(project.dir, 'services/content/main.js'), [], {
    ...otel,
    CONTENT_ADDR: '127.0.0.1:0',
    USER_SERVICE_TARGET: userAddr,
    DATA_DIR: dir.path,
    DATABASE_URL: undefined,
  });
  upstreamArgs = [
    '--upstream',
    `acme.user.v1=${userAddr}`,
    '--upstream',
    `acme.content.v1=127.0.0.1:${await content.port()}`,
    '--upstream',
    'acme.bff.v1=local',
  ];
  // A plain HTTP route (proxy/) on the h2 gateway, to a plain HTTP service process.
  const legacy = new NodeProcess(path.join(__dirname, '..', 'proxy', 'test-support', 'http-upstream-main.ts'), ['--name', 'legacy'], {
    NODE_OPTIONS: '--disable-warning=MODULE_TYPELESS_PACKAGE_JSON',
  });
  const httpRoutes = path.join(dir.path, 'http-routes.json');
  const legacyRoute = { path: '/legacy/**', upstreams: `http://127.0.0.1:${await legacy.port()}`, public: true };
  writeFileSync(httpRoutes, JSON.stringify({ httpRoutes: { routes: { legacy: legacyRoute } } }));
  const [h2, grpcJs] = [startGateway(['--config', httpRoutes], otel), startGateway(['--transport', 'grpc-js'], otel)];
  gateways.h2 = `http://127.0.0.1:${await h2.port()}`;
  gateways['grpc-js'] = `http://127.0.0.1:${await grpcJs.port()}`;

  const json = { 'content-type': 'application/json' };
  const created = await fetch(`${gateways.h2}/v1/users`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify({ email: 'ada@example.com', displayName: 'Ada', password: 'correct horse' }),
  });
  userId = ((await created.json()) as { id: string }).id;
  const session = await fetch(`${gateways.h2}/v1/sessions`, {
    method: 'POST',
    headers: json,
    body: JSON.stringify({ email: 'ada@example.com', password: 'correct horse' }),
  });
  token = ((await session.json()) as { accessToken: string }).accessToken;
}, 240_000);

afterAll(async () => {
  await stopAll();
  await receiver?.close();
  project?.remove();
  dir.remove();
});

const inTrace = (traceId: string, atLeast: number) => (spans: ReceivedSpan[]) => {
  const found = spans.filter((s) => s.traceId === traceId);
  return found.length >= atLeast ? found : undefined;
};

describe.each(['h2', 'grpc-js'])('a traced request over the %s transport', (transport) => {
  it('continues the incoming traceparent into one tree: gateway SERVER → stages, CLIENT → user SERVER', async () => {
    const traceId = randomHex(16);
    const parent = randomHex(8);
    const res = await fetch(`${gateways[transport]}/v1/users/${userId}`, {
      headers: { authorization: `Bearer ${token}`, traceparent: `00-${traceId}-${parent}-01` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-trace-id')).toBe(traceId);

    // gateway: server, route match, auth, request transcoding, client, response transcoding; user: server
    const spans = await receiver.until('the whole tree', inTrace(traceId, 7));
    const gateway = spans.filter((s) => s.service === 'acme-gateway');
    const server = gateway.find((s) => s.kind === SERVER)!;
    expect(server).toMatchObject({
      name: 'GET /v1/users/{id}',
      parentSpanId: parent,
      attributes: expect.objectContaining({
        'http.request.method': 'GET',
        'http.route': '/v1/users/{id}',
        'url.path': `/v1/users/${userId}`,
        'http.response.status_code': 200,
        'rpc.service': 'acme.user.v1.UserService',
        'rpc.method': 'GetUser',
      }),
    });
    expect(res.headers.get('traceresponse')).toBe(`00-${traceId}-${server.spanId}-01`);

    const clients = gateway.filter((s) => s.kind === CLIENT);
    expect(clients).toHaveLength(1); // never a second client span from the grpc-js instrumentation
    const [client] = clients;
    expect(client).toMatchObject({
      name: 'acme.user.v1.UserService/GetUser',
      parentSpanId: server.spanId,
      attributes: expect.objectContaining({ 'rpc.system': 'grpc', 'rpc.grpc.status_code': 0 }),
    });
    const stages = gateway.filter((s) => s.parentSpanId === server.spanId && s.kind !== CLIENT).map((s) => s.name);
    expect(stages.sort()).toEqual(['auth', 'request transcoding', 'response transcoding', 'route match']);

    const upstream = spans.find((s) => s.service === 'acme-user')!;
    expect(upstream).toMatchObject({ kind: SERVER, name: 'grpc.acme.user.v1.UserService/GetUser', parentSpanId: client.spanId });
    // Every span of the trace hangs from the client's span: one tree, no orphan.
    const ids = new Set([parent, ...spans.map((s) => s.spanId)]);
    expect(spans.filter((s) => !ids.has(s.parentSpanId))).toEqual([]);
  });

  it('starts a fresh trace without a traceparent and says which', async () => {
    const res = await fetch(`${gateways[transport]}/v1/users/${userId}`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    const traceId = res.headers.get('x-trace-id')!;
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(res.headers.get('traceresponse')).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    const spans = await receiver.until('the fresh trace', inTrace(traceId, 7));
    expect(spans.find((s) => s.service === 'acme-gateway' && s.kind === SERVER)!.parentSpanId).toBe('');
    expect(spans.some((s) => s.service === 'acme-user' && s.kind === SERVER)).toBe(true);
  });
});

it('traces a local (BFF) route like any other: its SERVER span, and a CLIENT span per part call with the service beneath', async () => {
  const traceId = randomHex(16);
  const res = await fetch(`${gateways.h2}/v1/users/${userId}/profile`, {
    headers: { authorization: `Bearer ${token}`, traceparent: `00-${traceId}-${randomHex(8)}-01` },
  });
  expect(res.status).toBe(200);
  // GetUser and ListPosts (recent posts): each answered by its service's SERVER span.
  const spans = await receiver.until('the profile tree', (all) => {
    const found = all.filter((s) => s.traceId === traceId);
    const served = found.filter((s) => s.kind === SERVER && s.service !== 'acme-gateway' && /\/(GetUser|ListPosts)$/.test(s.name));
    return served.length >= 2 && found.some((s) => s.service === 'acme-gateway' && s.kind === SERVER) ? found : undefined;
  });
  const gateway = spans.filter((s) => s.service === 'acme-gateway');
  const server = gateway.find((s) => s.kind === SERVER)!;
  expect(server).toMatchObject({
    name: 'GET /v1/users/{id}/profile',
    attributes: expect.objectContaining({ 'rpc.service': 'acme.bff.v1.BffService', 'rpc.method': 'GetUserProfile', 'http.response.status_code': 200 }),
  });
  const clients = gateway.filter((s) => s.kind === CLIENT);
  expect(clients.map((c) => c.name).sort()).toEqual(['acme.content.v1.ContentService/ListPosts', 'acme.user.v1.UserService/GetUser']);
  for (const client of clients) {
    expect(client.parentSpanId).toBe(server.spanId);
    expect(spans.some((s) => s.kind === SERVER && s.service !== 'acme-gateway' && s.parentSpanId === client.spanId)).toBe(true);
  }
});

it('traces a plain HTTP route: its SERVER span named by the pattern, sent upstream as the traceparent', async () => {
  const traceId = randomHex(16);
  const res = await fetch(`${gateways.h2}/legacy/echo`, { headers: { traceparent: `00-${traceId}-${randomHex(8)}-01` } });
  expect(res.status).toBe(200);
  const seen = ((await res.json()) as { headers: Record<string, string> }).headers;
  const spans = await receiver.until('the proxied trace', inTrace(traceId, 1));
  const server = spans.find((s) => s.service === 'acme-gateway' && s.kind === SERVER)!;
  expect(server.name).toBe('GET /legacy/**');
  expect(server.attributes).toMatchObject({ 'http.route': '/legacy/**', 'http.response.status_code': 200 });
  expect(seen.traceparent).toBe(`00-${traceId}-${server.spanId}-01`);
});

it('marks a refused request: a 401 ends the auth span in error, with no upstream call', async () => {
  const traceId = randomHex(16);
  const res = await fetch(`${gateways.h2}/v1/users/${userId}`, { headers: { traceparent: `00-${traceId}-${randomHex(8)}-01` } });
  expect(res.status).toBe(401);
  expect(res.headers.get('x-trace-id')).toBe(traceId);
  const spans = await receiver.until('the refused trace', inTrace(traceId, 3));
  expect(spans.find((s) => s.name === 'auth')!.statusCode).toBe(2);
  expect(spans.find((s) => s.kind === SERVER)!.attributes['http.response.status_code']).toBe(401);
  expect(spans.filter((s) => s.kind === CLIENT)).toEqual([]);
});

it('records retries and breaker decisions as span events: attempts on a dead upstream, then circuit_open', async () => {
  // A gateway whose user upstream is a closed port: GET /.well-known/jwks.json (public, GET, so
  // retried) fails UNAVAILABLE on each attempt; after 5 failures in a row the breaker opens.
  const dead = createServer();
  await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve));
  const deadPort = (dead.address() as AddressInfo).port;
  await new Promise<void>((resolve) => dead.close(() => resolve()));
  const otel = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_BSP_SCHEDULE_DELAY: '50', OTEL_SERVICE_NAME: undefined };
  const args = ['--upstream', `acme.user.v1=127.0.0.1:${deadPort}`, '--upstream', `acme.content.v1=127.0.0.1:${deadPort}`, '--port', '0'];
  const gw = new NodeProcess(path.join(project.dir, 'gateway/main.js'), args, otel);
  const base = `http://127.0.0.1:${await gw.port()}`;

  const retried = randomHex(16);
  const first = await fetch(`${base}/.well-known/jwks.json`, { headers: { traceparent: `00-${retried}-${randomHex(8)}-01` } });
  expect(first.status).toBe(503);
  // The failure's own log line carries the trace id, not only the request's summary line.
  const [failedLine] = await gw.waitFor(/^\{.*"upstream call failed".*$/m, 10_000);
  expect(JSON.parse(failedLine)).toMatchObject({ traceId: retried });
  let refused = '';
  for (let i = 0; i < 10 && refused === ''; i++) {
    const traceId = randomHex(16);
    const res = await fetch(`${base}/.well-known/jwks.json`, { headers: { traceparent: `00-${traceId}-${randomHex(8)}-01` } });
    const body = (await res.json()) as { details?: { reason?: string }[] };
    if (body.details?.some((d) => d.reason === 'CIRCUIT_OPEN')) refused = traceId;
  }
  expect(refused).not.toBe('');

  const isServer = (s: ReceivedSpan) => s.service === 'acme-gateway' && s.kind === SERVER;
  const retriedSpans = await receiver.until('the retried trace', (all) => {
    const found = all.filter((s) => s.traceId === retried);
    return found.some(isServer) ? found : undefined;
  });
  const attempts = retriedSpans.filter((s) => s.kind === CLIENT);
  expect(attempts.map((c) => c.attributes['rpc.attempt']).sort()).toEqual([1, 2, 3]);
  const retryEvents = retriedSpans.find(isServer)!.events.filter((e) => e.name === 'retry');
  expect(retryEvents.map((e) => e.attributes['rpc.attempt'])).toEqual([2, 3]);

  const refusedSpans = await receiver.until('the refused trace', (all) => {
    const found = all.filter((s) => s.traceId === refused);
    return found.some(isServer) ? found : undefined;
  });
  const server = refusedSpans.find(isServer)!;
  expect(server.events.map((e) => e.name)).toContain('circuit_open');
  expect(server.attributes['error.type']).toBe('CIRCUIT_OPEN');
  expect(refusedSpans.filter((s) => s.kind === CLIENT)).toEqual([]);
  await gw.stop();
}, 60_000);

describe('a collector that is down or never answers', () => {
  let silent: SilentCollector;

  beforeAll(async () => {
    silent = await startSilentCollector();
  });

  afterAll(() => silent.close());

  it('keeps request latency: 200 requests against a hanging and a refusing collector, medians near the healthy one', async () => {
    const bounded = { OTEL_BSP_SCHEDULE_DELAY: '10', OTEL_BSP_MAX_QUEUE_SIZE: '64', OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '16', OTEL_EXPORTER_OTLP_TIMEOUT: '10000' };
    const hanging = startGateway([], { ...bounded, OTEL_EXPORTER_OTLP_ENDPOINT: silent.endpoint });
    const refusing = startGateway([], { ...bounded, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1' });
    const bases = { healthy: gateways.h2, hanging: `http://127.0.0.1:${await hanging.port()}`, refusing: `http://127.0.0.1:${await refusing.port()}` };
    const median = async (base: string): Promise<number> => {
      const times: number[] = [];
      for (let i = 0; i < 200; i++) {
        const t0 = performance.now();
        const res = await fetch(`${base}/v1/users/${userId}`, { headers: { authorization: `Bearer ${token}` } });
        expect(res.status).toBe(200);
        await res.arrayBuffer();
        times.push(performance.now() - t0);
      }
      return times.sort((a, b) => a - b)[100];
    };
    // Interleaved rounds so the machine's noise falls on all three alike.
    const m = { healthy: [] as number[], hanging: [] as number[], refusing: [] as number[] };
    for (let round = 0; round < 2; round++) {
      for (const k of ['healthy', 'hanging', 'refusing'] as const) m[k].push(await median(bases[k]));
    }
    const best = (xs: number[]): number => Math.min(...xs);
    // Generous bound (a shared, noisy machine): a collector that waits would add its 10 s timeout.
    expect(best(m.hanging)).toBeLessThan(best(m.healthy) * 3 + 20);
    expect(best(m.refusing)).toBeLessThan(best(m.healthy) * 3 + 20);
    expect(silent.connections).toBeGreaterThan(0); // the exporter did try the hanging collector
  }, 180_000);
});
