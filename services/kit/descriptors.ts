/**
 * The descriptor set built by `buf build` (gen/api.binpb): the source of truth for
 * reflection and for per-method policy. Read and parsed once per process.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createFileRegistry, fromBinary, getExtension, hasExtension, type DescMessage, type FileRegistry } from '@bufbuild/protobuf';
import { FileDescriptorSetSchema, type FileDescriptorSet } from '@bufbuild/protobuf/wkt';
import { createRuleChecks, type RuleCheck } from '../../shared-kit';
import { buildReflectionIndex, type ReflectionIndex } from './reflection-index';

/** What `(acme.gateway.v1.method)` says about one RPC, as far as the services care. */
export interface MethodPolicy {
  /** Callable without a token (a token that is sent is still verified). */
  public: boolean;
  /** Any one of these roles is required; empty means any authenticated caller. */
  roles: readonly string[];
}

const POLICY_EXTENSION = 'acme.gateway.v1.method';

let bytes: Buffer | undefined;
let set: FileDescriptorSet | undefined;
let policies: ReadonlyMap<string, MethodPolicy> | undefined;
let index: ReflectionIndex | undefined;
let registry: FileRegistry | undefined;
let ruleChecks: ((input: DescMessage, where: string) => RuleCheck | undefined) | undefined;

/** The raw bytes of gen/api.binpb, read once. */
export function descriptorSetBytes(): Buffer {
  bytes ??= readFileSync(descriptorSetPath());
  return bytes;
}

/** gen/ sits at the repo root: two levels up from services/kit (sources), three from dist/services/kit. */
function descriptorSetPath(): string {
  const candidates = [join(__dirname, '..', '..', 'gen', 'api.binpb'), join(__dirname, '..', '..', '..', 'gen', 'api.binpb')];
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`gen/api.binpb not found (looked at ${candidates.join(', ')}): run npm run gen`);
  return found;
}

/** The decoded set, for method policies. */
function descriptorSet(): FileDescriptorSet {
  set ??= fromBinary(FileDescriptorSetSchema, descriptorSetBytes());
  return set;
}

/** The set as a protobuf-es registry (messages, services, extensions), built once. */
function descriptorRegistry(): FileRegistry {
  registry ??= createFileRegistry(descriptorSet());
  return registry;
}

/**
 * The `buf.validate` check of a method's request (path `/pkg.Service/Method`), compiled now;
 * undefined when its request message carries no rule. Field paths use proto names (`post.tags[1]`).
 */
export function requestRules(path: string): { input: DescMessage; check: RuleCheck } | undefined {
  const [service, method] = path.slice(1).split('/');
  const input = descriptorRegistry()
    .getService(service)
    ?.methods.find((m) => m.name === method)?.input;
  if (!input) throw new Error(`no descriptor for method ${path}: regenerate gen/ with npm run gen`);
  ruleChecks ??= createRuleChecks(descriptorRegistry(), 'proto');
  const check = ruleChecks(input, path);
  return check && { input, check };
}

/** What server reflection answers from: the set's files, by name and by symbol. */
export function reflectionIndex(): ReflectionIndex {
  index ??= buildReflectionIndex(descriptorSetBytes());
  return index;
}

/** Policies keyed by gRPC path (`/acme.user.v1.UserService/Login`). */
export function methodPolicies(): ReadonlyMap<string, MethodPolicy> {
  policies ??= readPolicies(descriptorRegistry());
  return policies;
}

/** The policy of one method; fails loudly at start-up for a path the descriptors do not know. */
export function methodPolicy(path: string): MethodPolicy {
  const policy = methodPolicies().get(path);
  if (!policy) throw new Error(`no descriptor for method ${path}: regenerate gen/ with npm run gen`);
  return policy;
}

function readPolicies(registry: FileRegistry): ReadonlyMap<string, MethodPolicy> {
  const ext = registry.getExtension(POLICY_EXTENSION);
  if (!ext) throw new Error(`extension ${POLICY_EXTENSION} missing from gen/api.binpb`);
  const out = new Map<string, MethodPolicy>();
  for (const desc of registry) {
    if (desc.kind !== 'service') continue;
    for (const method of desc.methods) {
      const options = method.proto.options;
      const raw = options && hasExtension(options, ext) ? (getExtension(options, ext) as { public: boolean; roles: string[] }) : undefined;
      out.set(`/${desc.typeName}/${method.name}`, Object.freeze({ public: raw?.public ?? false, roles: Object.freeze([...(raw?.roles ?? [])]) }));
    }
  }
  return out;
}
