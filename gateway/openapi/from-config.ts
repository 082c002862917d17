/**
 * The document as a configured gateway serves it: the same descriptors, served services and
 * JSON options, compiled by the same compileRoutes. `npm run openapi` uses this without
 * starting anything; app.ts passes its own compiled table to openApiOptions' caller.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { BUILTIN_DESCRIPTOR, routeOptions, type GatewayConfig } from '../config';
import { loadDescriptors } from '../descriptors';
import { compileRoutes, type RouteTable } from '../transcode';
import { servedServices } from '../upstream/upstream-pool';
import { validateKeywords } from './validate-keywords';
import { buildOpenApiDocument, type OpenApiDocument, type OpenApiOptions } from './openapi-document';

/** The document options that follow from the gateway's config. */
export function openApiOptions(config: GatewayConfig, table: RouteTable): OpenApiOptions {
  const services = [...new Set(table.routes.map((r) => r.rpc.service))];
  // The contract changes exactly when the descriptor set does: its digest is the version.
  const digest = createHash('sha256').update(readFileSync(config.descriptor)).digest('hex').slice(0, 12);
  return {
    title: 'HTTP/JSON API',
    version: digest,
    description:
      `Transcoded from gRPC by the gateway: ${services.map((s) => `\`${s}\``).join(', ')}. ` +
      'Bodies follow the proto3 JSON mapping; errors are google.rpc.Status. Served at /openapi.json (and .yaml), generated from the routes it answers.',
    json: config.json,
    authAtEdge: config.auth.mode === 'jwt',
    rateLimited: config.rateLimit.enabled,
    refine: validateKeywords,
    anyContentTypeAsJson: config.anyContentTypeAsJson,
    streamFormat: config.streamFormat,
  };
}

/** Compiles the configured routes and documents them (no upstream is contacted). */
export function openApiForConfig(config: GatewayConfig): OpenApiDocument {
  const { files, registry } = loadDescriptors(config.descriptor, BUILTIN_DESCRIPTOR);
  const services = servedServices(files, config.upstreams).map(([s]) => s);
  const table = compileRoutes(files, services, config.json, routeOptions(config));
  return buildOpenApiDocument(table, registry, openApiOptions(config, table));
}

/** The document as JSON or YAML text. */
export function renderOpenApi(document: OpenApiDocument, format: 'json' | 'yaml'): string {
  if (format === 'json') return `${JSON.stringify(document, null, 2)}\n`;
  // yaml (~2 MB of RSS) is loaded when a YAML text is first asked for.
  const { stringify } = require('yaml') as typeof import('yaml');
  return stringify(document, { aliasDuplicateObjects: false });
}
