/**
 * gRPC server reflection, v1 and v1alpha (one implementation: the two protocols differ only in
 * package name), answered from the compiled descriptor set through a ReflectionIndex.
 * Protocol: https://github.com/grpc/grpc/blob/master/doc/server-reflection.md; behaviour follows
 * grpc-go's reflection server, which grpcurl is built and tested against.
 */
import { status, type Server, type ServerDuplexStream, type ServerErrorResponse } from '@grpc/grpc-js';
import {
  ServerReflectionService as ReflectionV1,
  type ServerReflectionRequest,
  type ServerReflectionResponse,
  type ServerReflectionServer,
} from '../../gen/grpc/reflection/v1/reflection';
import { ServerReflectionService as ReflectionV1Alpha } from '../../gen/grpc/reflection/v1alpha/reflection';
import type { IndexedFile, ReflectionIndex } from './reflection-index';

/** The reflection services themselves, listed like any other (as grpc-go does). */
export const REFLECTION_SERVICE_NAMES = ['grpc.reflection.v1.ServerReflection', 'grpc.reflection.v1alpha.ServerReflection'] as const;

/**
 * Adds both reflection services to `server`. `listed` names the services list_services reports
 * (the reflection services are added); each must exist in the index, or this throws at start-up.
 * Any file or symbol of the descriptor set can be fetched, as with grpc-go's global registry.
 */
export function addReflection(server: Server, index: ReflectionIndex, listed: readonly string[]): void {
  const names = [...new Set([...listed, ...REFLECTION_SERVICE_NAMES])].sort();
  const unknown = names.filter((n) => !index.hasService(n));
  if (unknown.length > 0) throw new Error(`reflection: ${unknown.join(', ')} not in the descriptor set: run npm run gen`);
  const implementation: ServerReflectionServer = { serverReflectionInfo: (call) => serveStream(call, index, names) };
  server.addService(ReflectionV1, implementation);
  server.addService(ReflectionV1Alpha, implementation);
}

type ReflectionCall = ServerDuplexStream<ServerReflectionRequest, ServerReflectionResponse>;

/** One stream: a response per request, in order, until the client half-closes. */
function serveStream(call: ReflectionCall, index: ReflectionIndex, names: readonly string[]): void {
  // Files already sent on this stream are not sent again as dependencies (the client has them).
  const sent = new Set<string>();
  call.on('data', (request: ServerReflectionRequest) => {
    const response = answer(request, index, names, sent);
    // grpc-go ends the stream on a request with no question in it.
    if (response) call.write(response);
    else call.emit('error', { code: status.INVALID_ARGUMENT, details: 'reflection request names no message_request' } satisfies Partial<ServerErrorResponse>);
  });
  call.on('end', () => call.end());
}

function answer(request: ServerReflectionRequest, index: ReflectionIndex, names: readonly string[], sent: Set<string>): ServerReflectionResponse | undefined {
  const base = { validHost: request.host, originalRequest: request };
  const notFound = (message: string): ServerReflectionResponse => ({ ...base, errorResponse: { errorCode: status.NOT_FOUND, errorMessage: message } });
  const files = (file: IndexedFile | undefined, message: string): ServerReflectionResponse =>
    file ? { ...base, fileDescriptorResponse: { fileDescriptorProto: withDependencies(file, index, sent) } } : notFound(message);

  if (request.fileByFilename !== undefined) return files(index.file(request.fileByFilename), `file not found: ${request.fileByFilename}`);
  if (request.fileContainingSymbol !== undefined) {
    return files(index.fileOfSymbol(request.fileContainingSymbol), `symbol not found: ${request.fileContainingSymbol}`);
  }
  if (request.fileContainingExtension !== undefined) {
    const { containingType, extensionNumber } = request.fileContainingExtension;
    return files(index.fileOfExtension(containingType, extensionNumber), `extension not found: ${containingType} ${extensionNumber}`);
  }
  if (request.allExtensionNumbersOfType !== undefined) {
    const numbers = index.extensionNumbers(request.allExtensionNumbersOfType);
    if (!numbers) return notFound(`type not found: ${request.allExtensionNumbersOfType}`);
    return { ...base, allExtensionNumbersResponse: { baseTypeName: request.allExtensionNumbersOfType, extensionNumber: [...numbers] } };
  }
  if (request.listServices !== undefined) return { ...base, listServicesResponse: { service: names.map((name) => ({ name })) } };
  return undefined;
}

/**
 * The file first, then its transitive imports not yet sent on this stream (breadth first, as
 * grpc-go does): grpcurl builds its registry from these and asks by filename for anything missing.
 */
function withDependencies(file: IndexedFile, index: ReflectionIndex, sent: Set<string>): Buffer[] {
  const out: Buffer[] = [];
  const seen = new Set<string>();
  const queue: IndexedFile[] = [file];
  while (queue.length > 0) {
    const current = queue.shift()!;
    if (seen.has(current.name)) continue;
    seen.add(current.name);
    if (out.length === 0 || !sent.has(current.name)) {
      sent.add(current.name);
      out.push(current.bytes);
    }
    for (const dep of current.dependencies) queue.push(index.file(dep)!);
  }
  return out;
}
