/**
 * The HTTP bench cases, each with the gRPC call it transcodes to, so the direct client makes
 * exactly the call the gateway and the proxy make. Request bodies are built once here.
 */
import { EchoMessage, ExpandRequest } from '../gen/acme/echo/v1/echo';
import { echoFromJson } from './echo-json';
import type { NdjsonBidiCase } from './ndjson-bidi-load';
import type { WsCase } from './ws-load';

export type CaseId = 'get-unary' | 'post-small' | 'post-64k' | 'stream-1000' | 'post-1k' | 'ws-stream-1000' | 'ws-bidi-echo' | 'http-bidi-echo';

export interface BenchCase {
  /** 1-based number, as in the issue and on the command line (--cases=1,2). */
  readonly n: number;
  readonly id: CaseId;
  readonly title: string;
  readonly http: { method: 'GET' | 'POST'; path: string; body?: string; headers?: Record<string, string> };
  /** The gRPC call it transcodes to (acme.echo.v1 cases only: the direct client makes it). */
  readonly grpc?: { path: string; streaming: boolean; request: Uint8Array };
  /** Messages per call: 1 for unary, the stream length for case 4 (rates are then messages/s). */
  readonly messagesPerCall: number;
  /** A WebSocket case (ws-load.ts): `http.path` is the upgrade's path; only gateway targets (and direct) run it. */
  readonly ws?: WsCase;
  /** An HTTP/1.1 bidi case (ndjson-bidi-load.ts): one streamed POST per connection; only gateway targets run it. */
  readonly httpBidi?: NdjsonBidiCase;
}

/** Case 8's and 9's message: EchoMessage.nested of the Chat binding (body "nested"). */
const CHAT_MESSAGE = JSON.stringify({ value: 'hello', inner: { value: 'deep', count: '7' } });

const ECHO = '/acme.echo.v1.EchoService/Echo';
const EXPAND = '/acme.echo.v1.EchoService/Expand';
const JSON_HEADERS = { 'content-type': 'application/json' };

const encodeEcho = (json: Record<string, unknown>): Uint8Array => EchoMessage.encode(echoFromJson(json)).finish();

/** ~150 bytes: an int64 as a string, a repeated string, a nested message. */
export const SMALL_BODY = JSON.stringify({
  id: '9007199254740993',
  name: 'widget-42',
  kind: 'KIND_TWO',
  tags: ['alpha', 'beta', 'gamma'],
  nested: { value: 'hello', inner: { value: 'deep', count: '7' } },
});

/** A 64 KiB JSON body: strings, int64s and a nested message, as a bulk write would carry. */
export function largeBody(target = 64 * 1024): string {
  const tags: string[] = [];
  const numbers: string[] = [];
  const items: string[] = [];
  const doc = { id: '1234567890123', name: 'bulk-upload', kind: 'KIND_ONE', tags, numbers, nested: { value: 'batch', items } };
  let seed = 7;
  const rnd = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
  for (let i = 0; JSON.stringify(doc).length < target - 64; i++) {
    if (i % 4 === 0) numbers.push(String(rnd() * 4096 + rnd()));
    else if (i % 4 === 3) items.push(`item-${rnd().toString(36)}`);
    else tags.push(`tag-${i}-${rnd().toString(36)}-${rnd().toString(36)}`);
  }
  return JSON.stringify(doc);
}

/** All cases, in order. */
export function benchCases(): BenchCase[] {
  const large = largeBody();
  const oneK = largeBody(1024);
  return [
    {
      n: 1,
      id: 'get-unary',
      title: 'GET /v1/echo/{id}?name&small&kind',
      http: { method: 'GET', path: '/v1/echo/12345?name=bench-item&small=25&kind=KIND_ONE' },
      grpc: { path: ECHO, streaming: false, request: encodeEcho({ id: '12345', name: 'bench-item', small: 25, kind: 'KIND_ONE' }) },
      messagesPerCall: 1,
    },
    {
      n: 2,
      id: 'post-small',
      title: `POST /v1/echo ${SMALL_BODY.length} B body`,
      http: { method: 'POST', path: '/v1/echo', body: SMALL_BODY, headers: JSON_HEADERS },
      grpc: { path: ECHO, streaming: false, request: encodeEcho(JSON.parse(SMALL_BODY)) },
      messagesPerCall: 1,
    },
    {
      n: 3,
      id: 'post-64k',
      title: `POST /v1/echo ${Math.round(large.length / 1024)} KiB body`,
      http: { method: 'POST', path: '/v1/echo', body: large, headers: JSON_HEADERS },
      grpc: { path: ECHO, streaming: false, request: encodeEcho(JSON.parse(large)) },
      messagesPerCall: 1,
    },
    {
      n: 4,
      id: 'stream-1000',
      title: 'GET /v1/expand?count=1000 (NDJSON)',
      http: { method: 'GET', path: '/v1/expand?count=1000' },
      grpc: { path: EXPAND, streaming: true, request: ExpandRequest.encode(ExpandRequest.create({ count: 1000 })).finish() },
      messagesPerCall: 1000,
    },
    {
      // The transcoding issue's "1 KB POST", measured beside the performance issue's four cases.
      n: 6,
      id: 'post-1k',
      title: `POST /v1/echo ${Math.round(oneK.length / 1024)} KiB body`,
      http: { method: 'POST', path: '/v1/echo', body: oneK, headers: JSON_HEADERS },
      grpc: { path: ECHO, streaming: false, request: encodeEcho(JSON.parse(oneK)) },
      messagesPerCall: 1,
    },
    {
      // Case 4's stream over WebSocket: a {"result"} text frame per message, close 1000.
      n: 7,
      id: 'ws-stream-1000',
      title: 'WebSocket /v1/expand?count=1000 (server stream)',
      http: { method: 'GET', path: '/v1/expand?count=1000' },
      grpc: { path: EXPAND, streaming: true, request: ExpandRequest.encode(ExpandRequest.create({ count: 1000 })).finish() },
      messagesPerCall: 1000,
      ws: { mode: 'server-stream' },
    },
    {
      // Bidi echo over WebSocket (acme.conformance.v1.ShapesService/Chat, body "nested"): each
      // socket keeps one message in flight for the window; a request is one message round trip.
      n: 8,
      id: 'ws-bidi-echo',
      title: 'WebSocket /v1/chat/{id} bidi echo, 1 message in flight per socket',
      http: { method: 'GET', path: '/v1/chat/1' },
      messagesPerCall: 1,
      ws: { mode: 'bidi', message: CHAT_MESSAGE, inFlight: 1 },
    },
    {
      // Case 8 over HTTP/1.1, as grpc-gateway serves bidi: each connection is one POST whose
      // chunked NDJSON body is written a line at a time while answer lines stream back.
      n: 9,
      id: 'http-bidi-echo',
      title: 'HTTP/1.1 POST /v1/chat/{id} bidi echo (NDJSON both ways), 1 message in flight per connection',
      http: { method: 'POST', path: '/v1/chat/1' },
      messagesPerCall: 1,
      httpBidi: { message: CHAT_MESSAGE, inFlight: 1 },
    },
  ];
}

/** The Go peers' request body (shared/peers/wrk/echo.lua), for case 2 against bench.v1. */
export const PEER_SMALL_BODY = '{"message":"hello world","number":"1234567890123","tags":["alpha","beta","gamma"],"inner":{"name":"nested","value":42}}';

/** A bench.v1.EchoRequest JSON body of about `target` bytes: tags carry the bulk. */
function peerLargeBody(target: number): string {
  const tags: string[] = [];
  const doc = { message: 'bulk-upload', number: '1234567890123', tags, inner: { name: 'batch', value: 7 } };
  let seed = 7;
  const rnd = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
  for (let i = 0; JSON.stringify(doc).length < target - 48; i++) tags.push(`tag-${i}-${rnd().toString(36)}-${rnd().toString(36)}`);
  return JSON.stringify(doc);
}

/**
 * The cases against the Go peers' bench.v1.EchoService (--peers): the same shapes as cases
 * 1-3 and 6 (GET with path and query; POSTs of ~120 B, 64 KiB and 1 KiB). No stream: the Go
 * backend has none.
 */
export function peerCases(): BenchCase[] {
  const large = peerLargeBody(64 * 1024);
  const oneK = peerLargeBody(1024);
  const post = (n: number, id: CaseId, body: string): BenchCase => ({
    n,
    id,
    title: `POST /v1/echo ${body.length < 2048 ? `${body.length} B` : `${Math.round(body.length / 1024)} KiB`} body (bench.v1)`,
    http: { method: 'POST', path: '/v1/echo', body, headers: JSON_HEADERS },
    messagesPerCall: 1,
  });
  return [
    {
      n: 1,
      id: 'get-unary',
      title: 'GET /v1/items/{id}?view&page_size (bench.v1)',
      http: { method: 'GET', path: '/v1/items/12345?view=full&page_size=25' },
      messagesPerCall: 1,
    },
    post(2, 'post-small', PEER_SMALL_BODY),
    post(3, 'post-64k', large),
    post(6, 'post-1k', oneK),
  ];
}
