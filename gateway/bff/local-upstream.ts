/**
 * A "local" upstream: services the gateway answers from inside its own process, mapped to
 * the target `local` in `upstreams` (`--upstream acme.bff.v1=local`). Their routes come from
 * the same annotations into the same route table as upstream methods, and run through the
 * same pipeline (auth, rate limits, validation, deadline, tracing, metrics): only the
 * innermost handler differs. Instead of the transport call, the local method runs on the
 * decoded request and its response message is the call's Result (pipeline/README.md:
 * "answer locally by returning a Result without calling next"). It fails the way an
 * upstream does, with a GatewayError or a CallError, which the adapter renders as usual.
 *
 * Everything is resolved at start-up: a local service without an implementation, or an
 * implementation missing a routed method, stops the start naming it.
 */
import { fromBinary, toBinary, type DescService, type Message, type Registry } from '@bufbuild/protobuf';
import type { GatewayConfig } from '../config';
import { encodeRequest, type Call, type Handler } from '../pipeline';
import type { Route } from '../transcode';
import type { Metadata, UnaryResult } from '../upstream/transport';
import type { UpstreamRpcs } from './upstream-rpc';

/** One local unary method: the decoded request and its call in, the response message out. */
export type LocalMethod = (request: Message, call: Call) => Promise<Message>;

/** What a local implementation may use, given at start-up. */
export interface LocalDeps {
  /** Upstream methods, called through their policies and transports (upstream-rpc.ts). */
  readonly rpcs: UpstreamRpcs;
  readonly registry: Registry;
  readonly config: GatewayConfig;
  readonly log: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
}

/** Builds a local service's methods, by method name. */
export type LocalServiceFactory = (service: DescService, deps: LocalDeps) => Readonly<Record<string, LocalMethod>>;

const NO_METADATA: Metadata = [];

/**
 * The innermost handler of each route of the local `services`, from `implementations`
 * (by service name); throws at start-up for a service or routed method without one.
 */
export function localHandlers(
  services: readonly DescService[],
  routes: readonly Route[],
  implementations: Readonly<Record<string, LocalServiceFactory>>,
  deps: LocalDeps,
): (route: Route) => Handler {
  const methods = new Map<string, LocalMethod>();
  for (const service of services) {
    const factory = implementations[service.typeName];
    if (factory === undefined) {
      const known = Object.keys(implementations).join(', ') || 'none';
      throw new Error(`upstream ${service.typeName}=local: the gateway has no local implementation of it (it has: ${known})`);
    }
    const implemented = factory(service, deps);
    for (const [name, method] of Object.entries(implemented)) methods.set(`${service.typeName}/${name}`, method);
  }
  for (const route of routes) {
    const { rpc } = route;
    if (!services.some((s) => s.typeName === rpc.service)) continue;
    if (!methods.has(`${rpc.service}/${rpc.name}`)) throw new Error(`${rpc.service}.${rpc.name} is routed but its local implementation has no such method`);
    if (rpc.kind !== 'unary') throw new Error(`${rpc.service}.${rpc.name}: local methods are unary only`);
  }
  return (route) => {
    const { rpc } = route;
    const method = methods.get(`${rpc.service}/${rpc.name}`)!;
    return async (call): Promise<UnaryResult> => {
      const response = await method(fromBinary(rpc.input, encodeRequest(call)), call);
      return { message: toBinary(rpc.output, response), headers: NO_METADATA, trailers: NO_METADATA };
    };
  };
}
