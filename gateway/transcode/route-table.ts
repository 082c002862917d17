/**
 * Compiles every annotated method of the served services into one frozen route trie, once,
 * at start-up. Any problem (bad template, duplicate method+path, a binding naming a missing
 * field) fails the start with an error naming the proto method.
 */
import { MethodOptions_IdempotencyLevel as Idempotency } from '@bufbuild/protobuf/wkt';
import type { DescMessage, DescMethod, DescService, Registry } from '@bufbuild/protobuf';
import { httpBindings, methodPolicy, optionExtensions, type HttpBinding, type MethodPolicy } from './http-rule';
import type { JsonOptions } from './json-options';
import { parsePathTemplate, type PathTemplate } from './path-template';
import { RequestPlan } from './request-plan';
import { ResponsePlan } from './response-plan';
import { DuplicateRouteError, RouteTrieBuilder, type RouteTrie } from './route-trie';

/** An RPC as the gateway calls it. */
export interface RpcMethod {
  /** Fully-qualified service name, e.g. acme.user.v1.UserService. */
  readonly service: string;
  readonly name: string;
  /** The HTTP/2 :path of the call: /acme.user.v1.UserService/GetUser. */
  readonly grpcPath: string;
  readonly kind: DescMethod['methodKind'];
  readonly input: DescMessage;
  readonly output: DescMessage;
  /** Declared NO_SIDE_EFFECTS or IDEMPOTENT: safe to retry. */
  readonly idempotent: boolean;
  readonly policy: MethodPolicy;
}

/** One HTTP binding of one RPC, with its compiled plans. */
export interface Route {
  readonly rpc: RpcMethod;
  readonly binding: HttpBinding;
  readonly template: PathTemplate;
  readonly request: RequestPlan;
  readonly response: ResponsePlan;
}

/** The compiled table. */
export interface RouteTable {
  readonly trie: RouteTrie<Route>;
  readonly routes: readonly Route[];
  /** Custom HTTP methods (HttpRule `custom.kind`) the HTTP server must accept. */
  readonly customMethods: readonly string[];
}

/** A start-up failure naming the proto method and binding at fault. */
export class RouteCompileError extends Error {}

const STANDARD_METHODS = new Set(['GET', 'PUT', 'POST', 'DELETE', 'PATCH']);

/** Compiles the routes of `services` (descriptors from `registry`). */
export function compileRoutes(registry: Registry, services: readonly DescService[], options: JsonOptions): RouteTable {
  const ext = optionExtensions(registry);
  const builder = new RouteTrieBuilder<Route>();
  const routes: Route[] = [];
  const custom = new Set<string>();
  for (const service of services) {
    for (const method of service.methods) {
      const where = `${service.typeName}.${method.name}`;
      let bindings: HttpBinding[];
      let rpc: RpcMethod;
      try {
        bindings = httpBindings(method, ext);
        rpc = rpcMethod(service, method, methodPolicy(method, ext));
      } catch (err) {
        throw new RouteCompileError(`${where}: ${(err as Error).message}`);
      }
      for (const binding of bindings) {
        const route = compileRoute(rpc, binding, registry, options, `${where} (${binding.httpMethod} ${binding.path})`);
        try {
          builder.add(binding.httpMethod, route.template, route);
        } catch (err) {
          if (err instanceof DuplicateRouteError) {
            const other = err.existing as Route;
            throw new RouteCompileError(
              `${where}: ${binding.httpMethod} ${binding.path} is already bound by ${other.rpc.service}.${other.rpc.name} (${other.binding.path})`,
            );
          }
          throw new RouteCompileError(`${where}: ${(err as Error).message}`);
        }
        routes.push(route);
        if (!STANDARD_METHODS.has(binding.httpMethod)) custom.add(binding.httpMethod);
      }
    }
  }
  return Object.freeze({ trie: builder.build(), routes: Object.freeze(routes), customMethods: Object.freeze([...custom]) });
}

function compileRoute(rpc: RpcMethod, binding: HttpBinding, registry: Registry, options: JsonOptions, where: string): Route {
  try {
    if (rpc.kind === 'client_streaming' || rpc.kind === 'bidi_streaming') {
      if (binding.body !== '*') throw new Error('a client-streaming method needs body: "*"');
    }
    const template = parsePathTemplate(binding.path);
    const request = new RequestPlan(rpc.input, binding, template, registry, options);
    const response = new ResponsePlan(rpc.output, binding.responseBody, registry, options);
    return Object.freeze({ rpc, binding, template, request, response });
  } catch (err) {
    throw new RouteCompileError(`${where}: ${(err as Error).message}`);
  }
}

function rpcMethod(service: DescService, method: DescMethod, policy: MethodPolicy): RpcMethod {
  return Object.freeze({
    service: service.typeName,
    name: method.name,
    grpcPath: `/${service.typeName}/${method.name}`,
    kind: method.methodKind,
    input: method.input,
    output: method.output,
    idempotent: method.idempotency === Idempotency.NO_SIDE_EFFECTS || method.idempotency === Idempotency.IDEMPOTENT,
    policy,
  });
}
