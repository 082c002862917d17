/**
 * A google.api.Service configuration file (YAML), for protos you cannot edit: the
 * `http: rules:` of google/api/http.proto (grpc-gateway's `grpc_api_configuration`, Cloud
 * Endpoints' service config), merged with the annotations, plus per-method options that our
 * own `(acme.gateway.v1.method)` annotation would otherwise carry:
 *
 *     type: google.api.Service
 *     config_version: 3
 *     http:
 *       rules:
 *         - selector: pkg.v1.Library.GetBook
 *           get: /v1/books/{id}
 *           additional_bindings: [{ get: "/v1/shelves/{shelf}/books/{id}" }]
 *     backend:
 *       rules:
 *         - selector: pkg.v1.Library.*          # google.api.BackendRule: deadline in seconds
 *           deadline: 5
 *     acme_gateway:                              # ours; grpc-gateway ignores unknown keys
 *       methods:
 *         - selector: pkg.v1.Library.CreateBook
 *           success_status: 201
 *           public: false
 *           roles: [librarian]
 *           timeout_ms: 10000
 *
 * Selectors are a method's full name, `pkg.Service.*`, or `*` (google/api/service.proto).
 * Names are accepted in snake_case and lowerCamelCase, as protojson reads the YAML.
 * Parsed once at start; any problem is a ConfigError naming the rule.
 */
import { readFileSync } from 'node:fs';
import type { HttpRuleShape, MethodOptionsRule, ServiceRules } from './transcode';

/** Thrown for a file that is not a usable service configuration. */
export class ServiceConfigError extends Error {}

const PATTERNS = ['get', 'put', 'post', 'delete', 'patch', 'custom'] as const;

/** Parses YAML text; the `yaml` package (~2 MB of RSS) is loaded only when a YAML file is read. */
export function parseYaml(text: string): unknown {
  return (require('yaml') as typeof import('yaml')).parse(text);
}

/** Reads and validates a service configuration file. */
export function loadServiceConfig(file: string): ServiceRules {
  let data: unknown;
  try {
    data = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ServiceConfigError(`service config ${file}: ${(err as Error).message}`);
  }
  return parseServiceConfig(data, file);
}

/** Validates a parsed service configuration. */
export function parseServiceConfig(data: unknown, where = 'service config'): ServiceRules {
  const root = object(data, where);
  const type = pick(root, 'type');
  if (type !== undefined && type !== 'google.api.Service') throw new ServiceConfigError(`${where}: type must be google.api.Service, got ${String(type)}`);
  const http = list(pick(object(pick(root, 'http') ?? {}, `${where}: http`), 'rules'), `${where}: http.rules`).map((r, i) => {
    const at = `${where}: http.rules[${i}]`;
    const rule = object(r, at);
    return { selector: selector(rule, at), rule: httpRule(rule, at, true) };
  });
  const methods: MethodOptionsRule[] = list(
    pick(object(pick(root, 'acme_gateway') ?? {}, `${where}: acme_gateway`), 'methods'),
    `${where}: acme_gateway.methods`,
  ).map((r, i) => {
    const at = `${where}: acme_gateway.methods[${i}]`;
    const m = object(r, at);
    const successStatus = optional(
      pick(m, 'success_status'),
      (v) => Number.isInteger(v) && (v as number) >= 200 && (v as number) <= 299,
      at,
      'success_status',
      'a 2xx status',
    ) as number | undefined;
    const isPublic = optional(pick(m, 'public'), (v) => typeof v === 'boolean', at, 'public', 'true or false') as boolean | undefined;
    const roles = optional(pick(m, 'roles'), (v) => Array.isArray(v) && v.every((x) => typeof x === 'string'), at, 'roles', 'a list of role names') as
      string[] | undefined;
    const timeoutMs = optional(pick(m, 'timeout_ms'), (v) => Number.isFinite(v) && (v as number) >= 0, at, 'timeout_ms', 'a number of ms >= 0') as
      number | undefined;
    return Object.freeze({ selector: selector(m, at), successStatus, public: isPublic, roles, timeoutMs });
  });
  // google.api.BackendRule: `deadline` in seconds.
  for (const [i, r] of list(pick(object(pick(root, 'backend') ?? {}, `${where}: backend`), 'rules'), `${where}: backend.rules`).entries()) {
    const at = `${where}: backend.rules[${i}]`;
    const b = object(r, at);
    const deadline = optional(pick(b, 'deadline'), (v) => Number.isFinite(v) && (v as number) > 0, at, 'deadline', 'a number of seconds > 0') as
      number | undefined;
    if (deadline !== undefined) methods.push(Object.freeze({ selector: selector(b, at), timeoutMs: Math.round(deadline * 1000) }));
  }
  return Object.freeze({ http: Object.freeze(http), methods: Object.freeze(methods) });
}

function httpRule(r: Record<string, unknown>, at: string, top: boolean): HttpRuleShape {
  const present = PATTERNS.filter((p) => pick(r, p) !== undefined);
  if (present.length !== 1) throw new ServiceConfigError(`${at}: needs exactly one of ${PATTERNS.join(', ')}`);
  const kind = present[0];
  let value: unknown = pick(r, kind);
  if (kind === 'custom') {
    const c = object(value, `${at}.custom`);
    if (typeof pick(c, 'kind') !== 'string' || typeof pick(c, 'path') !== 'string') throw new ServiceConfigError(`${at}: custom needs kind and path`);
    value = { kind: pick(c, 'kind'), path: pick(c, 'path') };
  } else if (typeof value !== 'string') {
    throw new ServiceConfigError(`${at}: ${kind} must be a path template`);
  }
  const body = pick(r, 'body') ?? '';
  const responseBody = pick(r, 'response_body') ?? '';
  if (typeof body !== 'string' || typeof responseBody !== 'string') throw new ServiceConfigError(`${at}: body and response_body are field names`);
  const extra = pick(r, 'additional_bindings');
  if (extra !== undefined && !top) throw new ServiceConfigError(`${at}: additional_bindings must not be nested`);
  const additionalBindings =
    extra === undefined
      ? []
      : list(extra, `${at}.additional_bindings`).map((b, i) =>
          httpRule(object(b, `${at}.additional_bindings[${i}]`), `${at}.additional_bindings[${i}]`, false),
        );
  return { pattern: { case: kind, value }, body, responseBody, additionalBindings };
}

function selector(r: Record<string, unknown>, at: string): string {
  const s = pick(r, 'selector');
  if (typeof s !== 'string' || !/^(\*|[A-Za-z_][\w.]*(\.\*)?)$/.test(s))
    throw new ServiceConfigError(`${at}: selector must be a method's full name, pkg.Service.* or *`);
  return s;
}

/** A key in snake_case or its lowerCamelCase spelling. */
function pick(r: Record<string, unknown>, snake: string): unknown {
  if (r[snake] !== undefined) return r[snake];
  return r[snake.replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase())];
}

function object(v: unknown, at: string): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new ServiceConfigError(`${at}: expected an object`);
  return v as Record<string, unknown>;
}

function list(v: unknown, at: string): unknown[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new ServiceConfigError(`${at}: expected a list`);
  return v;
}

function optional(v: unknown, ok: (v: unknown) => boolean, at: string, name: string, what: string): unknown {
  if (v === undefined) return undefined;
  if (!ok(v)) throw new ServiceConfigError(`${at}: ${name} must be ${what}`);
  return v;
}
