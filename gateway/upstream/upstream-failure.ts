/**
 * Failures the gateway made itself, rather than the service: a connection refused or
 * dropped, our own deadline. The transport describes them with internal addresses
 * ("127.0.0.1:50052: connect ECONNREFUSED"), which must not reach callers; they become
 * catalogue errors naming the service, and the transport's words go to the log.
 * A status the service sent (even UNAVAILABLE) passes as it is.
 */
import { Code, GatewayError } from '../transcode';
import type { CallStatus } from './transport';

/** The catalogue error for a gateway-made failure of a call to `service`, or undefined. */
export function gatewayFailure(status: CallStatus, service: string): GatewayError | undefined {
  if (status.local !== true) return undefined;
  if (status.code === Code.UNAVAILABLE) {
    return new GatewayError('UPSTREAM_UNAVAILABLE', `${service} is unavailable`, [], {}, { service });
  }
  if (status.code === Code.DEADLINE_EXCEEDED) {
    return new GatewayError('DEADLINE_EXCEEDED', `deadline exceeded calling ${service}`, [], {}, { service });
  }
  return undefined;
}
