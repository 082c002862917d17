/** Clients for the standard services every server carries: health and reflection. */
import { credentials, makeGenericClientConstructor, type Client, type ServiceError } from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import { expectField, ReflectionStream, type ReflectionVersion } from './reflection-client';

/** grpc.health.v1.Health/Check status for `service` ('' = the whole server). */
export function healthStatus(address: string, service = ''): Promise<string> {
  const Health = makeGenericClientConstructor(healthService, 'Health');
  const client = new Health(address, credentials.createInsecure()) as unknown as Client & {
    check(req: { service: string }, cb: (err: ServiceError | null, res: { status: string }) => void): void;
  };
  return new Promise((resolve, reject) =>
    client.check({ service }, (err, res) => {
      client.close();
      if (err) reject(err);
      else resolve(res.status);
    }),
  );
}

/** Service names listed by server reflection (`v1` or `v1alpha`), as `grpcurl list` would show them. */
export async function reflectionServices(address: string, version: ReflectionVersion): Promise<string[]> {
  const stream = new ReflectionStream(address, version);
  try {
    return expectField(await stream.ask({ listServices: '' }), 'listServicesResponse').service.map((s) => s.name);
  } finally {
    stream.close();
  }
}
