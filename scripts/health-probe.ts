/**
 * `node dist/scripts/health-probe.js HOST:PORT [SERVICE]`: one grpc.health.v1 Check, exit 0 when
 * SERVING and 1 otherwise (down, NOT_SERVING, unknown service, no answer within 2 s). The
 * container image carries no grpc_health_probe binary; compose's healthchecks run this instead
 * (Kubernetes probes speak gRPC health natively).
 */
import { credentials, Metadata } from '@grpc/grpc-js';
import { HealthCheckResponse_ServingStatus, HealthClient } from '../gen/grpc/health/v1/health';

/** The probe's verdict and a line saying why. */
export interface ProbeResult {
  serving: boolean;
  detail: string;
}

/** Asks `address` for the status of `service` ('' = the whole server) within `deadlineMs`. */
export function probeHealth(address: string, service = '', deadlineMs = 2000): Promise<ProbeResult> {
  const client = new HealthClient(address, credentials.createInsecure());
  return new Promise((resolve) =>
    client.check({ service }, new Metadata(), { deadline: new Date(Date.now() + deadlineMs) }, (err, res) => {
      client.close();
      if (err) resolve({ serving: false, detail: `${address}: ${err.message}` });
      else
        resolve({
          serving: res.status === HealthCheckResponse_ServingStatus.SERVING,
          detail: `${address} ${service || '(server)'}: ${HealthCheckResponse_ServingStatus[res.status]}`,
        });
    }),
  );
}

if (require.main === module) {
  const [address, service] = process.argv.slice(2);
  if (!address) {
    process.stderr.write('usage: health-probe HOST:PORT [SERVICE]\n');
    process.exit(2);
  }
  void probeHealth(address, service).then(({ serving, detail }) => {
    process.stdout.write(`${detail}\n`);
    process.exit(serving ? 0 : 1);
  });
}
