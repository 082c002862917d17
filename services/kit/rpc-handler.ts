/**
 * Binds plain async handlers to grpc-js: each call is authenticated per the method's proto
 * policy, then its request is checked against the proto's `buf.validate` rules (the same
 * rules the gateway enforces: defence in depth) plus the service's own checks for what the
 * rules cannot say, every violation answered at once as INVALID_ARGUMENT with a
 * google.rpc.BadRequest; whatever a handler throws becomes a status. A StatusError passes through;
 * anything else is logged and answered INTERNAL with a generic message, so internals never leak.
 */
import {
  status,
  type handleServerStreamingCall,
  type handleUnaryCall,
  type Metadata,
  type MethodDefinition,
  type ServerWritableStream,
  type ServiceError,
} from '@grpc/grpc-js';
import { authenticate, authenticateService } from './auth';
import { databaseStatus } from './database-errors';
import { fromBinary } from '@bufbuild/protobuf';
import { methodPolicy, requestRules } from './descriptors';
import type { ServiceMetrics } from './metrics';
import type { Logger } from '../../shared-kit';
import { invalidArgument, StatusError, statusError, type FieldViolation } from './status-error';
import { SERVICE_ROLE, type ServiceTokenVerifier } from './service-token';
import type { Caller, TokenVerifier } from './token-verifier';

/** What a handler knows about its call besides the request. */
export interface CallContext {
  /** The verified caller; undefined only for anonymous calls to public methods and for services-only methods. */
  caller: Caller | undefined;
  /** The calling service, verified from its service credential; set only on services-only methods (role "service"). */
  service?: string;
  metadata: Metadata;
}

export type UnaryHandler<Req, Res> = (request: Req, ctx: CallContext) => Promise<Res>;
/** A server-streaming handler writes to `call` and resolves when the stream is done. */
export type ServerStreamHandler<Req, Res> = (call: ServerWritableStream<Req, Res>, ctx: CallContext) => Promise<void>;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyMethods = Record<string, MethodDefinition<any, any>>;

type HandlerOf<M> =
  M extends MethodDefinition<infer Req, infer Res> ? (M extends { responseStream: true } ? ServerStreamHandler<Req, Res> : UnaryHandler<Req, Res>) : never;
type GrpcHandlerOf<M> =
  M extends MethodDefinition<infer Req, infer Res>
    ? M extends { responseStream: true }
      ? handleServerStreamingCall<Req, Res>
      : handleUnaryCall<Req, Res>
    : never;

/** One handler per method of the generated service definition. */
export type Handlers<D extends AnyMethods> = { [K in keyof D]: HandlerOf<D[K]> };
/** The grpc-js implementation; assignable to the generated `XxxServiceServer`. */
export type GrpcImplementation<D extends AnyMethods> = { [K in keyof D]: GrpcHandlerOf<D[K]> };

type RequestOf<M> = M extends MethodDefinition<infer Req, infer _Res> ? Req : never;
/** A method's checks beyond its proto rules: the violations they find in a request. */
export type RequestChecks<D extends AnyMethods> = { [K in keyof D]?: (request: RequestOf<D[K]>) => FieldViolation[] };

export interface BindOptions<D extends AnyMethods = AnyMethods> {
  verify: TokenVerifier;
  /** Verifies service credentials for services-only methods; without it those methods refuse every call. */
  verifyService?: ServiceTokenVerifier;
  log: Logger;
  /** What the proto's buf.validate rules cannot express, per method; run with the rules, after authentication. */
  checks?: RequestChecks<D>;
  /** Records every call's status code and latency (grpc_server_*), here once for all handlers. */
  metrics?: ServiceMetrics;
}

/** Adapts `handlers` to grpc-js. Policies and rules are compiled now, so an unknown method or a broken rule fails at start. */
export function bindService<D extends AnyMethods>(definition: D, handlers: Handlers<D>, options: BindOptions<D>): GrpcImplementation<D> {
  const out: Record<string, unknown> = {};
  for (const [name, method] of Object.entries(definition)) {
    if (method.requestStream) throw new Error(`${method.path}: client streaming is not supported by bindService`);
    const policy = methodPolicy(method.path);
    const handler = handlers[name] as (input: unknown, ctx: CallContext) => Promise<unknown>;
    const toError = (err: unknown) => toServiceError(err, method.path, options.log);
    const validate = requestValidator(method, options.checks?.[name] as ((request: unknown) => FieldViolation[]) | undefined);
    const authenticated = policy.roles.includes(SERVICE_ROLE)
      ? async (metadata: Metadata): Promise<CallContext> => ({
          caller: undefined,
          service: await authenticateService(metadata, options.verifyService),
          metadata,
        })
      : async (metadata: Metadata): Promise<CallContext> => ({ caller: await authenticate(metadata, policy, options.verify), metadata });
    const context = async (metadata: Metadata, request: unknown): Promise<CallContext> => {
      const ctx = await authenticated(metadata);
      validate?.(request);
      return ctx;
    };

    const metrics = options.metrics;
    const started = metrics ? () => metrics.start(method.path) : () => noRecord;

    out[name] = method.responseStream
      ? (call: ServerWritableStream<unknown, unknown>) => {
          const done = started();
          context(call.metadata, call.request)
            .then((ctx) => handler(call, ctx))
            .then(
              () => {
                done(status.OK);
                call.end();
              },
              (err: unknown) => {
                const e = toError(err);
                done(e.code);
                call.emit('error', e);
              },
            );
        }
      : (call: { request: unknown; metadata: Metadata }, callback: (err: ServiceError | null, res?: unknown) => void) => {
          const done = started();
          context(call.metadata, call.request)
            .then((ctx) => handler(call.request, ctx))
            .then(
              (res) => {
                done(status.OK);
                callback(null, res);
              },
              (err: unknown) => {
                const e = toError(err);
                done(e.code);
                callback(e);
              },
            );
        };
  }
  return out as GrpcImplementation<D>;
}

const noRecord = (_code: number): void => {};

/**
 * Throws INVALID_ARGUMENT listing every violation of the method's proto rules (the request
 * re-encoded and read by protovalidate) and of its own checks; undefined when it has neither.
 */
function requestValidator(
  method: MethodDefinition<unknown, unknown>,
  checks: ((request: unknown) => FieldViolation[]) | undefined,
): ((request: unknown) => void) | undefined {
  const rules = requestRules(method.path);
  if (!rules && !checks) return undefined;
  return (request) => {
    const violations = rules ? rules.check(fromBinary(rules.input, method.requestSerialize(request))) : [];
    if (checks) violations.push(...checks(request));
    if (violations.length > 0) throw invalidArgument(violations);
  };
}

/**
 * Any thrown value as a ServiceError: a StatusError as is, a database error by its SQLSTATE
 * class (logged: the cause stays here), anything else logged and hidden behind INTERNAL.
 */
export function toServiceError(err: unknown, where: string, log: Logger): ServiceError {
  if (err instanceof StatusError) return err;
  const mapped = databaseStatus(err);
  if (mapped) {
    log.warn(`${where}: database error mapped to ${status[mapped.code]}: ${String((err as Error).message)}`);
    return mapped;
  }
  log.error({ err }, `${where} failed`);
  return statusError(status.INTERNAL, 'internal error');
}
