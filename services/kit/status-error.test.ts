import { Metadata, status } from '@grpc/grpc-js';
import { decodeStatusDetails, invalidArgument, statusError, STATUS_DETAILS_KEY } from './status-error';
import { toServiceError } from './rpc-handler';
import { silentLogger } from '../../shared-kit';

describe('status errors', () => {
  it('carries BadRequest and ErrorInfo in grpc-status-details-bin', () => {
    const err = invalidArgument([{ field: 'email', description: 'must be an email address' }]);
    expect(err.code).toBe(status.INVALID_ARGUMENT);
    const decoded = decodeStatusDetails(err.metadata);
    expect(decoded).toMatchObject({
      code: status.INVALID_ARGUMENT,
      fieldViolations: [{ field: 'email', description: 'must be an email address' }],
      errorInfo: { reason: 'INVALID_REQUEST', domain: 'acme.dev' },
    });
  });

  it('has no details trailer without details', () => {
    const err = statusError(status.NOT_FOUND, 'no such thing');
    expect(err.metadata.get(STATUS_DETAILS_KEY)).toEqual([]);
    expect(decodeStatusDetails(err.metadata)).toBeUndefined();
    expect(decodeStatusDetails(new Metadata())).toBeUndefined();
  });

  it('hides unexpected throws behind INTERNAL', () => {
    const err = toServiceError(new Error('secret table name'), '/x.Y/Z', silentLogger);
    expect(err.code).toBe(status.INTERNAL);
    expect(err.details).toBe('internal error');
    const known = statusError(status.ALREADY_EXISTS, 'taken');
    expect(toServiceError(known, '/x.Y/Z', silentLogger)).toBe(known);
  });
});
