/**
 * What server reflection answers from, compiled once from the descriptor set: every file's bytes
 * exactly as `buf build` wrote them (fully qualified type names, its own `dependency` list), and
 * indexes from symbol, extension and file name to the file that defines it.
 *
 * Serving the compiled files themselves is the point: @grpc/reflection 1.0.4 rebuilt files from
 * proto-loader's view, with relative type names, no dependencies and every google.protobuf type in
 * one file, which grpcurl could not resolve (grpc/grpc-node#3034).
 * Protocol: https://github.com/grpc/grpc/blob/master/doc/server-reflection.md
 */
import { fromBinary } from '@bufbuild/protobuf';
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import { FileDescriptorProtoSchema, type DescriptorProto, type EnumDescriptorProto, type FieldDescriptorProto } from '@bufbuild/protobuf/wkt';

/** One compiled file. */
export interface IndexedFile {
  name: string;
  /** The FileDescriptorProto's bytes as they sit in the set (a view, not a copy). */
  bytes: Buffer;
  /** Files it imports, by name. */
  dependencies: readonly string[];
}

/** Lookups a reflection stream needs; built once, read-only afterwards. */
export interface ReflectionIndex {
  file(name: string): IndexedFile | undefined;
  /** The file defining a fully qualified symbol (message, field, enum, value, service, method, extension). */
  fileOfSymbol(symbol: string): IndexedFile | undefined;
  /** The file declaring extension `number` of message `type`. */
  fileOfExtension(type: string, number: number): IndexedFile | undefined;
  /** Extension numbers declared for message `type`; undefined when no such message exists. */
  extensionNumbers(type: string): readonly number[] | undefined;
  /** Whether `name` is a service in the set. */
  hasService(name: string): boolean;
}

/** FileDescriptorSet.file is field 1 (google/protobuf/descriptor.proto). */
const SET_FILE_FIELD = 1;

/** Builds the index from a serialized FileDescriptorSet; fails on a symbol defined twice. */
export function buildReflectionIndex(setBytes: Uint8Array): ReflectionIndex {
  const files = new Map<string, IndexedFile>();
  const symbols = new Map<string, IndexedFile>();
  const messages = new Set<string>();
  const services = new Set<string>();
  const extensions = new Map<string, Map<number, IndexedFile>>();

  const define = (symbol: string, file: IndexedFile) => {
    const other = symbols.get(symbol);
    if (other && other !== file) throw new Error(`descriptor set: ${symbol} is defined in ${other.name} and ${file.name}`);
    symbols.set(symbol, file);
  };
  const extend = (field: FieldDescriptorProto, scope: string, file: IndexedFile) => {
    define(`${scope}${field.name}`, file);
    const type = field.extendee.replace(/^\./, '');
    let byNumber = extensions.get(type);
    if (!byNumber) extensions.set(type, (byNumber = new Map()));
    byNumber.set(field.number, file);
  };
  const enumType = (e: EnumDescriptorProto, scope: string, file: IndexedFile) => {
    define(`${scope}${e.name}`, file);
    // Enum values are siblings of their enum, not children (protobuf's C++ scoping rules).
    for (const value of e.value) define(`${scope}${value.name}`, file);
  };
  const message = (m: DescriptorProto, scope: string, file: IndexedFile) => {
    const name = `${scope}${m.name}`;
    define(name, file);
    messages.add(name);
    const inner = `${name}.`;
    for (const field of m.field) define(`${inner}${field.name}`, file);
    for (const oneof of m.oneofDecl) define(`${inner}${oneof.name}`, file);
    for (const nested of m.nestedType) message(nested, inner, file);
    for (const e of m.enumType) enumType(e, inner, file);
    for (const ext of m.extension) extend(ext, inner, file);
  };

  for (const bytes of fileBytes(setBytes)) {
    const proto = fromBinary(FileDescriptorProtoSchema, bytes);
    const view = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const file: IndexedFile = Object.freeze({ name: proto.name, bytes: view, dependencies: Object.freeze([...proto.dependency]) });
    if (files.has(file.name)) throw new Error(`descriptor set: ${file.name} appears twice`);
    files.set(file.name, file);
    const scope = proto.package ? `${proto.package}.` : '';
    for (const m of proto.messageType) message(m, scope, file);
    for (const e of proto.enumType) enumType(e, scope, file);
    for (const ext of proto.extension) extend(ext, scope, file);
    for (const service of proto.service) {
      const name = `${scope}${service.name}`;
      define(name, file);
      services.add(name);
      for (const method of service.method) define(`${name}.${method.name}`, file);
    }
  }
  for (const file of files.values()) {
    const missing = file.dependencies.find((d) => !files.has(d));
    if (missing) throw new Error(`descriptor set: ${file.name} imports ${missing}, which the set lacks (build it with imports)`);
  }

  return Object.freeze({
    file: (name: string) => files.get(name),
    fileOfSymbol: (symbol: string) => symbols.get(symbol),
    fileOfExtension: (type: string, number: number) => extensions.get(type)?.get(number),
    extensionNumbers: (type: string) => (messages.has(type) ? [...(extensions.get(type)?.keys() ?? [])].sort((a, b) => a - b) : undefined),
    hasService: (name: string) => services.has(name),
  });
}

/** The bytes of each `file` entry, sliced from the set without re-encoding. */
function fileBytes(setBytes: Uint8Array): Uint8Array[] {
  const reader = new BinaryReader(setBytes);
  const out: Uint8Array[] = [];
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === SET_FILE_FIELD && wireType === WireType.LengthDelimited) out.push(reader.bytes());
    else reader.skip(wireType);
  }
  return out;
}
