/**
 * The hand-written reference proxy, in its own process: a minimal Fastify server with one
 * route per bench case, calling the backend with @grpc/grpc-js through the generated ts-proto
 * client (static codecs) and the hand-written JSON mapping of echo-json.ts. No descriptors,
 * no route trie, no transcoding layer: the baseline the gateway is measured against.
 */
import * as grpc from '@grpc/grpc-js';
import Fastify, { type FastifyReply } from 'fastify';
import { type EchoMessage, EchoServiceClient, ExpandRequest } from '../gen/acme/echo/v1/echo';
import { BadJson, echoFromJson, echoToJson, int64FromJson, kindFromJson } from './echo-json';
import { announceReady, argValue, serveRequests } from './ipc';
import { windowStatsHandlers } from './process-stats';

// gRPC codes → HTTP, the few a proxy like this maps.
const HTTP_STATUS: Record<number, number> = { 3: 400, 4: 504, 5: 404, 7: 403, 14: 503, 16: 401 };

function callEcho(client: EchoServiceClient, message: EchoMessage, reply: FastifyReply): Promise<void> {
  return new Promise((resolve) => {
    client.echo(message, (err, res) => {
      if (err) void reply.code(HTTP_STATUS[err.code] ?? 500).send({ code: err.code, message: err.details });
      else void reply.header('content-type', 'application/json').send(JSON.stringify(echoToJson(res)));
      resolve();
    });
  });
}

async function main(): Promise<void> {
  const backend = argValue('backend');
  if (!backend) throw new Error('usage: proxy-server --backend host:port');
  const client = new EchoServiceClient(backend, grpc.credentials.createInsecure());
  const app = Fastify({ logger: false, bodyLimit: 4 * 1024 * 1024 });
  app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
    const status = err instanceof BadJson ? 400 : (err.statusCode ?? 500);
    void reply.code(status).send({ message: err.message });
  });

  // Case 1: GET /v1/echo/{id}?name=&small=&kind=
  app.get<{ Params: { id: string }; Querystring: Record<string, string> }>('/v1/echo/:id', (req, reply) => {
    const q = req.query;
    const m = echoFromJson({});
    m.id = int64FromJson(req.params.id);
    if (q.name !== undefined) m.name = q.name;
    if (q.small !== undefined) m.small = Number(q.small) | 0;
    if (q.kind !== undefined) m.kind = kindFromJson(q.kind);
    return callEcho(client, m, reply);
  });

  // Cases 2 and 3: POST /v1/echo with body "*".
  app.post('/v1/echo', (req, reply) => callEcho(client, echoFromJson(req.body as Record<string, unknown>), reply));

  // Case 4: GET /v1/expand?count= as NDJSON, one {"result": ...} line per message (grpc-gateway framing).
  app.get<{ Querystring: Record<string, string> }>('/v1/expand', (req, reply) => {
    const count = Number(req.query.count ?? 0) | 0;
    reply.hijack();
    const res = reply.raw;
    const call = client.expand(ExpandRequest.create({ count }));
    let started = false;
    const start = (): void => {
      if (started) return;
      started = true;
      res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-cache' });
    };
    call.on('data', (m: EchoMessage) => {
      start();
      res.write(`{"result":${JSON.stringify(echoToJson(m))}}\n`);
    });
    call.on('end', () => {
      if (res.destroyed || res.writableEnded) return;
      start();
      res.end();
    });
    call.on('error', (err: grpc.ServiceError) => {
      if (res.destroyed) return; // the client hung up: the call was cancelled
      if (!started) {
        started = true;
        res.writeHead(HTTP_STATUS[err.code] ?? 500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ code: err.code, message: err.details }));
      } else res.end(`{"error":${JSON.stringify({ code: err.code, message: err.details })}}\n`);
    });
    res.on('close', () => {
      if (!res.writableFinished) call.cancel();
    });
  });

  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  serveRequests(windowStatsHandlers(), async () => {
    await app.close();
    client.close();
  });
  announceReady({ port: typeof address === 'object' && address ? address.port : 0 });
}

main().catch((err: unknown) => {
  console.error('proxy-server:', err);
  process.exit(1);
});
