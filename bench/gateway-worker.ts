/**
 * A worker of the `gateway-h2-w2` and `gateway-h2-w2-cluster` targets: the gateway exactly as a `--workers` worker
 * runs it (gateway/workers.ts runWorker), without request logging like the other targets, and
 * answering window-stats requests from its primary (gateway-server.ts), which adds them up.
 * Each process measures itself (process.cpuUsage, sampled RSS), as every other target does.
 */
import { startGateway } from '../gateway/main';
import { runWorker } from '../gateway/workers';
import { serveRequests } from './ipc';
import { windowStatsHandlers } from './process-stats';

// `stop` is never sent to a worker: the primary closes it through runWorker's protocol.
serveRequests({ ...windowStatsHandlers(), rss: () => process.memoryUsage.rss() }, () => undefined);
runWorker((config) => startGateway(config, false, { releaseStartupGarbage: true }));
