/**
 * Reads `google.api.http` (and our `acme.gateway.v1.method` policy) off method descriptors:
 * one HttpBinding per HTTP verb/path the method answers, additional_bindings flattened.
 */
import { getOption, hasOption, type DescExtension, type DescMethod, type Registry } from '@bufbuild/protobuf';

/** One HTTP binding of an RPC. */
export interface HttpBinding {
  /** GET, POST, PUT, PATCH, DELETE or a custom verb (upper-cased). */
  readonly httpMethod: string;
  readonly path: string;
  /** '' (no body), '*' (whole message) or a top-level field name. */
  readonly body: string;
  /** '' (whole response) or a top-level field name of the response. */
  readonly responseBody: string;
}

/** Gateway policy of an RPC, from `(acme.gateway.v1.method)`. */
export interface MethodPolicy {
  readonly successStatus: number;
  readonly public: boolean;
  readonly roles: readonly string[];
}

// protobuf-es types options by generated extension; ours are dynamic, read from the descriptor set.
const readOption = getOption as unknown as (element: DescMethod, ext: DescExtension) => unknown;
const hasMethodOption = hasOption as unknown as (element: DescMethod, ext: DescExtension) => boolean;

const DEFAULT_POLICY: MethodPolicy = Object.freeze({ successStatus: 200, public: false, roles: [] });

/** Thrown at start-up for an HttpRule the spec does not allow. */
export class HttpRuleError extends Error {}

interface HttpRuleShape {
  pattern: { case: string | undefined; value: unknown };
  body: string;
  responseBody: string;
  additionalBindings: HttpRuleShape[];
}

/** The option extensions a registry knows; absent ones simply yield no rules / defaults. */
export interface OptionExtensions {
  readonly http: DescExtension | undefined;
  readonly policy: DescExtension | undefined;
}

/** Finds the option extensions in a registry built from a descriptor set. */
export function optionExtensions(registry: Registry): OptionExtensions {
  return {
    http: registry.getExtension('google.api.http'),
    policy: registry.getExtension('acme.gateway.v1.method'),
  };
}

/** The HTTP bindings of `method`: the rule itself, then its additional_bindings. */
export function httpBindings(method: DescMethod, ext: OptionExtensions): HttpBinding[] {
  if (!ext.http || !hasMethodOption(method, ext.http)) return [];
  const rule = readOption(method, ext.http) as HttpRuleShape;
  const out = [toBinding(rule)];
  for (const extra of rule.additionalBindings) {
    // google/api/http.proto: "additional_bindings ... must not contain an additional_bindings field themselves".
    if (extra.additionalBindings.length > 0) throw new HttpRuleError('additional_bindings must not be nested');
    out.push(toBinding(extra));
  }
  return out;
}

function toBinding(rule: HttpRuleShape): HttpBinding {
  const { case: kind, value } = rule.pattern;
  let httpMethod: string;
  let path: string;
  if (kind === 'custom') {
    const custom = value as { kind: string; path: string };
    httpMethod = custom.kind.toUpperCase();
    path = custom.path;
  } else if (kind === 'get' || kind === 'put' || kind === 'post' || kind === 'delete' || kind === 'patch') {
    httpMethod = kind.toUpperCase();
    path = value as string;
  } else {
    throw new HttpRuleError('HttpRule has no pattern (get, put, post, delete, patch or custom)');
  }
  if (!path) throw new HttpRuleError(`HttpRule ${httpMethod} has an empty path`);
  return { httpMethod, path, body: rule.body, responseBody: rule.responseBody };
}

/** The gateway policy of `method`, with defaults for what it leaves unset. */
export function methodPolicy(method: DescMethod, ext: OptionExtensions): MethodPolicy {
  if (!ext.policy || !hasMethodOption(method, ext.policy)) return DEFAULT_POLICY;
  const p = readOption(method, ext.policy) as { successStatus: number; public: boolean; roles: string[] };
  const successStatus = p.successStatus || 200;
  if (successStatus < 200 || successStatus > 299) {
    throw new HttpRuleError(`success_status ${successStatus} is not a 2xx status`);
  }
  return Object.freeze({ successStatus, public: p.public, roles: Object.freeze([...p.roles]) });
}
