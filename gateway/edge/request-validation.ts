/**
 * Request validation from `buf.validate` rules in the descriptors, before the upstream call:
 * each decoded request message is checked with @bufbuild/protovalidate (shared-kit's rule
 * checks, which the services run too), and a request that breaks any rule is 400
 * INVALID_ARGUMENT (reason VALIDATION_FAILED) with a google.rpc.BadRequest listing every
 * violation by its JSON path (`tags[2]`, `post.title`). Routes whose request message carries
 * no rule get no interceptor at all, and the rules are compiled at start-up (a rule that does
 * not compile stops the start naming the method). Regex rules run on RE2: no ReDoS.
 */
import { fromBinary, type Registry } from '@bufbuild/protobuf';
import { createRuleChecks } from '../../shared-kit';
import { encodeMessages, encodeRequest, mapMessages, type InterceptorFactory } from '../pipeline';
import { GatewayError } from '../transcode';

/** Validates requests of routes whose service is not switched off by `skip`. */
export function validationInterceptor(registry: Registry, skip: (service: string) => boolean): InterceptorFactory {
  const checkFor = createRuleChecks(registry, 'json');
  return (route) => {
    const input = route.rpc.input;
    if (skip(route.rpc.service)) return undefined;
    const rules = checkFor(input, `${route.rpc.service}/${route.rpc.name}`);
    if (!rules) return undefined;
    const check = (bytes: Uint8Array): void => {
      const violations = rules(fromBinary(input, bytes));
      if (violations.length > 0) {
        throw new GatewayError('VALIDATION_FAILED', `request violates ${violations.length} rule(s) of ${input.typeName}`, violations);
      }
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
