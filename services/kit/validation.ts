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

// C0 controls except tab, line feed and carriage return, DEL and C1 controls; and lone
// surrogates, which have no UTF-8 form. PostgreSQL refuses NUL in text outright.
const CONTROL_MULTILINE = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
// Single-line texts (names, titles, emails) refuse tab and line breaks too.
const CONTROL_SINGLE_LINE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** A violation when `value` holds a control character (NUL included) or a lone surrogate; `multiline` allows tab, LF and CR. */
export function checkNoControl(field: string, value: string, multiline = false): FieldViolation[] {
  return (multiline ? CONTROL_MULTILINE : CONTROL_SINGLE_LINE).test(value)
    ? [{ field, description: multiline ? 'must not contain control characters other than tab and line breaks' : 'must not contain control characters' }]
    : [];
}

/** The largest int64. */
export const INT64_MAX = (1n << 63n) - 1n;

/** Violations of a required single-line text of 1 to `max` characters (code points, after trimming), free of control characters. */
export function checkText(field: string, value: string, max: number): FieldViolation[] {
  const control = checkNoControl(field, value);
  if (control.length > 0) return control;
  const length = [...value.trim()].length;
  if (length === 0) return [{ field, description: 'is required' }];
  if (length > max) return [{ field, description: `must be at most ${max} characters` }];
  return [];
}
