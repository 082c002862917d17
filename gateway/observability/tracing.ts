/**
 * The gateway's traces (loaded only when telemetry is enabled; with tracing off nothing here
 * runs, not even a hook). One SERVER span per HTTP request, continuing an incoming W3C
 * `traceparent` (a new trace otherwise), named `<METHOD> <template>` once the route is known,
 * with children for each stage:
 *
 *   GET /v1/users/{id}            SERVER  http.request.method, http.route (the template), url.path,
 *   ├─ route match                        http.response.status_code, rpc.*; events: retry,
 *   ├─ auth                               circuit_open, bulkhead_full
 *   ├─ request transcoding
 *   ├─ acme.user.v1.UserService/GetUser  CLIENT (one per attempt) rpc.system, rpc.service,
 *   │                                    rpc.method, rpc.grpc.status_code; traceparent injected
 *   └─ response transcoding
 *
 * Our h2 transport is invisible to any instrumentation, so the CLIENT span is made here and
 * its context injected into the call's metadata (replacing the forwarded traceparent); the
 * same happens for the grpc-js transport, whose own instrumentation (present when the
 * gateway shares a process with the services, `npm start`) is suppressed for the call, so
 * there is one client span, never two. The trace id goes back in `traceresponse` (W3C Trace
 * Context Level 2) and `X-Trace-Id`.
 *
 * Semantic conventions: https://opentelemetry.io/docs/specs/semconv/http/http-spans/ and
 * https://opentelemetry.io/docs/specs/semconv/rpc/grpc/.
 */
import type { IncomingHttpHeaders } from 'node:http';
import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Context,
  type Span,
  type TextMapGetter,
  type Tracer,
} from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import type { FastifyInstance } from 'fastify';
import { encodeMessages, encodeRequest, type Call, type Interceptor, type InterceptorFactory, type StreamEnd } from '../pipeline';
import { GatewayError } from '../transcode';
import { CallError, type Metadata } from '../upstream/transport';

/** What one traced request carries between the hooks and the interceptors. */
interface RequestTrace {
  readonly span: Span;
  /** The context with the server span: parent of every child span. */
  readonly ctx: Context;
  readonly startedAt: number;
  /** When the pipeline returned a unary result: response transcoding starts there. */
  resultAt: number;
  ended: boolean;
}

const headerGetter: TextMapGetter<IncomingHttpHeaders> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key],
};

/** The traces of requests in flight, keyed by their headers object (which the Call carries). */
const traces = new WeakMap<object, RequestTrace>();

export interface GatewayTracing {
  /** Fastify hooks for the scope holding the transcoding routes: start, answer headers, end. */
  hooks(scope: FastifyInstance): void;
  /** Outermost interceptor: names the server span after the route, times route matching, records refusals. */
  readonly server: InterceptorFactory;
  /** Wraps a policy's factory: a child span from entering the policy until it hands on (or refuses). */
  stage(name: string, factory: InterceptorFactory): InterceptorFactory;
  /** Innermost interceptor (per attempt): request transcoding, the CLIENT span, traceparent injection. */
  readonly client: InterceptorFactory;
  /**
   * A request matched a plain HTTP route (proxy/): names its server span `<METHOD> <template>`
   * and returns the trace headers to send upstream (the server span as parent).
   */
  proxied(headers: IncomingHttpHeaders, method: string, template: string, route: string): Record<string, string> | undefined;
}

/** The gateway's tracing on `tracer`; `grpcJs` when the transport is grpc-js (its instrumentation is suppressed). */
export function gatewayTracing(tracer: Tracer, options: { grpcJs: boolean }): GatewayTracing {
  const child = (t: RequestTrace, name: string, startTime: number, attributes?: Record<string, string | number>): Span =>
    tracer.startSpan(name, { startTime, attributes }, t.ctx);

  return {
    hooks(scope) {
      scope.addHook('onRequest', (request, reply, done) => {
        const parent = propagation.extract(ROOT_CONTEXT, request.headers, headerGetter);
        const url = request.raw.url ?? '/';
        const q = url.indexOf('?');
        const startedAt = Date.now();
        const span = tracer.startSpan(
          request.method,
          {
            kind: SpanKind.SERVER,
            startTime: startedAt,
            attributes: {
              'http.request.method': request.method,
              'url.path': q === -1 ? url : url.slice(0, q),
              'url.scheme': request.protocol,
              'network.protocol.version': request.raw.httpVersion,
              'client.address': request.socket.remoteAddress ?? '',
              ...(request.headers['user-agent'] ? { 'user_agent.original': request.headers['user-agent'] } : {}),
            },
          },
          parent,
        );
        traces.set(request.headers, { span, ctx: trace.setSpan(parent, span), startedAt, resultAt: 0, ended: false });
        // Set on the raw response so they survive both reply.send() and a hijacked stream's writeHead.
        const sc = span.spanContext();
        reply.raw.setHeader('traceresponse', `00-${sc.traceId}-${sc.spanId}-0${sc.traceFlags & 1}`);
        reply.raw.setHeader('x-trace-id', sc.traceId);
        // Every line logged for this request (errors included) carries its trace id; with
        // tracing off no child logger is made and the request line takes it from traceparent.
        request.log = reply.log = request.log.child({ traceId: sc.traceId });
        done();
      });
      scope.addHook('onSend', (request, _reply, payload, done) => {
        const t = traces.get(request.headers);
        if (t && t.resultAt > 0) child(t, 'response transcoding', t.resultAt).end();
        done(null, payload);
      });
      scope.addHook('onResponse', (request, reply, done) => {
        const t = traces.get(request.headers);
        if (t) endServerSpan(t, reply.statusCode);
        done();
      });
    },

    server: (route) => {
      const name = `${route.binding.httpMethod} ${route.binding.path}`;
      const attributes = {
        'http.route': route.binding.path,
        'rpc.system': 'grpc',
        'rpc.service': route.rpc.service,
        'rpc.method': route.rpc.name,
      };
      const streaming = route.rpc.kind === 'server_streaming';
      const interceptor: Interceptor = (next) => async (call) => {
        const t = traces.get(call.headers);
        if (t === undefined) return next(call);
        t.span.updateName(name);
        t.span.setAttributes(attributes);
        child(t, 'route match', t.startedAt, { 'http.route': route.binding.path }).end();
        try {
          const result = await next(call);
          if (streaming) {
            // A stream's response is written by the stream writer (no Fastify reply hooks): end here.
            const end = result as StreamEnd;
            t.span.setAttribute('rpc.grpc.status_code', end.status.code);
            endServerSpan(t, end.status.code === 0 ? 200 : 500);
          } else {
            t.resultAt = Date.now();
          }
          return result;
        } catch (err) {
          recordRefusal(t.span, err);
          if (streaming) endServerSpan(t, err instanceof GatewayError && err.httpStatus ? err.httpStatus : 500);
          throw err;
        }
      };
      return interceptor;
    },

    stage(name, factory) {
      return (route) => {
        const inner = factory(route);
        if (inner === undefined) return undefined;
        return (next) => {
          const handed = new WeakMap<Call, Span>();
          const wrapped = inner(async (call) => {
            handed.get(call)?.end();
            handed.delete(call);
            return next(call);
          });
          return async (call) => {
            const t = traces.get(call.headers);
            if (t === undefined) return wrapped(call);
            const span = tracer.startSpan(name, undefined, t.ctx);
            handed.set(call, span);
            try {
              return await wrapped(call);
            } catch (err) {
              if (handed.has(call)) {
                // Refused by this policy itself.
                span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
                span.end();
              }
              throw err;
            }
          };
        };
      };
    },

    proxied(headers, method, template, route) {
      const t = traces.get(headers);
      if (t === undefined) return undefined;
      t.span.updateName(`${method} ${template}`);
      t.span.setAttributes({ 'http.route': template, 'gateway.http_route': route });
      const carrier: Record<string, string> = {};
      propagation.inject(t.ctx, carrier);
      return carrier;
    },

    client: (route) => {
      const name = route.rpc.grpcPath.slice(1);
      const attributes = { 'rpc.system': 'grpc', 'rpc.service': route.rpc.service, 'rpc.method': route.rpc.name };
      const clientStreaming = route.rpc.kind === 'client_streaming';
      return (next) => async (call) => {
        const t = traces.get(call.headers);
        if (t === undefined) return next(call);
        // Per call, not per request (a local handler makes several upstream calls for one):
        // the retry loop numbers the call's attempts (Call.attempt).
        const attempt = call.attempt ?? 1;
        if (attempt > 1) t.span.addEvent('retry', { 'rpc.attempt': attempt });
        else {
          // Encoded once, before the first attempt; later attempts reuse the bytes.
          const span = tracer.startSpan('request transcoding', undefined, t.ctx);
          try {
            if (clientStreaming) encodeMessages(call);
            else encodeRequest(call);
          } catch (err) {
            span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
            throw err;
          } finally {
            span.end();
          }
        }
        const span = tracer.startSpan(name, { kind: SpanKind.CLIENT, attributes: { ...attributes, 'rpc.attempt': attempt } }, t.ctx);
        const ctx = trace.setSpan(t.ctx, span);
        inject(ctx, call.metadata);
        try {
          const result = options.grpcJs ? await context.with(suppressTracing(ctx), next, undefined, call) : await next(call);
          const code = 'status' in result ? result.status.code : 0;
          span.setAttribute('rpc.grpc.status_code', code);
          if (code !== 0) span.setStatus({ code: SpanStatusCode.ERROR });
          return result;
        } catch (err) {
          if (err instanceof CallError) {
            span.setAttribute('rpc.grpc.status_code', err.status.code);
            span.setStatus({ code: SpanStatusCode.ERROR, message: err.status.message });
          } else {
            span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
          }
          throw err;
        } finally {
          span.end();
        }
      };
    },
  };
}

function endServerSpan(t: RequestTrace, status: number): void {
  if (t.ended) return;
  t.ended = true;
  t.span.setAttribute('http.response.status_code', status);
  // Server spans are errors on 5xx only: a 4xx is the client's (semconv http-spans, status).
  if (status >= 500) t.span.setStatus({ code: SpanStatusCode.ERROR });
  t.span.end();
}

/** Refusals by the resilience policies become events on the server span. */
function recordRefusal(span: Span, err: unknown): void {
  if (err instanceof GatewayError) {
    if (err.reason === 'CIRCUIT_OPEN') span.addEvent('circuit_open', { 'rpc.service': err.metadata.service ?? '' });
    else if (err.reason === 'BULKHEAD_FULL') span.addEvent('bulkhead_full', { 'rpc.service': err.metadata.service ?? '' });
    span.setAttribute('error.type', err.reason);
  } else if (err instanceof CallError) {
    span.setAttribute('rpc.grpc.status_code', err.status.code);
  }
}

/** Puts the client span's traceparent/tracestate in the call's metadata, replacing forwarded ones. */
function inject(ctx: Context, metadata: Metadata): void {
  for (let i = metadata.length - 1; i >= 0; i--) {
    const name = metadata[i][0];
    if (name === 'traceparent' || name === 'tracestate') metadata.splice(i, 1);
  }
  propagation.inject(ctx, metadata, { set: (carrier, key, value) => carrier.push([key, value]) });
}
