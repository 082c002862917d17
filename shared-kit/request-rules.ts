/**
 * `buf.validate` rules as request checks, for the gateway and for the services alike: one
 * @bufbuild/protovalidate validator over a runtime descriptor registry, one check per request
 * message, compiled at start-up. A message that declares no rule (itself or any message inside
 * it) gets no check at all. A rule that does not compile (CEL that does not type-check, a
 * `pattern` that is not RE2 syntax: backreferences, lookaround) stops the start naming where.
 *
 * Regexes (`string.pattern`, CEL `matches()`) have RE2's syntax and meaning and never take
 * exponential time: they run on RE2 (@bufbuild/re2, linear), or on RegExp when their shape
 * rules out runaway backtracking (regex-match.ts), since RE2 in JavaScript is slow.
 */
import { create, hasOption, type DescExtension, type DescField, type DescMessage, type Message, type Registry } from '@bufbuild/protobuf';
import type { Path } from '@bufbuild/protobuf/reflect';
import type { Validator, Violation } from '@bufbuild/protovalidate';

/** How a violation names its field: proto3 JSON names (`post.tags[2]`, the gateway) or proto names (`display_name`, gRPC). */
export type FieldNaming = 'json' | 'proto';

/** One broken rule: the field's path and what is wrong with it. */
export interface RuleViolation {
  field: string;
  description: string;
}

/** Checks one decoded request: every violation, in field order; empty when it keeps every rule. */
export type RuleCheck = (message: Message) => RuleViolation[];

/** Compiles checks over `registry`; `checkFor(input, where)` is undefined when `input` carries no rule. */
export function createRuleChecks(registry: Registry, naming: FieldNaming): (input: DescMessage, where: string) => RuleCheck | undefined {
  // protovalidate, CEL and RE2 (~10 MB of RSS) are loaded when the first message with rules
  // is met, at start-up still: a process whose routes carry no rule never loads them.
  let validator: Validator | undefined;
  const validatorNow = (): Validator => {
    if (validator) return validator;
    const { createValidator } = require('@bufbuild/protovalidate') as typeof import('@bufbuild/protovalidate');
    const { createRegexMatch } = require('./regex-match') as typeof import('./regex-match');
    return (validator = createValidator({ registry, regexMatch: createRegexMatch() }));
  };
  const fieldRules = registry.getExtension('buf.validate.field');
  const messageRules = registry.getExtension('buf.validate.message');
  const withRules = new Map<DescMessage, boolean>();
  const name = naming === 'json' ? (f: DescField) => f.jsonName : (f: DescField) => f.name;
  const toViolation = (v: Violation): RuleViolation => ({ field: fieldPath(v.field, name), description: v.message });

  const probed = new Set<DescMessage>();
  return (input, where) => {
    if (!hasRules(input, fieldRules, messageRules, withRules)) return undefined;
    const validator = validatorNow();
    // protovalidate compiles a message's rules when it first meets one, nested ones included:
    // meet each now, so a rule that does not compile fails the start instead of a request.
    for (const message of reachable(input)) {
      if (probed.has(message) || !withRules.get(message)) continue;
      const probe = validator.validate(message, create(message));
      if (probe.kind === 'error') throw new Error(`${where}: a buf.validate rule of ${message.typeName} does not compile: ${probe.error.message}`);
      probed.add(message);
    }
    return (message) => {
      const result = validator.validate(input, message);
      if (result.kind === 'valid') return [];
      if (result.kind === 'invalid') return result.violations.map(toViolation);
      throw result.error; // a rule that fails while evaluating: the caller's INTERNAL, logged
    };
  };
}

/** A violation's field path: `post.tags[2]`, `labels["k"]`. */
function fieldPath(path: Path, name: (f: DescField) => string): string {
  let out = '';
  for (const item of path) {
    if (item.kind === 'field') out += out === '' ? name(item) : `.${name(item)}`;
    else if (item.kind === 'list_sub') out += `[${item.index}]`;
    else if (item.kind === 'map_sub') out += `[${JSON.stringify(String(item.key))}]`;
  }
  return out;
}

/** `message` and every message type reachable through its fields. */
function reachable(message: DescMessage, out = new Set<DescMessage>()): Set<DescMessage> {
  if (out.has(message)) return out;
  out.add(message);
  for (const f of message.fields) {
    const sub = f.fieldKind === 'message' || f.fieldKind === 'list' || f.fieldKind === 'map' ? f.message : undefined;
    if (sub) reachable(sub, out);
  }
  return out;
}

const has = hasOption as unknown as (element: DescField | DescMessage, ext: DescExtension) => boolean;

/** True when `message` or a message reachable from it declares a rule. */
function hasRules(message: DescMessage, field: DescExtension | undefined, whole: DescExtension | undefined, seen: Map<DescMessage, boolean>): boolean {
  const known = seen.get(message);
  if (known !== undefined) return known;
  seen.set(message, false); // a cycle adds nothing
  let found = (whole !== undefined && has(message, whole)) || (field !== undefined && message.fields.some((f) => has(f, field)));
  if (!found) {
    for (const f of message.fields) {
      const sub = f.fieldKind === 'message' ? f.message : f.fieldKind === 'list' || f.fieldKind === 'map' ? f.message : undefined;
      if (sub && hasRules(sub, field, whole, seen)) {
        found = true;
        break;
      }
    }
  }
  seen.set(message, found);
  return found;
}
