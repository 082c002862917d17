/**
 * Loads the descriptor set the gateway serves. The registry used for JSON (Any, error
 * details) also holds our own built-in set (gen/api.binpb: google.rpc.*, google.api.*), so
 * rich error details decode even when a user's set does not import them; the user's types
 * win on a name clash.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { createFileRegistry, createRegistry, fromBinary, type FileRegistry, type Registry } from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';

export interface LoadedDescriptors {
  /** Only the user's files: services are served from here. */
  readonly files: FileRegistry;
  /** User's files over the built-in ones: for Any and details. */
  readonly registry: Registry;
}

/** Reads and links a binary FileDescriptorSet; throws naming the file on failure. */
export function loadDescriptors(file: string, builtinFile: string): LoadedDescriptors {
  const files = readSet(file);
  const builtin = path.resolve(file) === path.resolve(builtinFile) ? files : readSet(builtinFile);
  return { files, registry: builtin === files ? files : createRegistry(builtin, files) };
}

function readSet(file: string): FileRegistry {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new Error(`cannot read descriptor set ${file}: ${(err as Error).message}`, { cause: err });
  }
  try {
    return createFileRegistry(fromBinary(FileDescriptorSetSchema, bytes));
  } catch (err) {
    throw new Error(`${file} is not a usable FileDescriptorSet (build it with \`buf build -o\`, imports included): ${(err as Error).message}`, { cause: err });
  }
}
