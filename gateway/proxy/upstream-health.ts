/**
 * Health of a plain HTTP route's upstreams, for /readyz and for round-robin (an upstream that
 * fails its check is skipped while another passes). Each upstream is checked every
 * `healthIntervalMs`: a TCP connect, or with `healthPath` a GET answered below 500. The route
 * is SERVING while one upstream passes, UNREACHABLE when none can be reached, NOT_SERVING
 * when they answer with errors; a /readyz request makes no upstream call.
 */
import * as net from 'node:net';
import type { request as Request } from 'undici';
import type { HealthStatus } from '../upstream/health-watch';
import type { ProxyRoute, ProxyUpstream } from './proxy-route';

type Check = 'SERVING' | 'NOT_SERVING' | 'UNREACHABLE';

/** The periodic health check of one route's upstreams. */
export class UpstreamHealth {
  status: HealthStatus = 'UNKNOWN';
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly route: ProxyRoute,
    private readonly onChange: (health: UpstreamHealth, previous: HealthStatus) => void,
  ) {}

  get serving(): boolean {
    return this.status === 'SERVING';
  }

  start(): void {
    if (this.stopped) return;
    void this.round();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private async round(): Promise<void> {
    const results = await Promise.all(this.route.upstreams.map((u) => this.check(u)));
    if (this.stopped) return;
    this.route.upstreams.forEach((u, i) => (u.healthy = results[i] === 'SERVING'));
    const next: HealthStatus = results.includes('SERVING') ? 'SERVING' : results.includes('NOT_SERVING') ? 'NOT_SERVING' : 'UNREACHABLE';
    const previous = this.status;
    this.status = next;
    if (next !== previous) this.onChange(this, previous);
    this.timer = setTimeout(() => void this.round(), this.route.config.healthIntervalMs).unref();
  }

  private check(upstream: ProxyUpstream): Promise<Check> {
    const { healthPath, connectTimeoutMs, timeoutMs } = this.route.config;
    if (healthPath !== '') {
      const url = upstream.origin + upstream.basePath + healthPath;
      // undici is loaded already: this runs only for plain HTTP routes, whose reply-from loads it.
      const { request } = require('undici') as { request: typeof Request };
      return request(url, { method: 'GET', headersTimeout: timeoutMs || connectTimeoutMs, bodyTimeout: timeoutMs || connectTimeoutMs })
        .then(async (res): Promise<Check> => {
          await res.body.dump();
          return res.statusCode < 500 ? 'SERVING' : 'NOT_SERVING';
        })
        .catch((): Check => 'UNREACHABLE');
    }
    const { hostname, port, protocol } = new URL(upstream.origin);
    return new Promise<Check>((resolve) => {
      const socket = net.connect({ host: hostname.replace(/^\[|\]$/g, ''), port: Number(port) || (protocol === 'https:' ? 443 : 80) });
      socket.setTimeout(connectTimeoutMs);
      const done = (result: Check): void => {
        socket.destroy();
        resolve(result);
      };
      socket.once('connect', () => done('SERVING'));
      socket.once('timeout', () => done('UNREACHABLE'));
      socket.once('error', () => done('UNREACHABLE'));
    });
  }
}
