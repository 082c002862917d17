/**
 * Request validation from `buf.validate` rules in the descriptors, before the upstream call:
 * each decoded request message is checked with @bufbuild/protovalidate, and a request that
 * breaks any rule is 400 INVALID_ARGUMENT (reason VALIDATION_FAILED) with a
 * google.rpc.BadRequest listing every violation by its JSON path (`tags[2]`, `post.title`).
 * Routes whose request message carries no rule get no interceptor at all (decided at
 * start-up). Regex rules (`string.pattern`) run on protovalidate's default engine, RE2
 * (@bufbuild/re2: linear time, no backreferences or lookaround), never on JavaScript's
 * backtracking RegExp, so a rule cannot be a ReDoS hazard.
 */
import { fromBinary, hasOption, type DescExtension, type DescField, type DescMessage, type Registry } from '@bufbuild/protobuf';
import type { Path } from '@bufbuild/protobuf/reflect';
import { createValidator, type Violation } from '@bufbuild/protovalidate';
import { encodeMessages, encodeRequest, mapMessages, type InterceptorFactory } from '../pipeline';
import { GatewayError, type FieldViolation } from '../transcode';

/** Validates requests of routes whose service is not switched off by `skip`. */
export function validationInterceptor(registry: Registry, skip: (service: string) => boolean): InterceptorFactory {
  const validator = createValidator({ registry });
  const fieldRules = registry.getExtension('buf.validate.field');
  const messageRules = registry.getExtension('buf.validate.message');
  const withRules = new Map<DescMessage, boolean>();
  return (route) => {
    const input = route.rpc.input;
    if (skip(route.rpc.service) || !hasRules(input, fieldRules, messageRules, withRules)) return undefined;
    const check = (bytes: Uint8Array): void => {
      const result = validator.validate(input, fromBinary(input, bytes));
      if (result.kind === 'valid') return;
      if (result.kind === 'invalid') {
        const violations = result.violations.map(toFieldViolation);
        throw new GatewayError('VALIDATION_FAILED', `request violates ${violations.length} rule(s) of ${input.typeName}`, violations);
      }
      throw result.error; // a rule that does not compile: INTERNAL, logged
    };
    const checked = (bytes: Uint8Array): Uint8Array => {
      check(bytes);
      return bytes;
    };
    const streaming = route.rpc.kind === 'client_streaming' || route.rpc.kind === 'bidi_streaming';
    return (next) => async (call) => {
      // Stream messages are checked one by one as they go upstream: a bad one fails the call there.
      if (streaming) call.messages = mapMessages(encodeMessages(call), checked);
      else check(encodeRequest(call));
      return next(call);
    };
  };
}

/** One violation as a BadRequest field violation, its field named by JSON path. */
function toFieldViolation(v: Violation): FieldViolation {
  return { field: jsonPath(v.field), description: v.message };
}

function jsonPath(path: Path): string {
  let out = '';
  for (const item of path) {
    if (item.kind === 'field') out += out === '' ? item.jsonName : `.${item.jsonName}`;
    else if (item.kind === 'list_sub') out += `[${item.index}]`;
    else if (item.kind === 'map_sub') out += `[${JSON.stringify(String(item.key))}]`;
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
