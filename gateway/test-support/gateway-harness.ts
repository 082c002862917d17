/** Starts the echo backend and a gateway in front of it, both on loopback ephemeral ports. */
import type { Gateway } from '../app';
import { resolveConfig, type ConfigInput } from '../config';
import { startGateway } from '../main';
import { checkedFetch, OpenApiContract, registerContract } from './contract';
import { startEchoBackend, type EchoBackend } from './echo-backend';

export interface Harness {
  readonly backend: EchoBackend;
  readonly gateway: Gateway;
  readonly baseUrl: string;
  /** The route table's start-up warnings. */
  readonly warnings: readonly string[];
  /** The gateway's OpenAPI document, every exchange is checked against (undefined with docs off). */
  readonly contract: OpenApiContract | undefined;
  /** fetch() against the gateway, with a path; the exchange must fit the gateway's OpenAPI document. */
  request(method: string, path: string, init?: { body?: string | Buffer; headers?: Record<string, string> }): Promise<Response>;
  close(): Promise<void>;
}

/**
 * Echo backend + gateway (auth off unless overridden), serving `served` (services or
 * packages the echo backend implements: acme.echo.v1, acme.conformance.v1.ShapesService...).
 * The circuit breaker is off unless overridden: these tests make the backend fail on
 * purpose, call after call.
 */
export async function startHarness(overrides: ConfigInput = {}, served: readonly string[] = ['acme.echo.v1']): Promise<Harness> {
  const backend = await startEchoBackend();
  const config = resolveConfig({
    port: 0,
    upstreams: Object.fromEntries(served.map((s) => [s, backend.target])),
    ...overrides,
    resilience: { ...overrides.resilience, breaker: { consecutiveFailures: 0, ...overrides.resilience?.breaker } },
    auth: { mode: 'off', ...(overrides.auth ?? {}) },
  });
  const gateway = await startGateway(config, false);
  const baseUrl = `http://127.0.0.1:${gateway.port}`;
  const contract = config.docs ? await OpenApiContract.load(baseUrl) : undefined;
  registerContract(baseUrl, contract);
  return {
    backend,
    gateway,
    baseUrl,
    contract,
    warnings: gateway.routes.warnings,
    request: (method, path, init = {}) =>
      checkedFetch(baseUrl + path, {
        method,
        body: init.body,
        headers: init.body !== undefined && !init.headers?.['content-type'] ? { 'content-type': 'application/json', ...init.headers } : init.headers,
      }),
    async close() {
      registerContract(baseUrl, undefined);
      try {
        await contract?.settle();
      } finally {
        await gateway.close();
        await backend.close();
      }
    },
  };
}
