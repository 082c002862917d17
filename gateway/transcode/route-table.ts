/**
 * Compiles every annotated method of the served services into one frozen route trie, once,
 * at start-up. A binding that cannot be served (bad template, a binding naming a missing
 * field...) is left out with a warning naming the proto method and why, and the rest is
 * served, as grpc-gateway and Envoy serve what they can; `strict` makes any warning fatal.
 * Two methods on the same HTTP method and template: the last registered wins (grpc-gateway),
 * with a warning. Bidi-streaming methods are routed, warned about, and answered 501.
 */
import { MethodOptions_IdempotencyLevel as Idempotency } from '@bufbuild/protobuf/wkt';
import type { DescMessage, DescMethod, DescService, Registry } from '@bufbuild/protobuf';
import { httpBindings, methodPolicy, optionExtensions, type HttpBinding, type MethodPolicy, type ServiceRules } from './http-rule';
import type { JsonOptions } from './json-options';
import { parsePathTemplate, type PathTemplate } from './path-template';
import { DEFAULT_REQUEST_OPTIONS, RequestPlan, type RequestOptions } from './request-plan';
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
  /** What was left out or overridden, one line each naming the proto method; empty when all is served. */
  readonly warnings: readonly string[];
}

/** How routes are compiled. */
export interface CompileOptions extends Partial<RequestOptions> {
  /** Any warning fails the start (for CI): config `strict`, `--strict`. */
  readonly strict: boolean;
  /** HTTP rules and method options from a service configuration file, merged with the annotations. */
  readonly rules?: ServiceRules;
}

/** A start-up failure naming the proto method and binding at fault. */
export class RouteCompileError extends Error {}

const STANDARD_METHODS = new Set(['GET', 'PUT', 'POST', 'DELETE', 'PATCH']);

/** Compiles the routes of `services` (descriptors from `registry`). */
export function compileRoutes(
  registry: Registry,
  services: readonly DescService[],
  options: JsonOptions,
  compile: CompileOptions = { strict: false },
): RouteTable {
  const ext = optionExtensions(registry);
  const builder = new RouteTrieBuilder<Route>();
  const routes: Route[] = [];
  const custom = new Set<string>();
  const warnings: string[] = [];
  const requestOptions: RequestOptions = { ...DEFAULT_REQUEST_OPTIONS, ...stripUndefined(compile) };
  for (const service of services) {
    for (const method of service.methods) {
      const where = `${service.typeName}.${method.name}`;
      let bindings: HttpBinding[];
      let rpc: RpcMethod;
      try {
        bindings = httpBindings(method, ext, compile.rules);
        rpc = rpcMethod(service, method, methodPolicy(method, ext, compile.rules));
      } catch (err) {
        warnings.push(`${where}: not served: ${(err as Error).message}`);
        continue;
      }
      for (const binding of bindings) {
        const at = `${where} (${binding.httpMethod} ${binding.path})`;
        let route: Route;
        try {
          route = compileRoute(rpc, binding, registry, options, requestOptions);
          builder.add(binding.httpMethod, route.template, route);
        } catch (err) {
          if (!(err instanceof DuplicateRouteError)) {
            warnings.push(`${at}: not served: ${(err as Error).message}`);
            continue;
          }
          // grpc-gateway registers handlers in order and the last one for a pattern wins.
          const other = err.existing as Route;
          builder.add(binding.httpMethod, err.template, err.duplicate as Route, true);
          routes.splice(routes.indexOf(other), 1);
          route = err.duplicate as Route;
          warnings.push(
            `${at}: replaces ${other.rpc.service}.${other.rpc.name} (${other.binding.httpMethod} ${other.binding.path}) on the same method and path: the last registered wins`,
          );
        }
        routes.push(route);
        if (!STANDARD_METHODS.has(binding.httpMethod)) custom.add(binding.httpMethod);
      }
    }
  }
  if (compile.strict && warnings.length > 0) {
    throw new RouteCompileError(`strict: ${warnings.length} route warning(s) are fatal:\n  ${warnings.join('\n  ')}`);
  }
  return Object.freeze({
    trie: builder.build(),
    routes: Object.freeze(routes),
    customMethods: Object.freeze([...custom]),
    warnings: Object.freeze(warnings),
  });
}

function compileRoute(rpc: RpcMethod, binding: HttpBinding, registry: Registry, options: JsonOptions, requestOptions: RequestOptions): Route {
  const template = parsePathTemplate(binding.path);
  const request = new RequestPlan(rpc.input, binding, template, registry, options, requestOptions);
  const response = new ResponsePlan(rpc.output, binding.responseBody, registry, options);
  return Object.freeze({ rpc, binding, template, request, response });
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

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
