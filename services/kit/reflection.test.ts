/**
 * Server reflection as grpcurl uses it, against the real user and content services on loopback.
 * The client side never reads gen/api.binpb: it knows only the reflection protocol, and everything
 * it resolves comes from the servers' answers.
 */
import { fromBinary, fromJson, toBinary, toJson, type DescMessage, type DescService, type FileRegistry } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt';
import { credentials, Metadata, status, Client, type ServiceError } from '@grpc/grpc-js';
import { startContentService } from '../content/main';
import { tempDir } from '../test-support';
import { expectField, reflectAll, ReflectionStream, type Reflected, type ReflectionVersion } from '../test-support/reflection-client';
import { startUserService } from '../user/main';
import { silentLogger, type RunningService } from '.';

const STANDARD = ['grpc.health.v1.Health', 'grpc.reflection.v1.ServerReflection', 'grpc.reflection.v1alpha.ServerReflection'];
const VERSIONS: ReflectionVersion[] = ['v1', 'v1alpha'];

describe('server reflection', () => {
  const dir = tempDir();
  let users: RunningService;
  let content: RunningService;

  beforeAll(async () => {
    users = await startUserService({ userAddr: '127.0.0.1:0', dataDir: dir.path, databaseUrl: undefined, userAdminEmails: ['root@example.com'] }, silentLogger);
    content = await startContentService(
      { contentAddr: '127.0.0.1:0', userServiceTarget: users.address, dataDir: dir.path, databaseUrl: undefined },
      silentLogger,
    );
    // Two embedded databases start here; on a loaded machine that alone can pass jest's 30 s.
  }, 90_000);
  afterAll(async () => {
    await content.close();
    await users.close();
    dir.remove();
  });

  describe.each(VERSIONS)('%s: a registry rebuilt from the answers alone', (version) => {
    it.each([
      ['user', 'acme.user.v1.UserService'],
      ['content', 'acme.content.v1.ContentService'],
    ])('resolves every service, method and field type of the %s service', async (which, service) => {
      const reflected = await reflectAll(which === 'user' ? users.address : content.address, version);
      expect(reflected.services).toEqual([service, ...STANDARD]);

      const reached = resolveEverything(reflected, reflected.services);
      // What grpcurl failed on with @grpc/reflection 1.0.4, and the health service it did not list.
      for (const name of [
        'google.protobuf.Timestamp',
        'google.protobuf.FieldMask',
        'grpc.health.v1.HealthCheckResponse',
        'grpc.reflection.v1.ServerReflectionRequest',
      ]) {
        expect(reached).toContain(name);
      }
      const health = reflected.registry.getService('grpc.health.v1.Health')!;
      expect(health.methods.map((m) => m.name)).toEqual(expect.arrayContaining(['Check', 'Watch']));
      expect(health.file.proto.name).toBe('grpc/health/v1/health.proto');
    });

    it('sends each file as compiled: fully qualified type names and its own imports, WKTs in their own files', async () => {
      const { files, fetchedByName } = await reflectAll(users.address, version);
      for (const file of files.values()) {
        for (const message of file.messageType) for (const field of message.field) if (field.typeName) expect(field.typeName).toMatch(/^\./);
        for (const service of file.service)
          for (const m of service.method) expect([m.inputType, m.outputType]).toEqual([expect.stringMatching(/^\./), expect.stringMatching(/^\./)]);
      }
      expect(files.get('acme/user/v1/user.proto')!.dependency).toEqual(
        expect.arrayContaining([
          'google/protobuf/timestamp.proto',
          'google/protobuf/field_mask.proto',
          'google/api/annotations.proto',
          'acme/gateway/v1/options.proto',
        ]),
      );
      expect(files.get('google/protobuf/timestamp.proto')!.messageType.map((m) => m.name)).toEqual(['Timestamp']);
      // Symbol answers carry their transitive imports, so nothing was left to fetch by name.
      expect(fetchedByName).toEqual([]);
    });
  });

  describe.each(VERSIONS)('%s: protocol', (version) => {
    let stream: ReflectionStream;
    beforeEach(() => (stream = new ReflectionStream(users.address, version)));
    afterEach(() => stream.close());

    const names = async (request: Parameters<ReflectionStream['ask']>[0]) =>
      expectField(await stream.ask(request), 'fileDescriptorResponse').fileDescriptorProto.map((b) => fromBinary(FileDescriptorProtoSchema, b).name);

    it('answers by filename with the file first, then its transitive imports, each once per stream', async () => {
      const first = await names({ fileByFilename: 'acme/user/v1/user.proto' });
      expect(first[0]).toBe('acme/user/v1/user.proto');
      expect(first).toEqual(expect.arrayContaining(['google/api/http.proto', 'google/protobuf/descriptor.proto', 'google/protobuf/timestamp.proto']));
      expect(new Set(first).size).toBe(first.length);
      // Already sent on this stream: only the file asked for comes back.
      expect(await names({ fileByFilename: 'google/api/annotations.proto' })).toEqual(['google/api/annotations.proto']);
    });

    it.each([
      ['acme.user.v1.UserService.Login', 'acme/user/v1/user.proto'],
      ['acme.user.v1.LoginRequest.email', 'acme/user/v1/user.proto'],
      ['acme.user.v1.ROLE_ADMIN', 'acme/user/v1/user.proto'],
      ['google.protobuf.FieldMask', 'google/protobuf/field_mask.proto'],
      ['grpc.health.v1.HealthCheckResponse.ServingStatus', 'grpc/health/v1/health.proto'],
      ['google.api.http', 'google/api/annotations.proto'],
    ])('finds the file containing %s', async (symbol, file) => {
      expect((await names({ fileContainingSymbol: symbol }))[0]).toBe(file);
    });

    it('finds extensions of a type and the file declaring each', async () => {
      const res = await stream.ask({ allExtensionNumbersOfType: 'google.protobuf.MethodOptions' });
      const numbers = expectField(res, 'allExtensionNumbersResponse');
      expect(numbers.baseTypeName).toBe('google.protobuf.MethodOptions');
      expect(numbers.extensionNumber).toEqual(expect.arrayContaining([72295728, 50710]));
      expect((await names({ fileContainingExtension: { containingType: 'google.protobuf.MethodOptions', extensionNumber: 50710 } }))[0]).toBe(
        'acme/gateway/v1/options.proto',
      );
      expect((await names({ fileContainingExtension: { containingType: 'google.protobuf.MethodOptions', extensionNumber: 72295728 } }))[0]).toBe(
        'google/api/annotations.proto',
      );
    });

    it.each([
      [{ fileByFilename: 'acme/nope.proto' }],
      [{ fileContainingSymbol: 'acme.user.v1.Nope' }],
      [{ fileContainingExtension: { containingType: 'google.protobuf.MethodOptions', extensionNumber: 1 } }],
      [{ allExtensionNumbersOfType: 'acme.Nope' }],
    ])('answers NOT_FOUND in the stream for %j, and keeps serving', async (request) => {
      const res = await stream.ask(request);
      expect(res.errorResponse?.errorCode).toBe(status.NOT_FOUND);
      expect(res.originalRequest).toMatchObject(request);
      expect(expectField(await stream.ask({ listServices: '' }), 'listServicesResponse').service.length).toBe(4);
    });

    it('ends the stream with INVALID_ARGUMENT for a request that asks nothing', async () => {
      await expect(stream.ask({ host: 'x' })).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
    });
  });

  describe.each(VERSIONS)('%s: calls built from reflected types only (grpcurl -d … -H authorization)', (version) => {
    it('signs up, logs in, then makes a protected call with and without the token', async () => {
      const { registry } = await reflectAll(users.address, version);
      const email = `grpcurl-${version}@example.com`;
      await dynamicCall(users.address, registry, 'acme.user.v1.UserService/CreateUser', { email, displayName: 'Grace', password: 'correct horse' });
      const login = await dynamicCall(users.address, registry, 'acme.user.v1.UserService/Login', { email, password: 'correct horse' });
      expect(login).toMatchObject({ accessToken: expect.any(String), user: { email, displayName: 'Grace' }, expireTime: expect.stringMatching(/Z$/) });

      const token = (login as { accessToken: string }).accessToken;
      const id = (login as { user: { id: string } }).user.id;
      const md = new Metadata();
      md.set('authorization', `Bearer ${token}`);
      const read = await dynamicCall(users.address, registry, 'acme.user.v1.UserService/GetUser', { id }, md);
      expect(read).toMatchObject({ user: { id, email, createTime: expect.stringMatching(/Z$/) } });
      await expect(dynamicCall(users.address, registry, 'acme.user.v1.UserService/GetUser', { id })).rejects.toMatchObject({ code: status.UNAUTHENTICATED });
      expect(await dynamicCall(users.address, registry, 'grpc.health.v1.Health/Check', { service: 'acme.user.v1.UserService' })).toEqual({ status: 'SERVING' });
    });
  });
});

/**
 * Walks every listed service's methods and every field type reachable from their messages; fails
 * on anything the registry cannot resolve. Returns the message and enum names reached.
 */
function resolveEverything(reflected: Reflected, services: readonly string[]): Set<string> {
  const { registry } = reflected;
  const reached = new Set<string>();
  const visit = (message: DescMessage) => {
    if (reached.has(message.typeName)) return;
    reached.add(message.typeName);
    expect(registry.getMessage(message.typeName)).toBe(message);
    for (const field of message.fields) {
      // Singular, list and map fields alike carry their element's enum or message (undefined for scalars).
      const enumType = field.enum;
      const messageType = field.message;
      if (enumType) {
        expect(registry.getEnum(enumType.typeName)).toBe(enumType);
        reached.add(enumType.typeName);
      }
      if (messageType) visit(messageType);
    }
  };
  for (const name of services) {
    const service: DescService | undefined = registry.getService(name);
    if (!service) throw new Error(`service ${name} does not resolve from reflection`);
    expect(service.methods.length).toBeGreaterThan(0);
    for (const method of service.methods) {
      visit(method.input);
      visit(method.output);
    }
    for (const dep of reflected.files.get(service.file.proto.name)!.dependency) expect(registry.getFile(dep)).toBeDefined();
  }
  return reached;
}

/** A unary call with request and response types taken from the reflected registry, JSON in and out as grpcurl does. */
function dynamicCall(address: string, registry: FileRegistry, path: string, json: Record<string, unknown>, metadata = new Metadata()): Promise<unknown> {
  const [serviceName, methodName] = path.split('/');
  const method = registry.getService(serviceName)!.methods.find((m) => m.name === methodName)!;
  const client = new Client(address, credentials.createInsecure());
  const request = fromJson(method.input, json as never, { registry });
  return new Promise<unknown>((resolve, reject) =>
    client.makeUnaryRequest(
      `/${path}`,
      (m: typeof request) => Buffer.from(toBinary(method.input, m)),
      (b: Buffer) => fromBinary(method.output, b),
      request,
      metadata,
      (err: ServiceError | null, res) => (err ? reject(err) : resolve(toJson(method.output, res!, { registry }))),
    ),
  ).finally(() => client.close());
}
