/**
 * Checks the services make themselves, for what the protos' buf.validate rules cannot say
 * (the rules run first, in bindService): see each service's `*-validation.ts`.
 */
import type { FieldViolation } from './status-error';

/** A violation when `id` is not a positive int64. */
export function checkId(field: string, id: bigint): FieldViolation[] {
  return id > 0n ? [] : [{ field, description: 'must be a positive id' }];
}

/** A violation when a text the method requires is empty (the rules check it only when set). */
export function checkRequired(field: string, value: string): FieldViolation[] {
  return value === '' ? [{ field, description: 'is required' }] : [];
}

/** The largest int64. */
export const INT64_MAX = (1n << 63n) - 1n;
