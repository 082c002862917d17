/** Plain HTTP routes beside the transcoded ones (config `httpRoutes`): compile, policies, plugin, health. */
export { compileProxyRoutes, ProxyRoute, type ProxyUpstream } from './proxy-route';
export { compileProxyHandler, proxyRouteLimit, type ProxyPolicies } from './proxy-pipeline';
export type { ProxyCall, ProxyHandler } from './proxy-call';
export { PROXY_METHODS, proxyPlugin, type ProxyPluginOptions } from './proxy-plugin';
export { UpstreamHealth } from './upstream-health';
