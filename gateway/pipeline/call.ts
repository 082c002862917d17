/**
 * The call that flows through the pipeline: one HTTP request bound to one RPC, from the
 * Fastify adapter to the transport. Framework-free: no Fastify and no gRPC client types, so
 * interceptors (auth, deadline, resilience, and later tracing, metrics, rate limits, local
 * BFF handlers) are plain functions tested without a server.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Route } from '../transcode';
import type { Cancellation, CallStatus, Metadata, ResponseFlow, StreamSink, UnaryResult } from '../upstream/transport';
import type { MessageSource } from './message-source';

/** The shapes of gRPC calls (google.protobuf.MethodDescriptorProto's streaming flags). */
export type CallKind = Route['rpc']['kind'];

/**
 * One call. It is also the transport's CallOptions (deadline, metadata, signal), so the
 * last handler passes it through without copying. Fields an interceptor may change are
 * mutable; the rest describe the request and stay as the adapter made them.
 */
export interface Call {
  readonly route: Route;
  /** The HTTP request's headers (lower-case names), for policies that read them. */
  readonly headers: IncomingHttpHeaders;
  /** Request metadata for the upstream; interceptors may append (tracing, auth context). */
  metadata: Metadata;
  /** Absolute deadline (Date.now() ms), set by the deadline interceptor; undefined = none. */
  deadline: number | undefined;
  /** Aborted when the HTTP client goes away; the transport cancels the upstream call. */
  readonly signal: Cancellation;
  /** Path variable values, in the route template's order. */
  readonly values: readonly string[];
  /** The raw query string (without `?`). */
  readonly rawQuery: string;
  /** The request body as bytes, when there is one (unary and server-streaming calls). */
  readonly body: Buffer | undefined;
  /**
   * Client- and bidi-streaming: the request messages' JSON texts as the adapter receives them
   * (NDJSON lines, WebSocket frames); undefined for other calls. Read it through encodeMessages().
   */
  readonly input: MessageSource | undefined;
  /** The request's content-type header. */
  readonly contentType: string | undefined;
  /**
   * The encoded request message (unary, server-streaming), built on first need by
   * encodeRequest() so a call refused earlier (auth, open breaker) never parses its body.
   */
  request: Uint8Array | undefined;
  /**
   * The encoded request messages (client- and bidi-streaming), encoded one by one as the
   * upstream call pulls them: encodeMessages() makes it from `input`. An interceptor that
   * checks or rewrites each message wraps it (see edge/request-validation.ts).
   */
  messages: AsyncIterable<Uint8Array> | undefined;
  /** Server- and bidi-streaming: where response headers, messages and the end go. */
  readonly sink: ResponseSink | undefined;
  /**
   * The `sub` claim of the caller's bearer token once edge auth has verified it (auth
   * `jwt`); unset without a token or with auth off. Local handlers (gateway/bff/) read it.
   */
  subject?: string;
  /**
   * The upstream attempt being made (1 = the first; unset until a retry): the retry loop
   * (upstream/resilience.ts) sets it before each retry, for the per-attempt interceptors
   * inside it (metrics counts retries by it).
   */
  attempt?: number;
}

/**
 * Where a stream's responses go. onMessage may answer false (the HTTP or WebSocket writer
 * is full): the transport then pauses the upstream through HTTP/2 flow control until the
 * sink calls resume() on the flow it was given by onFlow (before any message).
 */
export interface ResponseSink extends StreamSink {
  onFlow(flow: ResponseFlow): void;
}

/** How a server stream ended; its messages went to the call's sink as they came. */
export interface StreamEnd {
  readonly status: CallStatus;
  /** True once the upstream sent response headers (the HTTP answer may then be committed). */
  readonly headersReceived: boolean;
}

/** Unary and client-streaming calls resolve with the response; streams with their end. */
export type Result = UnaryResult | StreamEnd;

/** Runs a call; rejects with a CallError (upstream status) or a GatewayError. */
export type Handler = (call: Call) => Promise<Result>;

/** A policy: wraps the rest of the pipeline (connect-es style). */
export type Interceptor = (next: Handler) => Handler;

/**
 * Decides at start-up whether a policy applies to a route, and compiles it for that route.
 * Returning undefined leaves the route without it, so a route pays only for its policies.
 */
export type InterceptorFactory = (route: Route) => Interceptor | undefined;
