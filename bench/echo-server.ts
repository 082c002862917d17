/**
 * The bench backend: a minimal @grpc/grpc-js server for acme.echo.v1.EchoService, in its own
 * process. Unlike gateway/test-support/echo-backend.ts it does no per-call work beyond the
 * RPC itself (no metadata echo, no trailers, no dynamic messages): Echo answers with the
 * request bytes, Expand streams `count` pre-encoded EchoMessage {name: text, small: i}, and
 * acme.conformance.v1.ShapesService/Chat (bidi) sends each message back (streams past 16 MB, the
 * slow-reader bench's, are encoded as sent, and `expand-sent` over IPC tells what the latest Expand
 * has written so far). So
 * every target in the bench pays the same, small, backend cost.
 */
import * as grpc from '@grpc/grpc-js';
import { EchoMessage, ExpandRequest } from '../gen/acme/echo/v1/echo';
import { announceReady, serveRequests } from './ipc';
import { windowStatsHandlers } from './process-stats';

const SERVICE = 'acme.echo.v1.EchoService';
const SHAPES = 'acme.conformance.v1.ShapesService';
const bytes = (b: Buffer): Buffer => b;
const method = (name: string, responseStream: boolean, requestStream = false, service = SERVICE): grpc.MethodDefinition<Buffer, Buffer> => ({
  path: `/${service}/${name}`,
  requestStream,
  responseStream,
  requestSerialize: bytes,
  requestDeserialize: bytes,
  responseSerialize: bytes,
  responseDeserialize: bytes,
});

/** Encoded stream messages, per (count, text): the bench asks for the same stream over and over. */
const streams = new Map<string, Buffer[]>();
/** Streams larger than this are encoded message by message as sent (the slow-reader bench's 100 MB). */
const CACHED_STREAM_BYTES = 16 * 1024 * 1024;
/** What the latest Expand call has written so far (write() accepted), for the slow-reader bench. */
const expandSent = { messages: 0, bytes: 0 };

const encodeMessage = (text: string, i: number): Buffer => Buffer.from(EchoMessage.encode(EchoMessage.create({ name: text, small: i })).finish());

function streamMessages(count: number, text: string): Buffer[] {
  const key = `${count}\0${text}`;
  let out = streams.get(key);
  if (!out) {
    out = [];
    for (let i = 0; i < count; i++) out.push(encodeMessage(text, i));
    if (streams.size < 64) streams.set(key, out);
  }
  return out;
}

function expand(call: grpc.ServerWritableStream<Buffer, Buffer>): void {
  const req = ExpandRequest.decode(call.request);
  const large = req.count * req.text.length > CACHED_STREAM_BYTES;
  const messages = large ? undefined : streamMessages(req.count, req.text);
  const at = (i: number): Buffer => messages?.[i] ?? encodeMessage(req.text, i);
  let i = 0;
  let cancelled = false;
  expandSent.messages = expandSent.bytes = 0;
  call.on('cancelled', () => {
    cancelled = true;
  });
  const pump = (): void => {
    while (i < req.count && !cancelled) {
      const m = at(i++);
      expandSent.messages++;
      expandSent.bytes += m.length;
      if (!call.write(m)) {
        call.once('drain', pump);
        return;
      }
    }
    if (!cancelled) call.end();
  };
  pump();
}

async function main(): Promise<void> {
  const server = new grpc.Server();
  server.addService(
    { Echo: method('Echo', false), Expand: method('Expand', true) },
    {
      Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => callback(null, call.request),
      Expand: expand,
    },
  );
  // Bidi for the WebSocket bench (case 8): acme.conformance.v1.ShapesService/Chat sends each message back.
  server.addService(
    { Chat: method('Chat', true, true, SHAPES) },
    {
      Chat: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
        call.on('data', (b: Buffer) => call.write(b));
        call.on('end', () => call.end());
      },
    },
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  serveRequests(
    { ...windowStatsHandlers(), 'expand-sent': () => ({ ...expandSent }) },
    () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  );
  announceReady({ port });
}

main().catch((err: unknown) => {
  console.error('echo-server:', err);
  process.exit(1);
});
