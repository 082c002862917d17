/**
 * Encodes a call's request from its HTTP input, once, when the first handler needs it:
 * after the edge policies, so a refused call never parses its body, and before the first
 * attempt upstream, so retries reuse the bytes.
 */
import { GatewayError, isJsonContentType } from '../transcode';
import type { Call } from './call';
import { freeNow } from './free-now';

/** Bodies of this size and more are freed once encoded (bench case 3's 64 KiB ones). */
const FREE_FROM = 16 * 1024;

/** The encoded request message of a unary or server-streaming call (400/415 when bad). */
export function encodeRequest(call: Call): Uint8Array {
  if (call.request !== undefined) return call.request;
  checkContentType(call);
  call.request = call.route.request.build(call.values, call.rawQuery, call.body, call.contentType);
  // The JSON body is spent once encoded (both paths copy what they take from it; retries reuse
  // the encoded bytes): a large one's memory goes back now, not when the call is collected. A
  // small one is left to the collector: detaching allocates (transfer(0) makes an empty buffer)
  // for a few hundred bytes, 0.4% of a small POST's CPU.
  if (call.body !== undefined && call.body.byteLength >= FREE_FROM) freeNow(call.body);
  return call.request;
}

/**
 * The encoded messages of a client- or bidi-streaming call, each encoded from its JSON text
 * when the upstream call pulls it (a bad one fails the call there: 400). A route without a
 * body has one message, from the path and query. Made once; interceptors may wrap it.
 */
export function encodeMessages(call: Call): AsyncIterable<Uint8Array> {
  if (call.messages !== undefined) return call.messages;
  return (call.messages = encodeEach(call));
}

/** `messages` with `check` run on each as it is pulled (a throw fails the call). */
export async function* mapMessages(messages: AsyncIterable<Uint8Array>, check: (message: Uint8Array) => Uint8Array): AsyncIterable<Uint8Array> {
  for await (const m of messages) yield check(m);
}

async function* encodeEach(call: Call): AsyncIterable<Uint8Array> {
  const { route, values, rawQuery, input } = call;
  const plan = route.request;
  if (!plan.hasBody || input === undefined) {
    input?.cancel();
    yield plan.build(values, rawQuery, undefined, undefined);
    return;
  }
  let first = true;
  for await (const json of input) {
    if (first) {
      first = false;
      if (!plan.rawBody && !plan.anyContentType && !isJsonContentType(call.contentType)) {
        throw new GatewayError('UNSUPPORTED_MEDIA_TYPE', `content type "${call.contentType}" is not JSON`);
      }
    }
    yield plan.build(values, rawQuery, json, undefined);
  }
}

function checkContentType(call: Call): void {
  const { body, contentType } = call;
  const plan = call.route.request;
  if (body && body.length > 0 && plan.hasBody && !plan.rawBody && !plan.anyContentType && !isJsonContentType(contentType)) {
    throw new GatewayError('UNSUPPORTED_MEDIA_TYPE', `content type "${contentType}" is not JSON`);
  }
}
