/**
 * The OpenAPI 3.1 document of a compiled route table: one operation per route (every
 * binding and additional binding of every served method), built at start-up from the very
 * table the gateway matches requests with, so it cannot list a route the gateway does not
 * answer nor miss one it does. Bidi-streaming methods, which the gateway routes only to
 * answer 501, are listed with that answer alone.
 */
import type { DescService, Registry } from '@bufbuild/protobuf';
import type { JsonOptions, Route, RouteTable } from '../transcode';
import { errorSchemas, type ErrorContext } from './error-responses';
import type { Schema } from './json-schema';
import { MessageSchemas, type FieldRefiner } from './message-schemas';
import { openApiPath, pathShape, type OpenApiPath } from './openapi-path';
import { BEARER_SCHEME, buildOperation, type Operation } from './operation';
import { protoComment } from './proto-comments';

/** What the document says beyond the routes. */
export interface OpenApiOptions extends ErrorContext {
  readonly title: string;
  readonly version: string;
  readonly description?: string;
  /** The JSON options the gateway writes and reads with. */
  readonly json: JsonOptions;
  /** Extra keywords per field (buf.validate rules). */
  readonly refine?: FieldRefiner;
}

/** An OpenAPI 3.1 document (loosely typed beyond what we build). */
export interface OpenApiDocument {
  openapi: '3.1.0';
  info: { title: string; version: string; description?: string };
  tags: Array<{ name: string; description?: string; 'x-grpc-service': string }>;
  paths: Record<string, Record<string, unknown>>;
  components: { schemas: Record<string, Schema>; securitySchemes: Record<string, unknown> };
  /** The gateway's proto3 JSON options, which decide the shapes above and what input it tolerates. */
  'x-json-options': JsonOptions;
}

// The methods a 3.1 Path Item has fields for; others (HttpRule `custom`) go under
// `x-additionalOperations`, the name OpenAPI 3.2 gives them.
const PATH_ITEM_METHODS = new Set(['GET', 'PUT', 'POST', 'DELETE', 'OPTIONS', 'HEAD', 'PATCH', 'TRACE']);

/** Builds the document of `table`; `registry` holds its descriptors (with source info, for descriptions). */
export function buildOpenApiDocument(table: RouteTable, registry: Registry, options: OpenApiOptions): OpenApiDocument {
  const schemas = new MessageSchemas(registry, options.json, options.refine);
  const services = new Map<string, DescService | undefined>();
  for (const route of table.routes) if (!services.has(route.rpc.service)) services.set(route.rpc.service, registry.getService(route.rpc.service));
  const tags = tagNames([...services.keys()]);

  const paths: OpenApiDocument['paths'] = {};
  const shapes = new Map<string, OpenApiPath>();
  const ids = new Set<string>();
  const bindingIndex = new Map<string, number>();
  for (const route of table.routes) {
    const path = canonicalPath(openApiPath(route.template, route.request.pathFields), shapes);
    const key = `${route.rpc.service}/${route.rpc.name}`;
    const index = (bindingIndex.get(key) ?? 0) + 1;
    bindingIndex.set(key, index);
    const method = services.get(route.rpc.service)?.methods.find((m) => m.name === route.rpc.name);
    const id = operationId(route, index, tags.get(route.rpc.service)!, ids);
    const op = buildOperation(route, method, path, id, schemas, options);
    op.tags = [tags.get(route.rpc.service)!];
    const item = (paths[path.path] ??= {});
    const verb = route.binding.httpMethod;
    if (PATH_ITEM_METHODS.has(verb)) item[verb.toLowerCase()] = op;
    else ((item['x-additionalOperations'] ??= {}) as Record<string, Operation>)[verb] = op;
  }

  return {
    openapi: '3.1.0',
    info: { title: options.title, version: options.version, ...(options.description ? { description: options.description } : {}) },
    tags: [...services].map(([name, desc]) => {
      const about = desc && protoComment(desc);
      return { name: tags.get(name)!, ...(about ? { description: about } : {}), 'x-grpc-service': name };
    }),
    paths,
    'x-json-options': { ...options.json },
    components: {
      schemas: { ...schemas.components, ...errorSchemas() },
      securitySchemes: {
        [BEARER_SCHEME]: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: options.authAtEdge
            ? 'A JWT verified at the gateway. Operations list the roles (the `role` claim) they need, if any.'
            : 'A JWT, forwarded to the services, which verify it (the gateway runs with auth off).',
        },
      },
    },
  };
}

/**
 * OpenAPI treats paths that differ only in parameter names as one path (and forbids both):
 * `/v1/users/{id}` and `/v1/users/{user.id}` share the first's names, each parameter still
 * naming the field it binds in its description.
 */
function canonicalPath(path: OpenApiPath, shapes: Map<string, OpenApiPath>): OpenApiPath {
  const shape = pathShape(path.path);
  const first = shapes.get(shape);
  if (!first) {
    shapes.set(shape, path);
    return path;
  }
  if (first.path === path.path) return path;
  const parameters = path.parameters.map((p, i) => {
    const name = first.parameters[i].name;
    if (name === p.name) return p;
    const binds = p.field ? `Binds \`${p.field.protoPath}\`.` : '';
    return { ...p, name, description: [p.description, binds].filter(Boolean).join(' ') || undefined };
  });
  return { path: first.path, parameters };
}

/** Tags are service names without their package, unless two services would share one. */
function tagNames(services: readonly string[]): Map<string, string> {
  const short = (s: string): string => s.slice(s.lastIndexOf('.') + 1);
  const counts = new Map<string, number>();
  for (const s of services) counts.set(short(s), (counts.get(short(s)) ?? 0) + 1);
  return new Map(services.map((s) => [s, counts.get(short(s))! > 1 ? s : short(s)]));
}

/** `Service_Method`, then `Service_Method_2`... for its additional bindings, as grpc-gateway names them. */
function operationId(route: Route, index: number, tag: string, ids: Set<string>): string {
  const base = `${tag.replace(/\./g, '_')}_${route.rpc.name}${index > 1 ? `_${index}` : ''}`;
  let id = base;
  for (let n = 2; ids.has(id); n++) id = `${base}_${n}`;
  ids.add(id);
  return id;
}
