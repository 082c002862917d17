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
  /** `rate_limit` from the proto: per-caller token bucket; undefined leaves the gateway's default. */
  readonly rateLimit?: { readonly requestsPerMinute: number; readonly burst: number };
}

// protobuf-es types options by generated extension; ours are dynamic, read from the descriptor set.
const readOption = getOption as unknown as (element: DescMethod, ext: DescExtension) => unknown;
const hasMethodOption = hasOption as unknown as (element: DescMethod, ext: DescExtension) => boolean;

const DEFAULT_POLICY: MethodPolicy = Object.freeze({ successStatus: 200, public: false, roles: [] });

/** Thrown at start-up for an HttpRule the spec does not allow. */
export class HttpRuleError extends Error {}

/** An HttpRule as protobuf-es reads the option (and as a service configuration file gives it). */
export interface HttpRuleShape {
  pattern: { case: string | undefined; value: unknown };
  body: string;
  responseBody: string;
  additionalBindings: HttpRuleShape[];
}

/** Per-method options from a service configuration file; unset ones leave the annotation's. */
export interface MethodOptionsRule {
  readonly selector: string;
  readonly successStatus?: number;
  readonly public?: boolean;
  readonly roles?: readonly string[];
  readonly timeoutMs?: number;
}

/**
 * What a google.api.Service configuration file adds to the annotations (loaded by
 * gateway/service-config.ts): HTTP rules, and our method options, by selector.
 */
export interface ServiceRules {
  readonly http: ReadonlyArray<{ readonly selector: string; readonly rule: HttpRuleShape }>;
  readonly methods: readonly MethodOptionsRule[];
}

export const NO_SERVICE_RULES: ServiceRules = Object.freeze({ http: [], methods: [] });

/** True when `selector` (google/api/service.proto: a full name, `pkg.Service.*` or `*`) selects `service`.`method`. */
export function selects(selector: string, service: string, method: string): boolean {
  return selector === '*' || selector === `${service}.${method}` || selector === `${service}.*`;
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

/**
 * The HTTP bindings of `method`: the annotation's rule and its additional_bindings, then
 * those of every rule of a service configuration file that selects the method (merged, as
 * grpc-gateway merges its grpc_api_configuration with the annotations).
 */
export function httpBindings(method: DescMethod, ext: OptionExtensions, rules: ServiceRules = NO_SERVICE_RULES): HttpBinding[] {
  const out: HttpBinding[] = [];
  if (ext.http && hasMethodOption(method, ext.http)) addRule(out, readOption(method, ext.http) as HttpRuleShape);
  for (const { selector, rule } of rules.http) {
    if (selects(selector, method.parent.typeName, method.name)) addRule(out, rule);
  }
  return out;
}

function addRule(out: HttpBinding[], rule: HttpRuleShape): void {
  out.push(toBinding(rule));
  for (const extra of rule.additionalBindings) {
    // google/api/http.proto: "additional_bindings ... must not contain an additional_bindings field themselves".
    if (extra.additionalBindings.length > 0) throw new HttpRuleError('additional_bindings must not be nested');
    out.push(toBinding(extra));
  }
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

/**
 * The gateway policy of `method`: its annotation, then what service configuration rules
 * selecting it set (in file order, the last winning), with defaults for what is left unset.
 */
export function methodPolicy(method: DescMethod, ext: OptionExtensions, rules: ServiceRules = NO_SERVICE_RULES): MethodPolicy {
  const annotated = ext.policy !== undefined && hasMethodOption(method, ext.policy);
  const selected = rules.methods.filter((m) => selects(m.selector, method.parent.typeName, method.name));
  if (!annotated && selected.length === 0) return DEFAULT_POLICY;
  const p = annotated
    ? {
        ...(readOption(method, ext.policy!) as {
          successStatus: number;
          public: boolean;
          roles: string[];
          rateLimit?: { requestsPerMinute: number; burst: number };
        }),
      }
    : { successStatus: 0, public: false, roles: [] as string[], rateLimit: undefined };
  for (const m of selected) {
    if (m.successStatus !== undefined) p.successStatus = m.successStatus;
    if (m.public !== undefined) p.public = m.public;
    if (m.roles !== undefined) p.roles = [...m.roles];
  }
  const successStatus = p.successStatus || 200;
  if (successStatus < 200 || successStatus > 299) {
    throw new HttpRuleError(`success_status ${successStatus} is not a 2xx status`);
  }
  const rl = p.rateLimit;
  const rateLimit =
    rl && rl.requestsPerMinute > 0
      ? Object.freeze({ requestsPerMinute: rl.requestsPerMinute, burst: rl.burst || Math.max(1, Math.floor(rl.requestsPerMinute / 6)) })
      : undefined;
  return Object.freeze({ successStatus, public: p.public, roles: Object.freeze([...p.roles]), ...(rateLimit ? { rateLimit } : {}) });
}
