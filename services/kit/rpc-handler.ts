/**
 * Binds plain async handlers to grpc-js: each call is authenticated per the method's proto
 * policy, and whatever a handler throws becomes a status. A StatusError passes through;
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
import { methodPolicy } from './descriptors';
import type { Logger } from '../../shared-kit';
import { StatusError, statusError } from './status-error';
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

export interface BindOptions {
  verify: TokenVerifier;
  /** Verifies service credentials for services-only methods; without it those methods refuse every call. */
  verifyService?: ServiceTokenVerifier;
  log: Logger;
}

/** Adapts `handlers` to grpc-js. Policies are looked up now, so an unknown method fails at start. */
export function bindService<D extends AnyMethods>(definition: D, handlers: Handlers<D>, options: BindOptions): GrpcImplementation<D> {
  const out: Record<string, unknown> = {};
  for (const [name, method] of Object.entries(definition)) {
    if (method.requestStream) throw new Error(`${method.path}: client streaming is not supported by bindService`);
    const policy = methodPolicy(method.path);
    const handler = handlers[name] as (input: unknown, ctx: CallContext) => Promise<unknown>;
    const toError = (err: unknown) => toServiceError(err, method.path, options.log);
    const context = policy.roles.includes(SERVICE_ROLE)
      ? async (metadata: Metadata): Promise<CallContext> => ({
          caller: undefined,
          service: await authenticateService(metadata, options.verifyService),
          metadata,
        })
      : async (metadata: Metadata): Promise<CallContext> => ({ caller: await authenticate(metadata, policy, options.verify), metadata });

    out[name] = method.responseStream
      ? (call: ServerWritableStream<unknown, unknown>) => {
          context(call.metadata)
            .then((ctx) => handler(call, ctx))
            .then(
              () => call.end(),
              (err: unknown) => call.emit('error', toError(err)),
            );
        }
      : (call: { request: unknown; metadata: Metadata }, callback: (err: ServiceError | null, res?: unknown) => void) => {
          context(call.metadata)
            .then((ctx) => handler(call.request, ctx))
            .then(
              (res) => callback(null, res),
              (err: unknown) => callback(toError(err)),
            );
        };
  }
  return out as GrpcImplementation<D>;
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
