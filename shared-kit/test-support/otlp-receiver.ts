/**
 * A real OTLP/HTTP trace receiver on loopback for tests: accepts `POST /v1/traces` with an
 * `application/x-protobuf` ExportTraceServiceRequest, decodes the fields the tests read
 * (opentelemetry/proto/collector/trace/v1/trace_service.proto and trace/v1/trace.proto,
 * field numbers from there) and answers an empty ExportTraceServiceResponse, as a collector does.
 */
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';

/** One exported span, flattened with its resource's service.name. */
export interface ReceivedSpan {
  service: string;
  scope: string;
  traceId: string;
  spanId: string;
  /** '' for a root span. */
  parentSpanId: string;
  name: string;
  /** 1 internal, 2 server, 3 client (SpanKind in trace.proto). */
  kind: number;
  attributes: Record<string, string | number | boolean>;
  events: { name: string; attributes: Record<string, string | number | boolean> }[];
  /** Status code: 0 unset, 1 ok, 2 error. */
  statusCode: number;
}

export interface OtlpReceiver {
  /** `http://127.0.0.1:<port>`: the value for OTEL_EXPORTER_OTLP_ENDPOINT. */
  readonly endpoint: string;
  readonly spans: ReceivedSpan[];
  /** Requests received, counted even when they decode to nothing. */
  readonly requests: number;
  /** Resolves once `found` returns a value for the spans so far; fails after `timeoutMs` listing what came. */
  until<T>(what: string, found: (spans: ReceivedSpan[]) => T | undefined, timeoutMs?: number): Promise<T>;
  close(): Promise<void>;
}

/** Starts a receiver on 127.0.0.1, port 0. */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const waiters = new Set<() => void>();
  let requests = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') {
        res.writeHead(404).end();
        return;
      }
      requests++;
      try {
        spans.push(...decodeExportRequest(Buffer.concat(chunks)));
      } catch (err) {
        res.writeHead(400, { 'content-type': 'text/plain' }).end(String(err));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      for (const wake of waiters) wake();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    spans,
    get requests() {
      return requests;
    },
    until<T>(what: string, found: (s: ReceivedSpan[]) => T | undefined, timeoutMs = 15_000): Promise<T> {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const value = found(spans);
          if (value === undefined) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(value);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          const seen = spans.map((s) => `${s.service} ${s.name} kind=${s.kind} trace=${s.traceId} span=${s.spanId} parent=${s.parentSpanId}`);
          reject(new Error(`timed out waiting for ${what}; spans received:\n${seen.join('\n')}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A collector that accepts connections and never answers: every export hangs until its timeout. */
export interface SilentCollector {
  /** `http://127.0.0.1:<port>`: the value for OTEL_EXPORTER_OTLP_ENDPOINT. */
  readonly endpoint: string;
  /** Connections accepted so far (an exporter that tried). */
  readonly connections: number;
  close(): Promise<void>;
}

/** Starts a silent collector on 127.0.0.1, port 0. */
export async function startSilentCollector(): Promise<SilentCollector> {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server = createTcpServer((s) => {
    connections++;
    sockets.add(s);
    s.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get connections() {
      return connections;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

type Attributes = Record<string, string | number | boolean>;

/** ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; } */
export function decodeExportRequest(bytes: Uint8Array): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  eachField(bytes, (field, r) => {
    if (field !== 1) return false;
    decodeResourceSpans(r.bytes(), out);
    return true;
  });
  return out;
}

/** ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; } */
function decodeResourceSpans(bytes: Uint8Array, out: ReceivedSpan[]): void {
  let service = '';
  const scopes: Uint8Array[] = [];
  eachField(bytes, (field, r) => {
    if (field === 1) {
      // Resource { repeated KeyValue attributes = 1; }
      const attrs: Attributes = {};
      eachField(r.bytes(), (f, rr) => (f === 1 ? (readKeyValue(rr.bytes(), attrs), true) : false));
      service = String(attrs['service.name'] ?? '');
      return true;
    }
    if (field === 2) return scopes.push(r.bytes()) > 0;
    return false;
  });
  for (const scopeSpans of scopes) {
    // ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; }
    let scope = '';
    const spans: Uint8Array[] = [];
    eachField(scopeSpans, (field, r) => {
      if (field === 1) {
        eachField(r.bytes(), (f, rr) => (f === 1 ? ((scope = rr.string()), true) : false));
        return true;
      }
      if (field === 2) return spans.push(r.bytes()) > 0;
      return false;
    });
    for (const s of spans) out.push(decodeSpan(s, service, scope));
  }
}

/** Span { trace_id = 1; span_id = 2; parent_span_id = 4; name = 5; kind = 6; attributes = 9; events = 11; status = 15; } */
function decodeSpan(bytes: Uint8Array, service: string, scope: string): ReceivedSpan {
  const span: ReceivedSpan = { service, scope, traceId: '', spanId: '', parentSpanId: '', name: '', kind: 0, attributes: {}, events: [], statusCode: 0 };
  eachField(bytes, (field, r) => {
    switch (field) {
      case 1:
        span.traceId = Buffer.from(r.bytes()).toString('hex');
        return true;
      case 2:
        span.spanId = Buffer.from(r.bytes()).toString('hex');
        return true;
      case 4:
        span.parentSpanId = Buffer.from(r.bytes()).toString('hex');
        return true;
      case 5:
        span.name = r.string();
        return true;
      case 6:
        span.kind = r.int32();
        return true;
      case 9:
        readKeyValue(r.bytes(), span.attributes);
        return true;
      case 11: {
        // Event { time_unix_nano = 1; name = 2; attributes = 3; }
        const event = { name: '', attributes: {} as Attributes };
        eachField(r.bytes(), (f, rr) => {
          if (f === 2) event.name = rr.string();
          else if (f === 3) readKeyValue(rr.bytes(), event.attributes);
          else return false;
          return true;
        });
        span.events.push(event);
        return true;
      }
      case 15:
        // Status { message = 2; code = 3; }
        eachField(r.bytes(), (f, rr) => (f === 3 ? ((span.statusCode = rr.int32()), true) : false));
        return true;
      default:
        return false;
    }
  });
  return span;
}

/** KeyValue { string key = 1; AnyValue value = 2; } with AnyValue { string = 1; bool = 2; int = 3; double = 4; } */
function readKeyValue(bytes: Uint8Array, into: Attributes): void {
  let key = '';
  let value: string | number | boolean = '';
  eachField(bytes, (field, r) => {
    if (field === 1) key = r.string();
    else if (field === 2) {
      eachField(r.bytes(), (f, rr) => {
        if (f === 1) value = rr.string();
        else if (f === 2) value = rr.bool();
        else if (f === 3) value = Number(rr.int64());
        else if (f === 4) value = rr.double();
        else return false;
        return true;
      });
    } else return false;
    return true;
  });
  into[key] = value;
}

/** Calls `read` for each field; a field it does not consume (returns false) is skipped. */
function eachField(bytes: Uint8Array, read: (field: number, r: BinaryReader) => boolean): void {
  const r = new BinaryReader(bytes);
  while (r.pos < r.len) {
    const [field, wireType] = r.tag();
    if (!read(field, r)) r.skip(wireType as WireType);
  }
}
