/**
 * How the lean client arrives at a call's final status: from trailers when the server
 * sent them, otherwise from the HTTP status or the RST_STREAM code, as grpc-js does.
 * https://github.com/grpc/grpc/blob/master/doc/http-grpc-status-mapping.md
 */
import { decodeGrpcMessage, fromRawHeaders } from './h2-metadata';
import { ErrorCode } from './h2-wire';
import { CallError, type CallStatus, type Metadata } from '../transport';

/** The gRPC status codes this client produces itself. */
export const Code = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  DEADLINE_EXCEEDED: 4,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

/** A status made by the client (no trailers). */
export function localStatus(code: number, message: string): CallStatus {
  return { code, message, details: undefined, trailers: [], local: true };
}

/** Status for a response whose :status is not 200 and that carried no grpc-status. */
export function httpStatus(status: number): CallStatus {
  let code: number;
  switch (status) {
    case 400:
      code = Code.INTERNAL;
      break;
    case 401:
      code = Code.UNAUTHENTICATED;
      break;
    case 403:
      code = Code.PERMISSION_DENIED;
      break;
    case 404:
      code = Code.UNIMPLEMENTED;
      break;
    case 429:
    case 502:
    case 503:
    case 504:
      code = Code.UNAVAILABLE;
      break;
    default:
      code = Code.UNKNOWN;
  }
  return localStatus(code, `Received HTTP status code ${status}`);
}

/**
 * Status from trailers (or a trailers-only HEADERS frame), given the raw header list.
 * Without grpc-status: the HTTP status mapping when :status was not 200, else UNKNOWN.
 */
export function trailerStatus(raw: string[], responseStatus: number): CallStatus {
  let code = -1;
  let message = '';
  let details: Uint8Array | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    if (name === 'grpc-status') code = parseStatusCode(raw[i + 1]);
    else if (name === 'grpc-message') message = decodeGrpcMessage(raw[i + 1]);
    else if (name === 'grpc-status-details-bin') details = Buffer.from(raw[i + 1], 'base64');
  }
  const trailers: Metadata = fromRawHeaders(raw);
  if (code < 0) {
    const status = responseStatus !== 200 && responseStatus !== 0 ? httpStatus(responseStatus) : localStatus(Code.UNKNOWN, 'No status information received');
    status.trailers = trailers;
    return status;
  }
  return { code, message, details, trailers };
}

function parseStatusCode(value: string): number {
  const code = Number(value);
  // A status outside the known range is UNKNOWN, as the spec asks of clients.
  return Number.isInteger(code) && code >= 0 && code <= 16 ? code : Code.UNKNOWN;
}

/**
 * Status for a stream that closed before trailers arrived, from its RST_STREAM code.
 * `dropped` says the connection went away under the stream (node reports that as CANCEL).
 */
export function resetStatus(rstCode: number, responseStatus: number, dropped: boolean): CallStatus {
  switch (rstCode) {
    case ErrorCode.NO_ERROR:
      return responseStatus !== 200 && responseStatus !== 0
        ? httpStatus(responseStatus)
        : localStatus(
            dropped ? Code.UNAVAILABLE : Code.INTERNAL,
            dropped ? 'Connection dropped' : 'Received RST_STREAM with code 0 (Call ended without gRPC status)',
          );
    case ErrorCode.REFUSED_STREAM:
      return localStatus(Code.UNAVAILABLE, 'Stream refused by server');
    case ErrorCode.CANCEL:
      return dropped ? localStatus(Code.UNAVAILABLE, 'Connection dropped') : localStatus(Code.CANCELLED, 'Call cancelled');
    case ErrorCode.ENHANCE_YOUR_CALM:
      return localStatus(Code.RESOURCE_EXHAUSTED, 'Bandwidth exhausted or memory limit exceeded');
    case ErrorCode.INADEQUATE_SECURITY:
      return localStatus(Code.PERMISSION_DENIED, 'Protocol not secure enough');
    default:
      return dropped ? localStatus(Code.UNAVAILABLE, 'Connection dropped') : localStatus(Code.INTERNAL, `Received RST_STREAM with code ${rstCode}`);
  }
}

/**
 * A CallError without a captured stack trace: failures can come in storms (an upstream
 * down), and the stack of a transport callback says nothing useful.
 */
export function callError(status: CallStatus, headers: Metadata): CallError {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  const error = new CallError(status, headers);
  Error.stackTraceLimit = limit;
  return error;
}
