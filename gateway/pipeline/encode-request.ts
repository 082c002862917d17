/**
 * Encodes a call's request from its HTTP input, once, when the first handler needs it:
 * after the edge policies, so a refused call never parses its body, and before the first
 * attempt upstream, so retries reuse the bytes.
 */
import { GatewayError, isJsonContentType } from '../transcode';
import type { Call } from './call';

/** The encoded request message of a unary or server-streaming call (400/415 when bad). */
export function encodeRequest(call: Call): Uint8Array {
  if (call.request !== undefined) return call.request;
  checkContentType(call);
  return (call.request = call.route.request.build(call.values, call.rawQuery, call.body, call.contentType));
}

/** The encoded messages of a client-streaming call: one per NDJSON body line. */
export function encodeMessages(call: Call): readonly Uint8Array[] {
  if (call.messages !== undefined) return call.messages;
  checkContentType(call);
  return (call.messages = call.route.request.buildStream(call.values, call.rawQuery, call.body));
}

function checkContentType(call: Call): void {
  const { body, contentType } = call;
  const plan = call.route.request;
  if (body && body.length > 0 && plan.hasBody && !plan.rawBody && !plan.anyContentType && !isJsonContentType(contentType)) {
    throw new GatewayError('UNSUPPORTED_MEDIA_TYPE', `content type "${contentType}" is not JSON`);
  }
}
