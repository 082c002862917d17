/** The compose healthcheck's probe against a real grpc-js server with the kit's health service. */
import { UserServiceService } from '../gen/acme/user/v1/user';
import { silentLogger, startGrpcServer, type RunningServer } from '../services/kit';
import { probeHealth } from './health-probe';

describe('health-probe', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startGrpcServer('127.0.0.1:0', [{ name: 'acme.user.v1.UserService', definition: UserServiceService, implementation: {} }], silentLogger);
  });
  afterAll(() => server.shutdown(1000));

  it('passes for the server and a service it serves', async () => {
    expect(await probeHealth(server.address)).toMatchObject({ serving: true });
    expect(await probeHealth(server.address, 'acme.user.v1.UserService')).toEqual({
      serving: true,
      detail: `${server.address} acme.user.v1.UserService: SERVING`,
    });
  });

  it('fails for a service the server does not know', async () => {
    expect(await probeHealth(server.address, 'acme.nope.v1.Nope')).toMatchObject({ serving: false, detail: expect.stringMatching(/NOT_FOUND/) });
  });

  it('fails when nothing listens', async () => {
    const closed = await startGrpcServer('127.0.0.1:0', [], silentLogger);
    await closed.shutdown(0);
    expect((await probeHealth(closed.address, '', 1000)).serving).toBe(false);
  });
});
