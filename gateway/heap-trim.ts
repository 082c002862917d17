/**
 * One memory-reducing full GC once the gateway listens. Start-up leaves
 * garbage behind (descriptor walking, route and codec compilation, module sources) and a young
 * generation grown to its maximum; V8 keeps those pages (its page pool) until a memory-reducing
 * GC, which an idle process gets only ~30 s later from V8's memory reducer. Doing it at once
 * takes idle RSS from ~99 to ~86 MB, and the heap's next limit is computed from the smaller live
 * size, so peaks under load start lower too (bench/README "Memory"). It costs one blocking
 * collection right after listen (150-400 ms measured at load 12-15 on 2 cores; before it, start-up
 * took 0.8 s longer), which a request arriving in that first moment waits for.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Gc = (options: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void;

/** Runs V8's last-resort full GC (kReduceMemoryFootprint: compacts, shrinks new space, releases pooled pages). */
export function releaseStartupGarbage(): void {
  // `gc` is taken from a throw-away context made while --expose-gc is on, so no global `gc`
  // appears in this one, nor in contexts made later (the flag goes off again).
  setFlagsFromString('--expose-gc');
  let gc: Gc;
  try {
    gc = runInNewContext('gc') as Gc;
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
  gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
}
