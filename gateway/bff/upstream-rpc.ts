/**
 * How a local handler calls an upstream method: through the same upstream-side policies as
 * the method's own routes (breaker, bulkhead, retries, tracing's CLIENT span, upstream
 * metrics) and the service's transport, compiled once at start-up (app.ts builds the
 * handlers). So an open breaker for a service fails its part at once, a retry budget is
 * shared with the transcoded routes, and /metrics counts these calls like any other.
 *
 * Each call is a Call of its own: the caller's metadata (authorization, trace context,
 * request id, forwarded-for), its own deadline and cancellation; the request's headers
 * object, so tracing parents the CLIENT span on the request's server span.
 */
import { fromBinary, toBinary, type DescMessage, type Message } from '@bufbuild/protobuf';
import { resiliencePolicyFor, type ResilienceConfig } from '../config';
import { warnSummarized } from '../observability/failure-summary';
import type { Call, Handler } from '../pipeline';
import type { Route } from '../transcode';
import { gatewayFailure } from '../upstream/upstream-failure';
import { CallError, type Cancellation, type UnaryResult } from '../upstream/transport';

/** Where and until when a part's upstream calls run. */
export interface PartScope {
  /** Absolute deadline (Date.now() ms) of the part; undefined = none. */
  readonly deadline: number | undefined;
  /** Aborted when the part is given up (the request left, the primary failed, the part's deadline). */
  readonly signal: Cancellation;
}

/** One upstream unary method, callable with messages. */
export interface UpstreamRpc {
  readonly service: string;
  readonly input: DescMessage;
  readonly output: DescMessage;
  /** Calls it for the request `parent` within `scope`; rejects with a GatewayError or an upstream CallError. */
  call(parent: Call, request: Message, scope: PartScope): Promise<Message>;
}

/** Finds an upstream method by `service` and `method` name; throws at start-up when it is not served. */
export type UpstreamRpcs = (service: string, method: string) => UpstreamRpc;

interface Log {
  warn(obj: object, msg: string): void;
}

const NO_VALUES: readonly string[] = Object.freeze([]);

/**
 * The upstream methods of `handlers` (remote routes, each compiled with the upstream-side
 * policies only): one entry per RPC, from its first route.
 */
export function upstreamRpcs(handlers: ReadonlyMap<Route, Handler>, resilience: ResilienceConfig, log: Log): UpstreamRpcs {
  const byPath = new Map<string, UpstreamRpc>();
  for (const [route, handler] of handlers) {
    const { rpc } = route;
    if (rpc.kind !== 'unary' || byPath.has(rpc.grpcPath)) continue;
    const timeoutMs = resiliencePolicyFor(resilience, rpc.service, rpc.name).timeoutMs;
    byPath.set(rpc.grpcPath, {
      service: rpc.service,
      input: rpc.input,
      output: rpc.output,
      async call(parent, request, scope) {
        const deadline = timeoutMs > 0 ? Math.min(scope.deadline ?? Infinity, Date.now() + timeoutMs) : scope.deadline;
        const call: Call = {
          route,
          headers: parent.headers,
          metadata: parent.metadata.slice(),
          deadline,
          signal: scope.signal,
          values: NO_VALUES,
          rawQuery: '',
          body: undefined,
          contentType: undefined,
          request: toBinary(rpc.input, request),
          input: undefined,
          messages: undefined,
          sink: undefined,
        };
        let result: UnaryResult;
        try {
          result = (await handler(call)) as UnaryResult;
        } catch (err) {
          throw ownFailure(err, rpc.service, log);
        }
        return fromBinary(rpc.output, result.message);
      },
    });
  }
  return (service, method) => {
    const rpc = byPath.get(`/${service}/${method}`);
    if (rpc === undefined) throw new Error(`${service}/${method} is not served by an upstream (configure one for ${service})`);
    return rpc;
  };
}

/**
 * A failure the gateway made itself (connection refused, its own deadline) becomes the
 * catalogue error naming the service, as errorReply does for a route, and is logged
 * (summarised) with the transport's words; any other error passes as it is.
 */
function ownFailure(err: unknown, service: string, log: Log): unknown {
  if (!(err instanceof CallError)) return err;
  const s = err.status;
  const own = gatewayFailure(s, service);
  if (own === undefined) return err;
  warnSummarized(log, `${service}|${s.code}|${s.message}|local`, { service, code: s.code, cause: s.message }, 'upstream call of a local handler failed');
  return own;
}
