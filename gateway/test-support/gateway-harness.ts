/** Starts the echo backend and a gateway in front of it, both on loopback ephemeral ports. */
import { resolveConfig, type ConfigInput } from '../config';
import { startGateway } from '../main';
import { startEchoBackend, type EchoBackend } from './echo-backend';

export interface Harness {
  readonly backend: EchoBackend;
  readonly baseUrl: string;
  /** fetch() against the gateway, with a path. */
  request(method: string, path: string, init?: { body?: string | Buffer; headers?: Record<string, string> }): Promise<Response>;
  close(): Promise<void>;
}

/** Echo backend + gateway (auth off unless overridden). */
export async function startHarness(overrides: ConfigInput = {}): Promise<Harness> {
  const backend = await startEchoBackend();
  const config = resolveConfig({
    port: 0,
    upstreams: { 'acme.echo.v1': backend.target },
    ...overrides,
    auth: { mode: 'off', ...(overrides.auth ?? {}) },
  });
  const gateway = await startGateway(config, false);
  const baseUrl = `http://127.0.0.1:${gateway.port}`;
  return {
    backend,
    baseUrl,
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
