/**
 * A server-reflection client that works the way grpcurl does (jhump/protoreflect's grpcreflect):
 * one bidi stream, list_services, file_containing_symbol per service, then file_by_filename for
 * every import it has not received yet, and a registry built from those answers alone. It never
 * reads gen/api.binpb: what it resolves, grpcurl resolves.
 */
import { createFileRegistry, fromBinary, type FileRegistry } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema, type FileDescriptorProto } from '@bufbuild/protobuf/wkt';
import { credentials, type ClientDuplexStream } from '@grpc/grpc-js';
import * as v1 from '../../gen/grpc/reflection/v1/reflection';
import * as v1alpha from '../../gen/grpc/reflection/v1alpha/reflection';

export type ReflectionVersion = 'v1' | 'v1alpha';
type Request = Partial<v1.ServerReflectionRequest>;
type Response = v1.ServerReflectionResponse;

/** One reflection stream; requests are answered in order. */
export class ReflectionStream {
  private readonly client: v1.ServerReflectionClient;
  private readonly stream: ClientDuplexStream<v1.ServerReflectionRequest, Response>;
  private readonly waiting: { resolve(r: Response): void; reject(e: Error): void }[] = [];
  private failure: Error | undefined;

  constructor(address: string, version: ReflectionVersion) {
    const Client = version === 'v1' ? v1.ServerReflectionClient : v1alpha.ServerReflectionClient;
    this.client = new Client(address, credentials.createInsecure()) as v1.ServerReflectionClient;
    this.stream = this.client.serverReflectionInfo();
    this.stream.on('data', (res: Response) => this.waiting.shift()?.resolve(res));
    this.stream.on('error', (err: Error) => {
      this.failure = err;
      for (const w of this.waiting.splice(0)) w.reject(err);
    });
  }

  /** Sends one request and waits for its response. */
  ask(request: Request): Promise<Response> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.stream.write({ host: '', ...request });
    });
  }

  /** Half-closes the stream and closes the channel. */
  close(): void {
    this.stream.end();
    this.client.close();
  }
}

/** What a grpcurl-like client learns from reflection alone. */
export interface Reflected {
  services: string[];
  /** Every file received, by name, decoded. */
  files: Map<string, FileDescriptorProto>;
  /** Requests made by filename, in order (the dependencies the symbol answers did not carry). */
  fetchedByName: string[];
  registry: FileRegistry;
}

/** Lists the services, fetches each one's file by symbol, follows imports by filename, builds a registry. */
export async function reflectAll(address: string, version: ReflectionVersion): Promise<Reflected> {
  const stream = new ReflectionStream(address, version);
  try {
    const listed = await stream.ask({ listServices: '*' });
    const services = expectField(listed, 'listServicesResponse').service.map((s) => s.name);
    const files = new Map<string, FileDescriptorProto>();
    const fetchedByName: string[] = [];
    const take = (res: Response) => {
      for (const bytes of expectField(res, 'fileDescriptorResponse').fileDescriptorProto) {
        const file = fromBinary(FileDescriptorProtoSchema, bytes);
        files.set(file.name, file);
      }
    };
    const roots: string[] = [];
    for (const service of services) {
      const res = await stream.ask({ fileContainingSymbol: service });
      take(res);
      roots.push(fromBinary(FileDescriptorProtoSchema, expectField(res, 'fileDescriptorResponse').fileDescriptorProto[0]).name);
    }
    for (let missing = missingDependencies(files); missing.length > 0; missing = missingDependencies(files)) {
      for (const name of missing) {
        fetchedByName.push(name);
        take(await stream.ask({ fileByFilename: name }));
      }
    }
    // One registry per root file, resolving imports by name from what reflection sent.
    const registry = createFileRegistry(...roots.map((root) => createFileRegistry(files.get(root)!, (name) => files.get(name))));
    return { services, files, fetchedByName, registry };
  } finally {
    stream.close();
  }
}

function missingDependencies(files: Map<string, FileDescriptorProto>): string[] {
  const missing = new Set<string>();
  for (const file of files.values()) for (const dep of file.dependency) if (!files.has(dep)) missing.add(dep);
  return [...missing];
}

/** The response's answer of the expected kind; an error_response or another kind fails loudly. */
export function expectField<K extends 'listServicesResponse' | 'fileDescriptorResponse' | 'allExtensionNumbersResponse'>(
  res: Response,
  key: K,
): NonNullable<Response[K]> {
  if (res.errorResponse) throw new Error(`reflection error ${res.errorResponse.errorCode}: ${res.errorResponse.errorMessage}`);
  const value = res[key];
  if (!value) throw new Error(`reflection answered without ${key}`);
  return value as NonNullable<Response[K]>;
}
