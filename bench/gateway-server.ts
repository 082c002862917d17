/**
 * The gateway under test, in its own process: `--backend host:port --transport h2|grpc-js`.
 * Auth off and no request logging (the hand-written proxy logs nothing either), everything
 * else at its defaults. Reports build time and its port, then answers window-stats requests.
 */
import { resolveConfig } from '../gateway/config';
import { startGateway } from '../gateway/main';
import { announceReady, argValue, serveRequests } from './ipc';
import { windowStatsHandlers } from './process-stats';

async function main(): Promise<void> {
  const backend = argValue('backend');
  const transport = argValue('transport') as 'h2' | 'grpc-js' | undefined;
  if (!backend || !transport) throw new Error('usage: gateway-server --backend host:port --transport h2|grpc-js');
  const start = performance.now();
  const config = resolveConfig({
    port: 0,
    upstreams: { 'acme.echo.v1': backend },
    transport,
    auth: { mode: 'off' },
  });
  const gateway = await startGateway(config, false);
  const buildMs = performance.now() - start;
  serveRequests(windowStatsHandlers(), () => gateway.close());
  announceReady({ port: gateway.port, buildMs: Math.round(buildMs * 10) / 10 });
}

main().catch((err: unknown) => {
  console.error('gateway-server:', err);
  process.exit(1);
});
