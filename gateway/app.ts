/**
 * Assembles the gateway from its config: descriptors → compiled routes → upstream pool →
 * edge policies → the Fastify adapter. Everything that can fail does so here, at start.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { create, fromBinary, toBinary, toJson, type DescMessage } from '@bufbuild/protobuf';
import type { JSONWebKeySet } from 'jose';
import { BUILTIN_DESCRIPTOR, type GatewayConfig } from './config';
import { loadDescriptors } from './descriptors';
import type { JwksFetcher } from './edge';
import { registerTranscoding } from './http/transcoding-plugin';
import { compileRoutes, type Route, type RouteTable } from './transcode';
import { createH2Transport } from './upstream/h2';
import { MetadataMapper } from './upstream/metadata';
import type { TransportFactory } from './upstream/transport';
import { UpstreamPool } from './upstream/upstream-pool';

/** A built, not yet listening, gateway. */
export interface Gateway {
  readonly app: FastifyInstance;
  readonly routes: RouteTable;
  /** Starts listening; resolves to the bound port. */
  listen(): Promise<number>;
  close(): Promise<void>;
}

// @grpc/grpc-js and jose are loaded only when configured (~10 MB of RSS each otherwise).
const TRANSPORTS: Record<GatewayConfig['transport'], TransportFactory> = {
  'grpc-js': (target) => {
    const { GrpcJsTransport } = require('./upstream/grpc-js-transport') as typeof import('./upstream/grpc-js-transport');
    return new GrpcJsTransport(target);
  },
  h2: (target) => createH2Transport(target),
};

const NO_QUERY = Object.freeze({});
const noQuery = (): Record<string, never> => NO_QUERY;

/** Builds the gateway described by `config`. */
export async function buildGateway(config: GatewayConfig, logger: boolean | object = { level: config.logLevel }): Promise<Gateway> {
  const { files, registry } = loadDescriptors(config.descriptor, BUILTIN_DESCRIPTOR);
  const upstreams = new UpstreamPool(files, config.upstreams, TRANSPORTS[config.transport]);
  const routes = compileRoutes(files, upstreams.services, config.json, { strict: config.strict });
  const app = Fastify({
    logger,
    bodyLimit: config.bodyLimit,
    // Paths are matched by our own trie and queries read by the route's plan from the raw URL;
    // Fastify's router only hands every request over, so it need not parse the query too.
    routerOptions: { maxParamLength: 64 * 1024, querystringParser: noQuery },
    exposeHeadRoutes: false,
    return503OnClosing: true,
  });

  for (const warning of routes.warnings) app.log.warn(`route: ${warning}`);

  let authorize;
  if (config.auth.mode === 'off') {
    app.log.warn('auth is OFF: bearer tokens are forwarded unchecked (services still verify them). Use only for local development.');
  } else {
    const { createAuthorizer } = require('./edge') as typeof import('./edge');
    authorize = createAuthorizer(config.auth, rpcJwksFetcher(config.auth.jwks, upstreams, files));
  }

  registerTranscoding(app, {
    table: routes,
    registry,
    upstreams,
    metadata: new MetadataMapper(config.forwardedHeaders, config.responseHeaderPrefix, config.trailerHeaderPrefix),
    bodyLimit: config.bodyLimit,
    timeoutFor: timeoutResolver(config),
    authorize,
  });
  app.addHook('onClose', () => upstreams.close());

  return {
    app,
    routes,
    async listen() {
      await app.listen({ host: config.host, port: config.port });
      const address = app.server.address();
      return typeof address === 'object' && address ? address.port : config.port;
    },
    close: () => app.close(),
  };
}

function timeoutResolver(config: GatewayConfig): (route: Route) => number | undefined {
  const cache = new Map<Route, number | undefined>();
  return (route) => {
    if (cache.has(route)) return cache.get(route);
    const ms =
      config.methodTimeoutsMs[`${route.rpc.service}/${route.rpc.name}`] ??
      config.methodTimeoutsMs[route.rpc.service] ??
      (config.defaultTimeoutMs || undefined);
    cache.set(route, ms);
    return ms;
  };
}

/** For `rpc:/pkg.Service/Method` JWKS sources: calls the method and reads its JSON as a JWKS. */
function rpcJwksFetcher(source: string, upstreams: UpstreamPool, files: ReturnType<typeof loadDescriptors>['files']): JwksFetcher | undefined {
  if (!source.startsWith('rpc:')) return undefined;
  const [, serviceName, methodName] = source.slice(4).split('/');
  const service = files.getService(serviceName);
  const method = service?.methods.find((m) => m.name === methodName);
  if (!service || !method) throw new Error(`auth.jwks: ${source} names no method in the descriptor set`);
  if (!upstreams.services.includes(service)) {
    throw new Error(`auth.jwks: ${source} needs an upstream for ${service.typeName}; configure one, or pass --jwks <url> or --auth off`);
  }
  const transport = upstreams.get(service.typeName);
  const input: DescMessage = method.input;
  return async () => {
    const reply = await transport.unary(`/${service.typeName}/${method.name}`, toBinary(input, create(input)), {
      metadata: [],
      deadline: Date.now() + 5000,
    });
    return toJson(method.output, fromBinary(method.output, reply.message)) as unknown as JSONWebKeySet;
  };
}
