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

/** Violations of a required text of 1 to `max` characters (code points, after trimming). */
export function checkText(field: string, value: string, max: number): FieldViolation[] {
  const length = [...value.trim()].length;
  if (length === 0) return [{ field, description: 'is required' }];
  if (length > max) return [{ field, description: `must be at most ${max} characters` }];
  return [];
}
