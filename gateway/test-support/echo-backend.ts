/**
 * The echo backend: a real @grpc/grpc-js server for acme.echo.v1.EchoService, answering
 * each RPC from its request alone, with dynamic messages from gen/api.binpb. Used by the
 * gateway's end-to-end tests and by the benchmark. It echoes request metadata back as
 * response headers prefixed `echo-`, and always sends the trailer `x-trailer: done` (`failed` with Fail's error).
 */
import * as grpc from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import { create, createFileRegistry, fromBinary, toBinary, type DescMessage, type DescService, type FileRegistry } from '@bufbuild/protobuf';
import { anyPack, FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { HealthImplementation } from 'grpc-health-check';
import { BUILTIN_DESCRIPTOR } from '../config';

export interface EchoBackend {
  readonly port: number;
  readonly target: string;
  /** Paths of calls the server saw cancelled, in order. */
  readonly cancelled: string[];
  /** Calls received per path (every attempt, retries included). */
  readonly calls: Map<string, number>;
  /** Messages Expand has written in its latest call (it waits for the stream's 'drain' when write() says full). */
  expandSent: number;
  /** Metadata of the last call, as the server received it. */
  lastMetadata: grpc.Metadata | undefined;
  /** grpc.health.v1 status of every service served (and of ''). */
  setServing(serving: boolean): void;
  close(): Promise<void>;
}

const SERVICE = 'acme.echo.v1.EchoService';
const bytesIn = (b: Buffer): Buffer => b;

let cachedRegistry: FileRegistry | undefined;
/** The registry of our own descriptor set (built once per process). */
export function echoRegistry(): FileRegistry {
  return (cachedRegistry ??= createFileRegistry(fromBinary(FileDescriptorSetSchema, readFileSync(BUILTIN_DESCRIPTOR))));
}

/** Starts the echo backend on 127.0.0.1 and `port` (0: an ephemeral one). */
export async function startEchoBackend(listenPort = 0): Promise<EchoBackend> {
  const registry = echoRegistry();
  const msg = (name: string): DescMessage => registry.getMessage(name)!;
  const service = registry.getService(SERVICE)!;
  const cancelled: string[] = [];
  const calls = new Map<string, number>();
  const server = new grpc.Server();
  const healthNames = ['', SERVICE, ...CONFORMANCE_SERVICES];
  const health = new HealthImplementation(Object.fromEntries(healthNames.map((n) => [n, 'SERVING' as const])));
  health.addToServer(server);
  const backend: EchoBackend = {
    port: 0,
    target: '',
    cancelled,
    calls,
    expandSent: 0,
    lastMetadata: undefined,
    setServing: (serving) => {
      for (const name of healthNames) health.setStatus(name, serving ? 'SERVING' : 'NOT_SERVING');
    },
    close: () => new Promise((resolve) => server.tryShutdown(() => resolve())),
  };

  const count = (path: string): void => {
    calls.set(path, (calls.get(path) ?? 0) + 1);
  };
  const echoHeaders = (md: grpc.Metadata): grpc.Metadata => {
    backend.lastMetadata = md;
    const out = new grpc.Metadata();
    for (const [k, values] of Object.entries(md.toJSON())) {
      if (k.startsWith('grpc-') || k === 'user-agent' || k === 'content-type' || k === 'te') continue;
      for (const v of values) out.add(`echo-${k}`, v as string | Buffer);
    }
    return out;
  };
  const trailer = (): grpc.Metadata => {
    const md = new grpc.Metadata();
    md.set('x-trailer', 'done');
    return md;
  };

  const unary =
    (handle: (req: Buffer, call: grpc.ServerUnaryCall<Buffer, Buffer>) => Promise<Buffer> | Buffer) =>
    (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      count(call.getPath());
      call.sendMetadata(echoHeaders(call.metadata));
      call.on('cancelled', () => cancelled.push(call.getPath()));
      Promise.resolve()
        .then(() => handle(call.request, call))
        .then(
          (res) => callback(null, res, trailer()),
          (err: grpc.ServiceError) => callback(err),
        );
    };

  const handlers: Record<string, grpc.UntypedHandleCall> = {
    Echo: unary((req) => req),
    EchoNested: unary((req) => req),
    Create: unary((req) => req),
    Remove: unary(() => Buffer.alloc(0)),
    Raw: unary((req) => req),
    Upload: unary((req) => {
      const upload = fromBinary(msg('acme.echo.v1.UploadRequest'), req) as unknown as { file?: unknown };
      const body = msg('google.api.HttpBody');
      return Buffer.from(toBinary(body, (upload.file ?? create(body)) as never));
    }),
    Fail: unary((req) => {
      const r = fromBinary(msg('acme.echo.v1.FailRequest'), req) as unknown as { code: number; message: string; details: boolean };
      const err = failure(registry, r.code, r.message, r.details);
      err.metadata.set('x-trailer', 'failed'); // a failure's trailing metadata (unary-trailers.test.ts)
      throw err;
    }),
    Slow: unary((req, call) => {
      const r = fromBinary(msg('acme.echo.v1.SlowRequest'), req) as unknown as { delayMs: number };
      return new Promise<Buffer>((resolve) => {
        const timer = setTimeout(() => resolve(req), r.delayMs);
        call.on('cancelled', () => clearTimeout(timer));
      });
    }),
    Expand: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
      // Headers go out with the first message, so failing with no message is trailers-only.
      const headers = echoHeaders(call.metadata);
      const r = fromBinary(msg('acme.echo.v1.ExpandRequest'), call.request) as unknown as {
        count: number;
        text: string;
        failCode: number;
        intervalMs: number;
      };
      const echo = msg('acme.echo.v1.EchoMessage');
      let i = 0;
      let stopped = false;
      call.on('cancelled', () => {
        stopped = true;
        cancelled.push(call.getPath());
      });
      backend.expandSent = 0;
      const next = (): void => {
        if (stopped) return;
        if (i < r.count) {
          if (i === 0) call.sendMetadata(headers);
          const room = call.write(Buffer.from(toBinary(echo, create(echo, { name: r.text, small: i++ } as never))));
          backend.expandSent = i;
          if (r.intervalMs > 0) setTimeout(next, r.intervalMs);
          else if (room) setImmediate(next);
          else call.once('drain', next);
          return;
        }
        if (r.count === 0 && !r.failCode) call.sendMetadata(headers);
        if (r.failCode) call.emit('error', failure(registry, r.failCode, 'stream failed', true));
        else call.end(trailer());
      };
      next();
    },
    Collect: (call: grpc.ServerReadableStream<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      count(call.getPath());
      call.on('cancelled', () => cancelled.push(call.getPath()));
      call.sendMetadata(echoHeaders(call.metadata));
      const echo = msg('acme.echo.v1.EchoMessage');
      const messages: unknown[] = [];
      call.on('data', (b: Buffer) => messages.push(fromBinary(echo, b)));
      call.on('end', () => {
        const res = msg('acme.echo.v1.CollectResponse');
        callback(null, Buffer.from(toBinary(res, create(res, { messages } as never))), trailer());
      });
    },
    Chat: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
      count(call.getPath());
      call.sendMetadata(echoHeaders(call.metadata));
      const echo = msg('acme.echo.v1.EchoMessage');
      call.on('cancelled', () => cancelled.push(call.getPath()));
      call.on('data', (b: Buffer) => {
        const m = fromBinary(echo, b) as unknown as { name: string; small: number };
        if (m.name === 'fail') call.emit('error', failure(registry, m.small || 10, 'stream failed', true));
        else call.write(b);
      });
      call.on('end', () => call.end(trailer()));
    },
  };

  const definition: Record<string, grpc.MethodDefinition<Buffer, Buffer>> = {};
  for (const m of service.methods) {
    definition[m.name] = {
      path: `/${SERVICE}/${m.name}`,
      requestStream: m.methodKind === 'client_streaming' || m.methodKind === 'bidi_streaming',
      responseStream: m.methodKind === 'server_streaming' || m.methodKind === 'bidi_streaming',
      requestSerialize: bytesIn,
      requestDeserialize: bytesIn,
      responseSerialize: bytesIn,
      responseDeserialize: bytesIn,
    };
  }
  server.addService(definition, handlers);
  for (const shapes of CONFORMANCE_SERVICES) addConformanceService(server, registry.getService(shapes)!, echoHeaders, trailer, cancelled);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${listenPort}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return Object.assign(backend, { port, target: `127.0.0.1:${port}` });
}

/** Test-only services of proto/acme/conformance: HttpRule shapes over acme.echo.v1 messages. */
const CONFORMANCE_SERVICES = ['acme.conformance.v1.ShapesService', 'acme.conformance.v1.UnservableService'];

/**
 * Serves every method of a conformance service from its requests alone: unary echoes the
 * request, a client stream answers acme.echo.v1.CollectResponse of what it received, bidi
 * sends each message back, or fails (ABORTED, with details) on one whose `nested.value` is
 * "fail". Cancelled bidi calls are recorded in `cancelled`.
 */
function addConformanceService(
  server: grpc.Server,
  service: DescService,
  echoHeaders: (md: grpc.Metadata) => grpc.Metadata,
  trailer: () => grpc.Metadata,
  cancelled: string[],
): void {
  const registry = echoRegistry();
  const collect = registry.getMessage('acme.echo.v1.CollectResponse')!;
  const echo = registry.getMessage('acme.echo.v1.EchoMessage')!;
  const definition: Record<string, grpc.MethodDefinition<Buffer, Buffer>> = {};
  const handlers: Record<string, grpc.UntypedHandleCall> = {};
  for (const m of service.methods) {
    const clientStream = m.methodKind === 'client_streaming' || m.methodKind === 'bidi_streaming';
    const serverStream = m.methodKind === 'server_streaming' || m.methodKind === 'bidi_streaming';
    definition[m.name] = {
      path: `/${service.typeName}/${m.name}`,
      requestStream: clientStream,
      responseStream: serverStream,
      requestSerialize: bytesIn,
      requestDeserialize: bytesIn,
      responseSerialize: bytesIn,
      responseDeserialize: bytesIn,
    };
    if (m.methodKind === 'unary') {
      handlers[m.name] = (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
        call.sendMetadata(echoHeaders(call.metadata));
        callback(null, call.request, trailer());
      };
    } else if (m.methodKind === 'client_streaming') {
      handlers[m.name] = (call: grpc.ServerReadableStream<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
        call.sendMetadata(echoHeaders(call.metadata));
        const messages: unknown[] = [];
        call.on('data', (b: Buffer) => messages.push(fromBinary(echo, b)));
        call.on('end', () => callback(null, Buffer.from(toBinary(collect, create(collect, { messages } as never))), trailer()));
      };
    } else {
      handlers[m.name] = (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
        call.sendMetadata(echoHeaders(call.metadata));
        call.on('cancelled', () => cancelled.push(call.getPath()));
        call.on('data', (b: Buffer) => {
          const m = fromBinary(echo, b) as unknown as { nested?: { value: string } };
          if (m.nested?.value === 'fail') call.emit('error', failure(registry, grpc.status.ABORTED, 'bidi failed', true));
          else call.write(b);
        });
        call.on('end', () => call.end(trailer()));
      };
    }
  }
  server.addService(definition, handlers);
}

/** A ServiceError whose grpc-status-details-bin holds BadRequest and ErrorInfo when asked. */
function failure(registry: FileRegistry, code: number, message: string, withDetails: boolean): grpc.ServiceError {
  const metadata = new grpc.Metadata();
  if (withDetails) {
    const badRequest = registry.getMessage('google.rpc.BadRequest')!;
    const errorInfo = registry.getMessage('google.rpc.ErrorInfo')!;
    const status = registry.getMessage('google.rpc.Status')!;
    const details = [
      anyPack(badRequest, create(badRequest, { fieldViolations: [{ field: 'name', description: 'too short' }] } as never)),
      anyPack(errorInfo, create(errorInfo, { reason: 'ECHO_FAILED', domain: 'echo.acme.dev', metadata: { k: 'v' } } as never)),
    ];
    metadata.set('grpc-status-details-bin', Buffer.from(toBinary(status, create(status, { code, message, details } as never))));
  }
  return Object.assign(new Error(message), { code, details: message, metadata });
}
