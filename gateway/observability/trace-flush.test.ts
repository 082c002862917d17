/**
 * The last spans survive a shutdown: the compiled gateway (one process, and `--workers 2` with each
 * --worker-balancing) and the user service, as real processes exporting to a real OTLP/HTTP receiver with
 * a batch delay of ten minutes, so a span reaches the receiver only if the process flushes it
 * when it stops. A request, SIGTERM at once, and the request's spans must have arrived by the
 * time the process has exited 0. A collector that hangs delays the exit by a bounded flush,
 * never fails it.
 */
import * as path from 'node:path';
import { tempDir } from '../../services/test-support';
import { NodeProcess, stopAll } from '../../shared-kit/test-support/node-process';
import { startOtlpReceiver, startSilentCollector, type OtlpReceiver, type ReceivedSpan } from '../../shared-kit/test-support/otlp-receiver';
import { compileProject, type CompiledProject } from '../test-support/compiled-project';

const SERVER = 2;
const randomHex = (bytes: number): string => Buffer.from(Array.from({ length: bytes }, () => Math.floor(Math.random() * 256))).toString('hex');

let project: CompiledProject;
let receiver: OtlpReceiver;
const dir = tempDir('acme-flush-');
let user: NodeProcess;
let userAddr = '';
/** Spans wait ten minutes for their batch: only a flush at shutdown exports them within a test. */
const otel = (endpoint: string) => ({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_BSP_SCHEDULE_DELAY: '600000', OTEL_SERVICE_NAME: undefined });

beforeAll(async () => {
  [project, receiver] = await Promise.all([compileProject(), startOtlpReceiver()]);
  user = new NodeProcess(path.join(project.dir, 'services/user/main.js'), [], {
    ...otel(receiver.endpoint),
    USER_ADDR: '127.0.0.1:0',
    DATA_DIR: dir.path,
    DATABASE_URL: undefined,
  });
  userAddr = `127.0.0.1:${await user.port()}`;
}, 240_000);

afterAll(async () => {
  await stopAll();
  await receiver?.close();
  project?.remove();
  dir.remove();
});

function startGateway(args: string[], endpoint = receiver.endpoint): NodeProcess {
  return new NodeProcess(path.join(project.dir, 'gateway/main.js'), ['--upstream', `acme.user.v1=${userAddr}`, '--port', '0', ...args], otel(endpoint));
}

/** GET /.well-known/jwks.json (public) in a known trace; the answer is read in full. */
async function tracedRequest(port: number): Promise<string> {
  const traceId = randomHex(16);
  const res = await fetch(`http://127.0.0.1:${port}/.well-known/jwks.json`, { headers: { traceparent: `00-${traceId}-${randomHex(8)}-01` } });
  expect(res.status).toBe(200);
  await res.arrayBuffer();
  return traceId;
}

const gatewayServer = (traceId: string) => (s: ReceivedSpan) => s.traceId === traceId && s.service === 'acme-gateway' && s.kind === SERVER;
const userServer = (traceId: string) => (s: ReceivedSpan) => s.traceId === traceId && s.service === 'acme-user' && s.kind === SERVER;

const traces: string[] = [];

/** Starts a gateway, makes one traced request, SIGTERMs it at once; the gateway's spans of that request, as received by its exit. */
async function requestThenStop(args: string[], listening: RegExp): Promise<ReceivedSpan[]> {
  const gw = startGateway(args);
  const port = Number((await gw.waitFor(listening))[1]);
  const traceId = await tracedRequest(port);
  traces.push(traceId);
  expect(receiver.spans.some(gatewayServer(traceId))).toBe(false); // still queued: the batch waits ten minutes
  expect(await gw.stop()).toEqual({ code: 0, signal: null });
  return receiver.spans.filter((s) => s.traceId === traceId && s.service === 'acme-gateway');
}

describe('SIGTERM right after a request: its spans are exported before the exit', () => {
  const expectWholeTrace = (spans: ReceivedSpan[]): void => {
    expect(spans.filter((s) => s.kind === SERVER).map((s) => s.name)).toEqual(['GET /.well-known/jwks.json']);
    expect(spans.map((s) => s.name)).toContain('acme.user.v1.UserService/GetJwks');
  };

  it('a single gateway process', async () => {
    expectWholeTrace(await requestThenStop([], /listening at \S*:(\d+)/));
  }, 60_000);

  it.each(['reuseport', 'cluster'])(
    '--workers 2 --worker-balancing %s: the primary tells its workers to close, each flushes its own spans',
    async (balancing) => {
      // Each worker logs its own `listening at` first; the primary's comes once all listen, and only then does it handle signals.
      expectWholeTrace(await requestThenStop(['--workers', '2', '--worker-balancing', balancing], /listening at \S*:(\d+) with 2 workers/));
    },
    60_000,
  );
});

it('a collector that never answers: the flush is given up in time, the exit is still 0 (not the watchdog exit 1 at grace + 3 s)', async () => {
  const silent = await startSilentCollector();
  try {
    const gw = startGateway(['--shutdown-grace-ms', '1000'], silent.endpoint);
    await tracedRequest(await gw.port());
    expect(await gw.stop(30_000)).toEqual({ code: 0, signal: null });
    expect(silent.connections).toBeGreaterThan(0); // the flush did try
    expect(gw.lines.join('\n')).toMatch(/trace export at shutdown did not finish within \d+ ms/);
  } finally {
    await silent.close();
  }
}, 60_000);

it('the user service flushes its server spans on SIGTERM too (last: the gateways above needed it)', async () => {
  expect(traces).toHaveLength(3);
  for (const traceId of traces) expect(receiver.spans.some(userServer(traceId))).toBe(false);
  expect(await user.stop()).toEqual({ code: 0, signal: null });
  for (const traceId of traces) expect(receiver.spans.filter(userServer(traceId)).map((s) => s.name)).toEqual(['grpc.acme.user.v1.UserService/GetJwks']);
}, 30_000);
