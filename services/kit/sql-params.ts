/** Query parameters as both database drivers accept them (its own file: both drivers and database.ts use it). */

/** Parameters as both drivers accept them: bigint becomes its exact decimal text. */
export function toSqlParams(params: readonly unknown[] | undefined): unknown[] {
  return (params ?? []).map((p) => (typeof p === 'bigint' ? p.toString() : p));
}
