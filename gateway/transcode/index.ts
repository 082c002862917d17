/** The pure transcoding core: descriptors in, compiled routes out; no HTTP server, no gRPC client. */
export { Code, GatewayError, Reasons, GATEWAY_DOMAIN, invalidField, type Reason, type FieldViolation } from './errors';
export { gatewayStatusJson, upstreamStatusJson, plainStatusJson, type StatusJson } from './status-json';
export { compileRoutes, RouteCompileError, type CompileOptions, type Route, type RouteTable, type RpcMethod } from './route-table';
export { DEFAULT_JSON_OPTIONS, type JsonOptions } from './json-options';
export type { MatchResult } from './route-trie';
export type { RenderedBody } from './response-plan';
export { NO_SERVICE_RULES, selects, type HttpRuleShape, type MethodOptionsRule, type MethodPolicy, type ServiceRules } from './http-rule';
export type { HttpBinding } from './http-rule';
export type { PathTemplate, TemplateSegment, TemplateVariable } from './path-template';
export type { FieldTarget } from './field-path';
export type { QueryParameter } from './query-params';
export { HTTP_BODY_TYPE } from './request-plan';
export { isJsonContentType } from './content-type';
