/**
 * Snowflake-style int64 ids: milliseconds since 2020-01-01 shifted left by 22 bits, then
 * 10 bits of per-process node number and 12 bits of sequence. Ids sort by creation time,
 * are unique across processes with high probability, and exceed 2^53 — so every layer must
 * carry them as exact int64 (bigint here), never as a JS number.
 */
import { randomInt } from 'node:crypto';

const EPOCH_MS = 1_577_836_800_000n; // 2020-01-01T00:00:00Z
const NODE_BITS = 10n;
const SEQUENCE_BITS = 12n;
const MAX_SEQUENCE = (1n << SEQUENCE_BITS) - 1n;

/** Returns a generator of increasing ids; `node` defaults to a random 10-bit number. */
export function createIdGenerator(node: number = randomInt(1 << Number(NODE_BITS)), now: () => number = Date.now): () => bigint {
  const nodeBits = BigInt(node) & ((1n << NODE_BITS) - 1n);
  let lastMs = 0n;
  let sequence = 0n;
  return () => {
    // A clock that steps back keeps using the last millisecond, so ids never go backwards.
    let ms = BigInt(now());
    if (ms < lastMs) ms = lastMs;
    if (ms === lastMs) {
      sequence += 1n;
      if (sequence > MAX_SEQUENCE) {
        // Sequence exhausted within one millisecond: borrow the next one.
        ms += 1n;
        sequence = 0n;
      }
    } else {
      sequence = 0n;
    }
    lastMs = ms;
    return ((ms - EPOCH_MS) << (NODE_BITS + SEQUENCE_BITS)) | (nodeBits << SEQUENCE_BITS) | sequence;
  };
}
