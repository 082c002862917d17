/**
 * gRPC status errors as values, with rich details in the standard
 * `grpc-status-details-bin` trailer: a serialized google.rpc.Status whose `details`
 * are Any-packed google.rpc messages (https://cloud.google.com/apis/design/errors).
 */
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { Any } from '../../gen/google/protobuf/any';
import { BadRequest, ErrorInfo } from '../../gen/google/rpc/error_details';
import { Status } from '../../gen/google/rpc/status';

/** Trailer key carrying the binary google.rpc.Status. */
export const STATUS_DETAILS_KEY = 'grpc-status-details-bin';
/** ErrorInfo domain of errors raised by our services. */
export const ERROR_DOMAIN = 'acme.dev';

const TYPE_PREFIX = 'type.googleapis.com/';
const BAD_REQUEST_TYPE = `${TYPE_PREFIX}google.rpc.BadRequest`;
const ERROR_INFO_TYPE = `${TYPE_PREFIX}google.rpc.ErrorInfo`;

/** One invalid field: a dot path into the request and why it is wrong. */
export interface FieldViolation {
  field: string;
  description: string;
}

/** Optional rich details of a status error. */
export interface StatusDetails {
  fieldViolations?: FieldViolation[];
  /** Stable UPPER_SNAKE reason; the domain is ERROR_DOMAIN unless given. */
  reason?: string;
  domain?: string;
  metadata?: Record<string, string>;
}

/** A ServiceError that also is an `Error` (so it carries a stack and works with `instanceof`). */
export class StatusError extends Error implements ServiceError {
  readonly code: status;
  readonly details: string;
  readonly metadata: Metadata;

  constructor(code: status, message: string, details: StatusDetails = {}) {
    super(message);
    this.name = 'StatusError';
    this.code = code;
    this.details = message;
    this.metadata = new Metadata();
    const any = packDetails(details);
    if (any.length > 0) {
      const body = Status.encode({ code, message, details: any }).finish();
      this.metadata.set(STATUS_DETAILS_KEY, Buffer.from(body));
    }
  }
}

/** Builds a status error with code, message and optional rich details. */
export function statusError(code: status, message: string, details?: StatusDetails): StatusError {
  return new StatusError(code, message, details);
}

/** INVALID_ARGUMENT with a google.rpc.BadRequest listing every violation. */
export function invalidArgument(violations: FieldViolation[], message?: string): StatusError {
  const summary = message ?? violations.map((v) => `${v.field}: ${v.description}`).join('; ');
  return new StatusError(status.INVALID_ARGUMENT, summary, { fieldViolations: violations, reason: 'INVALID_REQUEST' });
}

/** The decoded rich details of a received error (for clients and tests). */
export interface DecodedStatus {
  code: number;
  message: string;
  fieldViolations: FieldViolation[];
  errorInfo: ErrorInfo | undefined;
}

/** Reads `grpc-status-details-bin` from error metadata; undefined when absent. */
export function decodeStatusDetails(metadata: Metadata | undefined): DecodedStatus | undefined {
  const raw = metadata?.get(STATUS_DETAILS_KEY)[0];
  if (!raw || typeof raw === 'string') return undefined;
  const st = Status.decode(raw);
  let fieldViolations: FieldViolation[] = [];
  let errorInfo: ErrorInfo | undefined;
  for (const any of st.details) {
    if (any.typeUrl === BAD_REQUEST_TYPE) {
      fieldViolations = BadRequest.decode(any.value).fieldViolations.map((v) => ({ field: v.field, description: v.description }));
    } else if (any.typeUrl === ERROR_INFO_TYPE) {
      errorInfo = ErrorInfo.decode(any.value);
    }
  }
  return { code: st.code, message: st.message, fieldViolations, errorInfo };
}

function packDetails(details: StatusDetails): Any[] {
  const out: Any[] = [];
  if (details.reason) {
    const info = ErrorInfo.fromPartial({ reason: details.reason, domain: details.domain ?? ERROR_DOMAIN, metadata: details.metadata ?? {} });
    out.push({ typeUrl: ERROR_INFO_TYPE, value: Buffer.from(ErrorInfo.encode(info).finish()) });
  }
  if (details.fieldViolations && details.fieldViolations.length > 0) {
    const br = BadRequest.fromPartial({ fieldViolations: details.fieldViolations });
    out.push({ typeUrl: BAD_REQUEST_TYPE, value: Buffer.from(BadRequest.encode(br).finish()) });
  }
  return out;
}
