/**
 * Header hygiene of plain HTTP routes, both ways. Upstream: sensitive headers dropped (cookie
 * and authorization unless the route opts in), hop-by-hop headers (RFC 9110 §7.6.1) and
 * proxy credentials never forwarded, Host rewritten to the upstream's or preserved, and
 * X-Forwarded-For/-Proto/-Host/-Prefix set. Downstream: sensitive headers (set-cookie) and
 * hop-by-hop headers dropped. A client's own X-Forwarded-Host and -Proto are believed only
 * from a trusted proxy (config `rateLimit.trustedProxies`): legacy applications build
 * redirect URLs from them, so a spoofed one would be an open redirect.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { ProxyRoute } from './proxy-route';

const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade'];
const NEVER_UPSTREAM = [...HOP_BY_HOP, 'proxy-authorization'];
const NEVER_DOWNSTREAM = [...HOP_BY_HOP, 'proxy-authenticate'];

/** What the upstream request needs to know about the client's connection. */
export interface ClientSide {
  /** The client's own Host header. */
  readonly host: string | undefined;
  /** `http` or `https`, as the gateway was reached. */
  readonly protocol: string;
  /** The socket's peer address. */
  readonly remoteAddress: string | undefined;
  /** X-Forwarded-For as it goes upstream (ProxyCall.forwardedFor). */
  readonly forwardedFor: string;
}

/** The X-Forwarded-For chain with `remote` appended (the incoming chain as the client sent it). */
export function forwardedForChain(incoming: string | string[] | undefined, remote: string | undefined): string {
  const chain = Array.isArray(incoming) ? incoming.join(', ') : (incoming ?? '');
  if (!remote) return chain;
  return chain === '' ? remote : `${chain}, ${remote}`;
}

/** The rewriter of request headers for `route` (headers: reply-from's copy, Host already set to the upstream's). */
export function upstreamRequestHeaders(route: ProxyRoute, trustedProxies: ReadonlySet<string>) {
  const drop = [...NEVER_UPSTREAM, ...route.config.sensitiveHeaders];
  const { forwardedHeaders, host } = route.config;
  return (headers: Record<string, string | string[] | number | undefined>, client: ClientSide): typeof headers => {
    for (const name of drop) delete headers[name];
    if (host === 'preserve' && client.host !== undefined) headers.host = client.host;
    if (!forwardedHeaders) return headers;
    const trusted = client.remoteAddress !== undefined && trustedProxies.has(client.remoteAddress);
    headers['x-forwarded-for'] = client.forwardedFor;
    const incomingHost = headers['x-forwarded-host'];
    const incomingProto = headers['x-forwarded-proto'];
    headers['x-forwarded-host'] = trusted && typeof incomingHost === 'string' ? incomingHost : client.host;
    headers['x-forwarded-proto'] = trusted && typeof incomingProto === 'string' ? incomingProto : client.protocol;
    if (route.stripped !== '') headers['x-forwarded-prefix'] = route.stripped;
    else delete headers['x-forwarded-prefix'];
    if (headers['x-forwarded-host'] === undefined) delete headers['x-forwarded-host'];
    return headers;
  };
}

/** The filter of response headers for `route`. */
export function downstreamResponseHeaders(route: ProxyRoute) {
  const drop = [...NEVER_DOWNSTREAM, ...route.config.sensitiveHeaders];
  return (headers: IncomingHttpHeaders): IncomingHttpHeaders => {
    const out = { ...headers };
    for (const name of drop) delete out[name];
    return out;
  };
}
