/** Request validation shared by the services: collect every violation, then fail once. */
import { invalidArgument, type FieldViolation } from './status-error';

/** A violation when `id` is not a positive int64. */
export function checkId(field: string, id: bigint): FieldViolation[] {
  return id > 0n ? [] : [{ field, description: 'must be a positive id' }];
}

/** Throws INVALID_ARGUMENT with BadRequest details when any check found a violation. */
export function rejectViolations(...checks: FieldViolation[][]): void {
  const violations = checks.flat();
  if (violations.length > 0) throw invalidArgument(violations);
}
