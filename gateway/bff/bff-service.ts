/** acme.bff.v1.BffService, implemented in the gateway: its methods by name (see local-upstream.ts). */
import type { DescMessage } from '@bufbuild/protobuf';
import { bffParts } from './bff-parts';
import { getHome } from './home';
import type { LocalServiceFactory } from './local-upstream';
import { getUserProfile } from './profile';

export const bffService: LocalServiceFactory = (service, deps) => {
  const parts = bffParts(deps.rpcs, deps.registry, deps.config.bff, deps.log);
  const output = (name: string): DescMessage => {
    const method = service.methods.find((m) => m.name === name);
    if (method === undefined) throw new Error(`${service.typeName} has no method ${name}`);
    return method.output;
  };
  return {
    GetUserProfile: getUserProfile(parts, output('GetUserProfile')),
    GetHome: getHome(parts, output('GetHome')),
  };
};
