/** Services the gateway answers itself (a "local" upstream) and the aggregation endpoints (acme.bff.v1). */
import { bffService } from './bff-service';
import type { LocalServiceFactory } from './local-upstream';

/** The local implementations, by service name: what `upstreams: { <service>: local }` may name. */
export const LOCAL_SERVICES: Readonly<Record<string, LocalServiceFactory>> = Object.freeze({
  'acme.bff.v1.BffService': bffService,
});

export { localHandlers, type LocalDeps, type LocalMethod, type LocalServiceFactory } from './local-upstream';
export { upstreamRpcs, type PartScope, type UpstreamRpc, type UpstreamRpcs } from './upstream-rpc';
