/**
 * The services' own Prometheus metrics: a real user service with METRICS_PORT=0, real gRPC
 * calls on loopback, /metrics scraped over HTTP.
 */
import { credentials, status } from '@grpc/grpc-js';
import { UserServiceClient } from '../../gen/acme/user/v1/user';
import { call, callError, tempDir } from '../test-support';
import { startUserService } from '../user/main';
import { loadConfig, silentLogger, type RunningService } from '.';

// An embedded database compiles its WASM at start: on a loaded machine that alone can pass jest's 30 s.
const START_TIMEOUT_MS = 90_000;

describe('METRICS_PORT in the config loader', () => {
  it('is off when unset, a port otherwise (0 picks a free one), on loopback by default', () => {
    expect(loadConfig({}).metricsPort).toBeUndefined();
    expect(loadConfig({ METRICS_PORT: '0' })).toMatchObject({ metricsPort: 0, metricsHost: '127.0.0.1' });
    expect(loadConfig({ METRICS_PORT: '9464', METRICS_HOST: '0.0.0.0' })).toMatchObject({ metricsPort: 9464, metricsHost: '0.0.0.0' });
    expect(() => loadConfig({ METRICS_PORT: 'x' })).toThrow('METRICS_PORT must be a port number');
    expect(() => loadConfig({ METRICS_PORT: '70000' })).toThrow('METRICS_PORT must be a port number');
  });
});

describe('service metrics over HTTP', () => {
  const dir = tempDir();
  let svc: RunningService;
  let client: UserServiceClient;

  const scrape = async (): Promise<string> => {
    const res = await fetch(`http://${svc.metricsAddress}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    return res.text();
  };
  const sample = (text: string, name: string, labels: string): number | undefined => {
    const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
    return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
  };

  beforeAll(async () => {
    svc = await startUserService(
      {
        userAddr: '127.0.0.1:0',
        dataDir: dir.path,
        databaseUrl: undefined,
        contentServiceTarget: 'off',
        metricsPort: loadConfig({ METRICS_PORT: '0' }).metricsPort,
      },
      silentLogger,
    );
    client = new UserServiceClient(svc.address, credentials.createInsecure());
  }, START_TIMEOUT_MS);
  afterAll(async () => {
    client.close();
    await svc.close();
    dir.remove();
  });

  it('listens on loopback on a port of its own', () => {
    expect(svc.metricsAddress).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(svc.metricsAddress).not.toBe(svc.address);
  });

  it('counts calls by service, method and code, with their latency and the process metrics', async () => {
    await call(client.createUser.bind(client), { email: 'dana@example.com', displayName: 'Dana', password: 'correct horse battery' });
    // No token: GetUser needs a caller.
    const failed = await callError(client.getUser.bind(client), { id: 1n });
    expect(failed.code).toBe(status.UNAUTHENTICATED);

    const text = await scrape();
    const service = 'grpc_service="acme.user.v1.UserService"';
    expect(sample(text, 'grpc_server_handled_total', `${service},grpc_method="CreateUser",grpc_code="OK"`)).toBe(1);
    expect(sample(text, 'grpc_server_handled_total', `${service},grpc_method="GetUser",grpc_code="Unauthenticated"`)).toBe(1);
    expect(sample(text, 'grpc_server_handled_total', `${service},grpc_method="GetUser",grpc_code="OK"`)).toBeUndefined();
    expect(sample(text, 'grpc_server_handling_seconds_count', `${service},grpc_method="CreateUser"`)).toBe(1);
    expect(sample(text, 'grpc_server_handling_seconds_count', `${service},grpc_method="GetUser"`)).toBe(1);
    expect(sample(text, 'grpc_server_handling_seconds_bucket', `le="+Inf",${service},grpc_method="GetUser"`)).toBe(1);
    expect(text).toContain('# TYPE grpc_server_handling_seconds histogram');
    expect(text).toMatch(/^process_cpu_seconds_total /m);
    expect(text).toMatch(/^nodejs_heap_size_used_bytes /m);
  });

  it('answers 404 beside /metrics and 405 for other methods', async () => {
    expect((await fetch(`http://${svc.metricsAddress}/`)).status).toBe(404);
    expect((await fetch(`http://${svc.metricsAddress}/metrics`, { method: 'POST' })).status).toBe(405);
  });
});
