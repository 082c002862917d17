/** Clients for the standard services every server carries: health and reflection. */
import { join } from 'node:path';
import { credentials, loadPackageDefinition, makeGenericClientConstructor, type Client, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { service as healthService } from 'grpc-health-check';

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
export function reflectionServices(address: string, version: 'v1' | 'v1alpha'): Promise<string[]> {
  const protoPath = join(require.resolve('@grpc/reflection'), '..', '..', 'proto', 'grpc', 'reflection', version, 'reflection.proto');
  const pkg = loadPackageDefinition(loadSync(protoPath, { keepCase: true })) as unknown as {
    grpc: { reflection: Record<string, { ServerReflection: new (a: string, c: ReturnType<typeof credentials.createInsecure>) => Client }> };
  };
  const client = new pkg.grpc.reflection[version].ServerReflection(address, credentials.createInsecure()) as Client & {
    ServerReflectionInfo(): NodeJS.ReadWriteStream & { write(msg: unknown): boolean; end(): void };
  };
  return new Promise((resolve, reject) => {
    const stream = client.ServerReflectionInfo();
    stream.on('data', (res: { list_services_response?: { service: { name: string }[] }; error_response?: { error_message: string } }) => {
      stream.end();
      client.close();
      if (res.list_services_response) resolve(res.list_services_response.service.map((s) => s.name));
      else reject(new Error(res.error_response?.error_message ?? 'no list_services_response'));
    });
    stream.on('error', (err: Error) => {
      client.close();
      reject(err);
    });
    stream.write({ list_services: '' });
  });
}
