/**
 * Update masks (https://google.aip.dev/134): the paths must be non-empty and each one a
 * field the method allows to change. Violations are INVALID_ARGUMENT with BadRequest details.
 * ts-proto unwraps google.protobuf.FieldMask to its `paths` (a string array).
 */
import { invalidArgument, type FieldViolation } from './status-error';

/** What is wrong with a mask's paths: none at all, or one naming an unknown or immutable field. */
export function updateMaskViolations(paths: readonly string[], allowed: readonly string[], field = 'update_mask'): FieldViolation[] {
  if (paths.length === 0) return [{ field, description: `must name at least one of: ${allowed.join(', ')}` }];
  return paths.filter((p) => !allowed.includes(p)).map((p) => ({ field, description: `unknown or immutable path "${p}"; allowed: ${allowed.join(', ')}` }));
}

/** Returns the mask's distinct paths, or throws INVALID_ARGUMENT naming each bad path. */
export function checkUpdateMask<P extends string>(paths: readonly string[] | undefined = [], allowed: readonly P[], field = 'update_mask'): Set<P> {
  const violations = updateMaskViolations(paths, allowed, field);
  if (violations.length > 0) throw invalidArgument(violations);
  return new Set(paths as P[]);
}
