import { getHeapSpaceStatistics } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { releaseStartupGarbage } from './heap-trim';

const newSpace = (): number => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')!.space_size;

describe('releaseStartupGarbage', () => {
  it('shrinks the young generation start-up grew, and leaves no `gc` global behind, here or in later contexts', () => {
    // Grow new space as start-up does: many objects that survive a few scavenges.
    let keep: object[] = [];
    for (let i = 0; i < 400_000; i++) {
      keep.push({ i, s: `x${i}` });
      if (keep.length > 60_000) keep = [];
    }
    const grown = newSpace();
    releaseStartupGarbage();
    expect(newSpace()).toBeLessThan(grown);
    expect(typeof (globalThis as { gc?: unknown }).gc).toBe('undefined');
    expect(runInNewContext('typeof gc')).toBe('undefined');
  });
});
