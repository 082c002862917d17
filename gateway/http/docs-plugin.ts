/**
 * Serves the OpenAPI document beside the transcoded routes: /openapi.json, /openapi.yaml,
 * and Swagger UI at /docs (@fastify/swagger-ui, its assets from node_modules: no CDN, so
 * the docs work offline). @fastify/swagger runs in static mode: it only hands our document
 * to the UI, it never derives one from Fastify's routes (those are a catch-all here).
 * The document is built at start-up (its errors stop the start); its JSON and YAML texts are
 * rendered when first asked for, then kept: YAML rendering took ~1 s of start-up and left
 * ~10 MB of RSS behind in a gateway nobody asked for its docs.
 */
import type { FastifyInstance } from 'fastify';
import type { OpenApiDocument } from '../openapi';
import { renderOpenApi } from '../openapi';
import type { RouteTable } from '../transcode';

/** The paths the docs take; a proto route on one of them is a start-up error (use --no-docs). */
export const DOCS_PATHS = ['/openapi.json', '/openapi.yaml', '/docs', '/docs/', '/docs/json', '/docs/static/index.html'] as const;

/** Registers the document and the UI on `app`; throws if a served route would be hidden. */
export async function registerDocs(app: FastifyInstance, document: OpenApiDocument, table: RouteTable): Promise<void> {
  for (const path of DOCS_PATHS) {
    const match = table.trie.match('GET', path);
    if (match.kind === 'match') {
      const { rpc, binding } = match.value;
      throw new Error(
        `GET ${path} is bound by ${rpc.service}.${rpc.name} (${binding.path}); the docs would hide it: start with --no-docs (config docs: false)`,
      );
    }
  }
  let json: string | undefined;
  let yaml: string | undefined;
  app.get('/openapi.json', (_request, reply) => {
    json ??= renderOpenApi(document, 'json');
    void reply.header('content-type', 'application/json; charset=utf-8').header('cache-control', 'no-cache').send(json);
  });
  app.get('/openapi.yaml', (_request, reply) => {
    yaml ??= renderOpenApi(document, 'yaml');
    void reply.header('content-type', 'application/yaml; charset=utf-8').header('cache-control', 'no-cache').send(yaml);
  });
  await app.register(require('@fastify/swagger'), { mode: 'static', specification: { document } });
  await app.register(require('@fastify/swagger-ui'), {
    routePrefix: '/docs',
    uiConfig: { deepLinking: true, persistAuthorization: true, tryItOutEnabled: true, displayOperationId: true },
  });
}
