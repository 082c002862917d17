/** The live OpenAPI 3.1 document of the routes the gateway serves. */
export { buildOpenApiDocument, type OpenApiDocument, type OpenApiOptions } from './openapi-document';
export type { Schema } from './json-schema';
export type { FieldRefiner } from './message-schemas';
export { openApiForConfig, openApiOptions, renderOpenApi } from './from-config';
