/**
 * Kubernetes-style probes, ordinary Fastify routes beside the transcoding plugin:
 * `GET /healthz` says the process is alive and serving HTTP (no upstream call, nothing
 * that can block); `GET /readyz` reports readiness (200 or 503) with per-upstream detail.
 * HEAD answers too, as probes and load balancers may use it.
 */
import type { FastifyInstance } from 'fastify';
import type { Readiness } from '../upstream/readiness';

/** Registers /healthz and /readyz on `app` (outside the transcoding plugin's scope). */
export function registerProbes(app: FastifyInstance, readiness: Readiness): void {
  const noStore = { 'cache-control': 'no-store', 'content-type': 'application/json' };
  app.get('/healthz', { exposeHeadRoute: true }, (_request, reply) => {
    void reply.code(200).headers(noStore).send('{"status":"ok"}');
  });
  app.get('/readyz', { exposeHeadRoute: true }, (_request, reply) => {
    const report = readiness.report();
    void reply
      .code(report.ready ? 200 : 503)
      .headers(noStore)
      .send(JSON.stringify(report));
  });
}
