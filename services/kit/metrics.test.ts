/**
 * The services' own Prometheus metrics: a real user service with METRICS_PORT=0, real gRPC
 * calls on loopback, /metrics scraped over HTTP.
 */
import { Client, credentials, status } from '@grpc/grpc-js';
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

  it('counts health and reflection calls too (a server interceptor: their handlers are not ours), a cancelled one as Canceled', async () => {
    const raw = new Client(svc.address, credentials.createInsecure());
    const bytes = (b: Buffer): Buffer => b;
    // HealthCheckRequest { string service = 1; }: the server as a whole (''), then a service it does not know.
    const check = (service: string): Promise<number> =>
      new Promise((resolve) =>
        raw.makeUnaryRequest('/grpc.health.v1.Health/Check', bytes, bytes, Buffer.concat([Buffer.from([0x0a, service.length]), Buffer.from(service)]), (err) =>
          resolve(err?.code ?? status.OK),
        ),
      );
    try {
      expect(await check('')).toBe(status.OK);
      expect(await check('nope.Service')).toBe(status.NOT_FOUND);
      // ServerReflectionRequest { string list_services = 7; }, then the end of the stream.
      await new Promise<void>((resolve, reject) => {
        const stream = raw.makeBidiStreamRequest('/grpc.reflection.v1.ServerReflection/ServerReflectionInfo', bytes, bytes);
        stream.on('data', () => stream.end());
        stream.on('error', reject);
        stream.on('status', () => resolve());
        stream.write(Buffer.from([0x3a, 0x00]));
      });
      // Watch streams until the client leaves.
      const watch = raw.makeServerStreamRequest('/grpc.health.v1.Health/Watch', bytes, bytes, Buffer.alloc(0));
      watch.on('error', () => {});
      await new Promise((resolve) => watch.once('data', resolve));
      watch.cancel();

      const health = 'grpc_service="grpc.health.v1.Health"';
      const reflection = 'grpc_service="grpc.reflection.v1.ServerReflection",grpc_method="ServerReflectionInfo"';
      let text = '';
      for (let i = 0; i < 50 && sample(text, 'grpc_server_handled_total', `${health},grpc_method="Watch",grpc_code="Canceled"`) === undefined; i++) {
        await new Promise((r) => setTimeout(r, 20 * i));
        text = await scrape();
      }
      expect(sample(text, 'grpc_server_handled_total', `${health},grpc_method="Check",grpc_code="OK"`)).toBe(1);
      expect(sample(text, 'grpc_server_handled_total', `${health},grpc_method="Check",grpc_code="NotFound"`)).toBe(1);
      expect(sample(text, 'grpc_server_handled_total', `${reflection},grpc_code="OK"`)).toBe(1);
      expect(sample(text, 'grpc_server_handled_total', `${health},grpc_method="Watch",grpc_code="Canceled"`)).toBe(1);
      expect(sample(text, 'grpc_server_handling_seconds_count', `${health},grpc_method="Check"`)).toBe(2);
      // The service's own calls are still recorded once, by the handler wrapper, not twice.
      expect(sample(text, 'grpc_server_handled_total', `grpc_service="acme.user.v1.UserService",grpc_method="CreateUser",grpc_code="OK"`)).toBe(1);
    } finally {
      raw.close();
    }
  });

  it('answers 404 beside /metrics and 405 for other methods', async () => {
    expect((await fetch(`http://${svc.metricsAddress}/`)).status).toBe(404);
    expect((await fetch(`http://${svc.metricsAddress}/metrics`, { method: 'POST' })).status).toBe(405);
  });
});
