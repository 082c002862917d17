/**
 * Which upstream serves which service: config keys are fully-qualified service names or
 * package prefixes (`acme.user.v1`); the most specific key wins. One transport per target.
 * The target `local` (LOCAL_TARGET) is no address: the gateway serves that service from
 * inside its own process (gateway/bff/local-upstream.ts), through the same routes.
 */
import type { DescService, Registry } from '@bufbuild/protobuf';
import type { Transport, TransportFactory } from './transport';

/** The upstream target of a service the gateway implements itself (`--upstream acme.bff.v1=local`). */
export const LOCAL_TARGET = 'local';

/** A config key that matches no service in the descriptor set. */
export class UpstreamConfigError extends Error {}

/** The transports of every served service, resolved at start-up. */
export class UpstreamPool {
  private readonly byService = new Map<string, Transport>();
  private readonly transports: Transport[] = [];
  /** The services that have an upstream, in descriptor order: remote and local. */
  readonly services: readonly DescService[];
  /** The services reached over the network (a transport each), in descriptor order. */
  readonly remote: readonly DescService[];
  /** The services the gateway answers itself (target `local`). */
  readonly local: readonly DescService[];

  constructor(registry: Registry, upstreams: Readonly<Record<string, string>>, factory: TransportFactory) {
    const byTarget = new Map<string, Transport>();
    const served: DescService[] = [];
    const local: DescService[] = [];
    for (const [service, target] of servedServices(registry, upstreams)) {
      served.push(service);
      if (target === LOCAL_TARGET) {
        local.push(service);
        continue;
      }
      let transport = byTarget.get(target);
      if (!transport) {
        transport = factory(target);
        byTarget.set(target, transport);
        this.transports.push(transport);
      }
      this.byService.set(service.typeName, transport);
    }
    this.services = Object.freeze(served);
    this.local = Object.freeze(local);
    this.remote = Object.freeze(served.filter((s) => !local.includes(s)));
  }

  /** The transport of a remote service. */
  get(service: string): Transport {
    const t = this.byService.get(service);
    if (!t) throw new Error(`no upstream for ${service}`);
    return t;
  }

  async close(): Promise<void> {
    await Promise.all(this.transports.map((t) => t.close()));
  }
}

/**
 * The services `upstreams` serves, in descriptor order, each with its target (the most
 * specific key wins); throws for a key that names nothing.
 */
export function servedServices(registry: Registry, upstreams: Readonly<Record<string, string>>): Array<[DescService, string]> {
  const all: DescService[] = [];
  for (const type of registry) if (type.kind === 'service') all.push(type);
  const keys = Object.keys(upstreams).sort((a, b) => b.length - a.length);
  for (const key of keys) {
    if (!all.some((s) => covers(key, s.typeName))) {
      throw new UpstreamConfigError(`upstream "${key}" names no service or package in the descriptor set`);
    }
  }
  const out: Array<[DescService, string]> = [];
  for (const service of all) {
    const key = keys.find((k) => covers(k, service.typeName));
    if (key !== undefined) out.push([service, upstreams[key]]);
  }
  return out;
}

function covers(key: string, serviceName: string): boolean {
  return serviceName === key || serviceName.startsWith(`${key}.`);
}
