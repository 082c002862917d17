/**
 * The gateway's WebSocket subprotocol, `acme.grpc-json.v1` (README "WebSocket"), as pure
 * functions: which offered subprotocol is echoed, the bearer token a browser sends as one,
 * the frames each way and the close code and reason that carry a call's status.
 *
 * - Request: one text frame per message, proto3 JSON of the route's body (as one NDJSON line
 *   of the HTTP client stream); an empty text frame half-closes the request stream.
 * - Response: one text frame per message, `{"result": <message>}` (the NDJSON line of the HTTP
 *   stream, as tmc/grpc-websocket-proxy frames grpc-gateway's); a google.api.HttpBody message is
 *   a binary frame of its bytes. On failure a last `{"error": <google.rpc.Status>}` frame.
 * - Close: 1000 on OK, else 4000 + the gRPC code (4005 NOT_FOUND, 4016 UNAUTHENTICATED…),
 *   with the Status as compact JSON without details, shortened to fit RFC 6455's 123 bytes.
 */
import type { StatusJson } from '../transcode';
import { bearerToken } from '../../shared-kit';

/** The subprotocol the gateway speaks and echoes. */
export const SUBPROTOCOL = 'acme.grpc-json.v1';

/** Offered subprotocol `bearer.<token>`: the token, for clients that cannot set Authorization (browsers). */
export const BEARER_PROTOCOL_PREFIX = 'bearer.';

/** Close code of a call that ended OK (RFC 6455 §7.4.1 normal closure). */
export const CLOSE_OK = 1000;

/** Close codes 4000–4016: 4000 + the gRPC status code (the private-use range, RFC 6455 §7.4.2). */
export const CLOSE_STATUS_BASE = 4000;

/** Longest close reason RFC 6455 §5.5 allows (control frame payload 125 minus the code). */
export const MAX_CLOSE_REASON_BYTES = 123;

/**
 * The subprotocol to echo among those offered: ours, or none (false), in which case a
 * client that offered any fails the handshake (RFC 6455 §4.1), as browsers do. A bearer
 * token is never echoed.
 */
export function selectSubprotocol(offered: ReadonlySet<string>): string | false {
  return offered.has(SUBPROTOCOL) ? SUBPROTOCOL : false;
}

/**
 * The bearer token offered as `bearer.<token>` in Sec-WebSocket-Protocol; undefined when none.
 * Throws (the message says why) when one is offered but cannot be used: more than one, or
 * without `acme.grpc-json.v1` beside it, or not a token the bearer parser accepts.
 */
export function protocolBearer(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  const offered = (Array.isArray(header) ? header.join(',') : header).split(',').map((p) => p.trim());
  const bearers = offered.filter((p) => p.startsWith(BEARER_PROTOCOL_PREFIX));
  if (bearers.length === 0) return undefined;
  if (bearers.length > 1) throw new Error('more than one bearer subprotocol offered');
  if (!offered.includes(SUBPROTOCOL)) throw new Error(`a bearer subprotocol needs "${SUBPROTOCOL}" offered beside it`);
  const token = bearerToken(`Bearer ${bearers[0].slice(BEARER_PROTOCOL_PREFIX.length)}`);
  if (typeof token !== 'string') throw new Error('the bearer subprotocol carries no token');
  return token;
}

/** The close code for a final gRPC status code. */
export function closeCode(grpcCode: number): number {
  return grpcCode === 0 ? CLOSE_OK : CLOSE_STATUS_BASE + grpcCode;
}

/**
 * The close reason: `{"code":N,"message":"…"}` (google.rpc.Status without details, which go
 * in the error frame before it), the message cut on a character boundary so the JSON stays
 * whole within 123 UTF-8 bytes.
 */
export function closeReason(status: Pick<StatusJson, 'code' | 'message'>): string {
  const json = (message: string): string => JSON.stringify({ code: status.code, message });
  let text = json(status.message);
  if (Buffer.byteLength(text) <= MAX_CLOSE_REASON_BYTES) return text;
  // Cut by code points until it fits; escapes (\n, \u0001) make bytes and characters differ.
  const chars = Array.from(status.message);
  let lo = 0;
  let hi = chars.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (Buffer.byteLength(json(`${chars.slice(0, mid).join('')}…`)) <= MAX_CLOSE_REASON_BYTES) lo = mid;
    else hi = mid - 1;
  }
  text = json(`${chars.slice(0, lo).join('')}…`);
  return text;
}

/** A response message frame: the rendered proto3 JSON under `result`. */
export function resultFrame(json: string): string {
  return `{"result":${json}}`;
}

/** The failure frame sent before the close. */
export function errorFrame(status: StatusJson): string {
  return `{"error":${JSON.stringify(status)}}`;
}

/** The part of a ws WebSocket the end of a call needs. */
export interface ClosableSocket {
  send(data: string): void;
  close(code: number, reason?: string): void;
}

/** Ends a connection with `status`: the error frame, then the close carrying it. */
export function closeWithStatus(socket: ClosableSocket, status: StatusJson): void {
  socket.send(errorFrame(status));
  socket.close(closeCode(status.code), closeReason(status));
}
