/**
 * float32 values in JSON: what protojson (Go's strconv.FormatFloat(v, 'g', -1, 32)) and
 * Envoy print, the shortest decimal that reads back as the same float32 (`0.1`), not the
 * widened double a float32 becomes in JavaScript (`0.10000000149011612`).
 */

/**
 * The shortest decimal (as the number whose JavaScript text it is) that reads back as the
 * same float32 as `value`, a float32 widened to a double. toPrecision rounds to the nearest
 * decimal of that many digits; 9 significant digits always round-trip a float32.
 */
export function float32Text(value: number): number {
  if (value === 0 || !Number.isFinite(value)) return value;
  for (let digits = 1; digits < 9; digits++) {
    const shorter = Number(value.toPrecision(digits));
    if (Math.fround(shorter) === value) return shorter;
  }
  return Number(value.toPrecision(9));
}
