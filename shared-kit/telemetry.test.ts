/**
 * The services' traces, end to end: the compiled user and content services as their own
 * processes, configured only by OTEL_* variables, export to a real OTLP/HTTP receiver on
 * loopback. A call carrying a known traceparent continues that trace on the server, and the
 * content service's own call to the user service (its JWKS) is a client span whose server
 * span in the user service is its child: one tree across three hops.
 */
import { credentials, Metadata } from '@grpc/grpc-js';
import * as path from 'node:path';
import { ContentServiceClient, CreatePostRequest } from '../gen/acme/content/v1/content';
import { UserServiceClient } from '../gen/acme/user/v1/user';
import { compileProject, type CompiledProject } from '../gateway/test-support/compiled-project';
import { call, tempDir } from '../services/test-support';
import { NodeProcess, stopAll } from './test-support/node-process';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from './test-support/otlp-receiver';
import { telemetrySettings, TelemetryConfigError } from './telemetry-config';

const SERVER = 2;
const CLIENT = 3;

let project: CompiledProject;
let receiver: OtlpReceiver;
const dir = tempDir('acme-trace-');
let user: NodeProcess;
let content: NodeProcess;
let userClient: UserServiceClient;
let contentClient: ContentServiceClient;

const traceparent = (traceId: string, spanId: string): Metadata => {
  const md = new Metadata();
  md.set('traceparent', `00-${traceId}-${spanId}-01`);
  return md;
};
const randomHex = (bytes: number): string => Buffer.from(Array.from({ length: bytes }, () => Math.floor(Math.random() * 256))).toString('hex');

beforeAll(async () => {
  [project, receiver] = await Promise.all([compileProject(), startOtlpReceiver()]);
  const otel = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_BSP_SCHEDULE_DELAY: '50', OTEL_SERVICE_NAME: undefined };
  user = new NodeProcess(path.join(project.dir, 'services/user/main.js'), [], {
    ...otel,
    USER_ADDR: '127.0.0.1:0',
    DATA_DIR: dir.path,
    DATABASE_URL: undefined,
  });
  const userAddr = `127.0.0.1:${await user.port()}`;
  content = new NodeProcess(path.join(project.dir, 'services/content/main.js'), [], {
    ...otel,
    CONTENT_ADDR: '127.0.0.1:0',
    USER_SERVICE_TARGET: userAddr,
    DATA_DIR: dir.path,
    DATABASE_URL: undefined,
  });
  const contentAddr = `127.0.0.1:${await content.port()}`;
  userClient = new UserServiceClient(userAddr, credentials.createInsecure());
  contentClient = new ContentServiceClient(contentAddr, credentials.createInsecure());
}, 240_000);

afterAll(async () => {
  userClient?.close();
  contentClient?.close();
  await stopAll();
  await receiver?.close();
  project?.remove();
  dir.remove();
});

const inTrace = (traceId: string) => (spans: ReceivedSpan[]) => spans.filter((s) => s.traceId === traceId);

describe('services export their spans over OTLP/HTTP', () => {
  let token = '';

  it('continues an incoming traceparent in a SERVER span with RPC attributes', async () => {
    const traceId = randomHex(16);
    const parent = randomHex(8);
    await call(
      userClient.createUser.bind(userClient),
      { email: 'ada@example.com', displayName: 'Ada', password: 'correct horse' },
      traceparent(traceId, parent),
    );
    const [span] = await receiver.until('the CreateUser server span', (s) => (inTrace(traceId)(s).length ? inTrace(traceId)(s) : undefined));
    expect(span).toMatchObject({
      service: 'acme-user',
      kind: SERVER,
      parentSpanId: parent,
      name: 'grpc.acme.user.v1.UserService/CreateUser',
      attributes: expect.objectContaining({ 'rpc.system': 'grpc', 'rpc.service': 'acme.user.v1.UserService', 'rpc.method': 'CreateUser' }),
    });
    const session = await call(userClient.login.bind(userClient), { email: 'ada@example.com', password: 'correct horse' });
    token = session.accessToken;
  });

  it('starts a new trace when the call carries none', async () => {
    const before = receiver.spans.length;
    await call(userClient.getJwks.bind(userClient), {});
    const span = await receiver.until('a GetJwks server span', (s) => s.slice(before).find((x) => x.name.endsWith('/GetJwks') && x.kind === SERVER));
    expect(span.parentSpanId).toBe('');
    expect(span.traceId).toMatch(/^[0-9a-f]{32}$/);
  });

  it("links the content service's own call to the user service into the caller's trace", async () => {
    const traceId = randomHex(16);
    const parent = randomHex(8);
    const md = traceparent(traceId, parent);
    md.set('authorization', `Bearer ${token}`);
    await call(contentClient.createPost.bind(contentClient), CreatePostRequest.fromPartial({ post: { title: 'Hello', body: 'world' } }), md);
    // content SERVER (CreatePost) -> content CLIENT (GetJwks, and whatever else it asks the
    // user service) -> user SERVER, each client span answered by one server span.
    const complete = (spans: ReceivedSpan[]): ReceivedSpan[] | undefined => {
      const mine = inTrace(traceId)(spans);
      const clients = mine.filter((s) => s.service === 'acme-content' && s.kind === CLIENT);
      const served = clients.every((c) => mine.some((s) => s.service === 'acme-user' && s.parentSpanId === c.spanId));
      return mine.some((s) => s.service === 'acme-content' && s.kind === SERVER) && clients.length > 0 && served ? mine : undefined;
    };
    const spans = await receiver.until('the content -> user tree', complete);
    const server = spans.find((s) => s.service === 'acme-content' && s.kind === SERVER)!;
    expect(server).toMatchObject({ name: 'grpc.acme.content.v1.ContentService/CreatePost', parentSpanId: parent });
    const clients = spans.filter((s) => s.service === 'acme-content' && s.kind === CLIENT);
    expect(clients.map((c) => c.name)).toContain('grpc.acme.user.v1.UserService/GetJwks');
    for (const client of clients) {
      expect(client.parentSpanId).toBe(server.spanId);
      const upstream = spans.filter((s) => s.service === 'acme-user' && s.parentSpanId === client.spanId);
      expect(upstream).toHaveLength(1);
      expect(upstream[0]).toMatchObject({ kind: SERVER, name: client.name });
    }
  });

  it('flushes and exits 0 on SIGTERM', async () => {
    expect((await content.stop()).code).toBe(0);
    expect((await user.stop()).code).toBe(0);
  });
});

describe('telemetrySettings', () => {
  it('exports nothing without an endpoint or exporter, and defaults as the spec does', () => {
    expect(telemetrySettings({})).toEqual({
      exporter: 'none',
      sampler: 'parentbased_always_on',
      samplerRatio: 1,
      maxQueueSize: 2048,
      maxExportBatchSize: 512,
      scheduledDelayMs: 5000,
      exportTimeoutMs: 30_000,
    });
  });

  it.each([
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }, 'otlp'],
    [{ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4318/v1/traces' }, 'otlp'],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_TRACES_EXPORTER: 'none' }, 'none'],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'true' }, 'none'],
    [{ OTEL_TRACES_EXPORTER: 'console' }, 'console'],
  ])('%j exports to %s', (env, exporter) => {
    expect(telemetrySettings(env).exporter).toBe(exporter);
  });

  it.each([
    [{ OTEL_TRACES_EXPORTER: 'zipkin' }, /OTEL_TRACES_EXPORTER/],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4317', OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, /http\/protobuf/],
    [{ OTEL_TRACES_SAMPLER: 'sometimes' }, /OTEL_TRACES_SAMPLER/],
    [{ OTEL_TRACES_SAMPLER_ARG: '2' }, /OTEL_TRACES_SAMPLER_ARG/],
    [{ OTEL_BSP_MAX_QUEUE_SIZE: '-1' }, /OTEL_BSP_MAX_QUEUE_SIZE/],
  ])('rejects %j naming the variable', (env, message) => {
    expect(() => telemetrySettings(env)).toThrow(TelemetryConfigError);
    expect(() => telemetrySettings(env)).toThrow(message);
  });
});
