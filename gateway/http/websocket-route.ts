/**
 * Which binding a WebSocket upgrade (always a GET, RFC 6455 §4.1) serves. The upgrade's
 * path is matched against the same route trie as HTTP requests:
 * 1. `$method=<HTTP method>` in the query picks the binding of that method on the path
 *    (`$` cannot begin a proto field name, so the parameter never collides with a field;
 *    it is removed before the query is read into the request);
 * 2. else the path's GET binding, if it has one;
 * 3. else the path's only binding, whatever its method (`POST /v1/chat/{id}` is reached by
 *    an upgrade to `/v1/chat/7`);
 * 4. else (several non-GET bindings) the upgrade names one with `$method`, or fails with
 *    METHOD_NOT_ALLOWED listing them.
 */
import { GatewayError, type Route, type RouteTable } from '../transcode';

/** The query parameter that names the HTTP method of the binding an upgrade serves. */
export const METHOD_PARAMETER = '$method';

/** A selected binding: the route, its path values, and the query without `$method`. */
export interface WebSocketTarget {
  readonly route: Route;
  readonly values: readonly string[];
  readonly rawQuery: string;
}

/** Selects the binding for an upgrade to `url` (path and query); throws a GatewayError when none fits. */
export function selectWebSocketRoute(table: RouteTable, url: string): WebSocketTarget {
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  let rawQuery = q === -1 ? '' : url.slice(q + 1);
  let method = 'GET';
  const named = methodParameter(rawQuery);
  if (named !== undefined) {
    method = named.method;
    rawQuery = named.rest;
  }
  let match = table.trie.match(method, path);
  if (match.kind === 'method-not-allowed' && named === undefined && match.allow.length === 1) {
    match = table.trie.match(match.allow[0], path);
  }
  if (match.kind === 'not-found') throw new GatewayError('ROUTE_NOT_FOUND', `no route for ${path}`);
  if (match.kind === 'method-not-allowed') {
    const allow = match.allow.join(', ');
    const hint = named === undefined ? `; choose one with ?${METHOD_PARAMETER}=<method>` : '';
    throw new GatewayError('METHOD_NOT_ALLOWED', `${method} is not bound on ${path} (bound: ${allow})${hint}`, [], {}, { allow });
  }
  return { route: match.value, values: match.bindings.map((b) => b[1]), rawQuery };
}

/** Finds `$method=X` (also `%24method`) in a raw query; the method and the query without it. */
function methodParameter(rawQuery: string): { method: string; rest: string } | undefined {
  if (rawQuery === '' || (!rawQuery.includes('$method=') && !rawQuery.toLowerCase().includes('%24method='))) return undefined;
  let method: string | undefined;
  const rest: string[] = [];
  for (const pair of rawQuery.split('&')) {
    const eq = pair.indexOf('=');
    const name = eq === -1 ? pair : pair.slice(0, eq);
    if (name === METHOD_PARAMETER || name.toLowerCase() === '%24method') {
      const value = eq === -1 ? '' : pair.slice(eq + 1).toUpperCase();
      if (method !== undefined || !/^[A-Z]+$/.test(value)) {
        throw new GatewayError('BAD_REQUEST', `${METHOD_PARAMETER} must be given once, as an HTTP method name`);
      }
      method = value;
    } else rest.push(pair);
  }
  return method === undefined ? undefined : { method, rest: rest.join('&') };
}
