/**
 * Composition, done once per route at start-up: the first interceptor is the outermost.
 * Nothing here runs per request except the handlers it returns.
 */
import type { Route } from '../transcode';
import type { Handler, Interceptor, InterceptorFactory } from './call';

/** Wraps `last` in `interceptors`, the first one outermost (any handler type: plain HTTP routes compose theirs too). */
export function compose<H = Handler>(interceptors: readonly ((next: NoInfer<H>) => NoInfer<H>)[], last: NoInfer<H>): H {
  let handler = last;
  for (let i = interceptors.length - 1; i >= 0; i--) handler = interceptors[i](handler);
  return handler;
}

/**
 * One handler per route: each factory decides whether its policy applies to the route;
 * `last(route)` makes the innermost handler (the upstream call, or a local one).
 */
export function compileRouteHandlers(
  routes: readonly Route[],
  factories: readonly InterceptorFactory[],
  last: (route: Route) => Handler,
): ReadonlyMap<Route, Handler> {
  const handlers = new Map<Route, Handler>();
  for (const route of routes) {
    const interceptors: Interceptor[] = [];
    for (const factory of factories) {
      const interceptor = factory(route);
      if (interceptor !== undefined) interceptors.push(interceptor);
    }
    handlers.set(route, compose(interceptors, last(route)));
  }
  return handlers;
}
