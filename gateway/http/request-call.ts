/**
 * An HTTP/1 request bound to its route, as the pipeline's Call: built in one place for the
 * Fastify plugin and the unary fast path, so both hand the pipeline the same thing (and V8 one
 * object shape).
 */
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { Call, MessageSource, ResponseSink } from '../pipeline';
import type { Route } from '../transcode';
import type { MetadataMapper } from '../upstream/metadata';
import type { Cancellation } from '../upstream/transport';

/** The parts of the request the route's match and body reading produced. */
export interface RequestParts {
  /** Path variable values, in the route template's order. */
  readonly values: readonly string[];
  /** The raw query string, without `?`. */
  readonly rawQuery: string;
  readonly body: Buffer | undefined;
  readonly input?: MessageSource;
  readonly sink?: ResponseSink;
}

/** The Call for `req` on `route`; `signal` is aborted when the client goes away. */
export function requestCall(route: Route, req: IncomingMessage, metadata: MetadataMapper, signal: Cancellation, parts: RequestParts): Call {
  const headers = req.headers;
  return {
    route,
    headers,
    metadata: metadata.incoming(headers, {
      remoteAddress: req.socket.remoteAddress,
      host: headers.host,
      // As Fastify's request.protocol (no trustProxy): the socket's own.
      protocol: (req.socket as TLSSocket).encrypted ? 'https' : 'http',
    }),
    deadline: undefined,
    signal,
    values: parts.values,
    rawQuery: parts.rawQuery,
    body: parts.body,
    input: parts.input,
    contentType: headers['content-type'],
    request: undefined,
    messages: undefined,
    sink: parts.sink,
  };
}
