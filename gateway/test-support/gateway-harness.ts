/** Starts the echo backend and a gateway in front of it, both on loopback ephemeral ports. */
import { resolveConfig, type ConfigInput } from '../config';
import { startGateway } from '../main';
import { startEchoBackend, type EchoBackend } from './echo-backend';

export interface Harness {
  readonly backend: EchoBackend;
  readonly baseUrl: string;
  /** The route table's start-up warnings. */
  readonly warnings: readonly string[];
  /** fetch() against the gateway, with a path. */
  request(method: string, path: string, init?: { body?: string | Buffer; headers?: Record<string, string> }): Promise<Response>;
  close(): Promise<void>;
}

/**
 * Echo backend + gateway (auth off unless overridden), serving `served` (services or
 * packages the echo backend implements: acme.echo.v1, acme.conformance.v1.ShapesService...).
 */
export async function startHarness(overrides: ConfigInput = {}, served: readonly string[] = ['acme.echo.v1']): Promise<Harness> {
  const backend = await startEchoBackend();
  const config = resolveConfig({
    port: 0,
    upstreams: Object.fromEntries(served.map((s) => [s, backend.target])),
    ...overrides,
    auth: { mode: 'off', ...(overrides.auth ?? {}) },
  });
  const gateway = await startGateway(config, false);
  const baseUrl = `http://127.0.0.1:${gateway.port}`;
  return {
    backend,
    baseUrl,
    warnings: gateway.routes.warnings,
    request: (method, path, init = {}) =>
      fetch(baseUrl + path, {
        method,
        body: init.body,
        headers: init.body !== undefined && !init.headers?.['content-type'] ? { 'content-type': 'application/json', ...init.headers } : init.headers,
      }),
    async close() {
      await gateway.close();
      await backend.close();
    },
  };
}
