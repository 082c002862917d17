/** google.protobuf.Timestamp conversions (ts-proto with useDate=false: `{ seconds: bigint, nanos }`). */
import type { Timestamp } from '../../gen/google/protobuf/timestamp';

/** A JS Date as a Timestamp (millisecond precision, which is what the stores keep). */
export function toTimestamp(date: Date): Timestamp {
  const ms = date.getTime();
  const seconds = Math.floor(ms / 1000);
  return { seconds: BigInt(seconds), nanos: (ms - seconds * 1000) * 1_000_000 };
}
