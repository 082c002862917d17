/**
 * The cap on concurrent scrypt: at most maxConcurrent hashes at once, at most maxQueued
 * waiting, everything beyond refused at once with RESOURCE_EXHAUSTED, and the queue drained
 * in order as slots free. No timing is asserted, only counts.
 */
import { status } from '@grpc/grpc-js';
import { hashPassword, PasswordHasher } from './password';
import { StatusError } from '../kit/status-error';

describe('PasswordHasher', () => {
  let stored: string;
  beforeAll(async () => {
    stored = await hashPassword('correct horse');
  });

  it('runs at most maxConcurrent hashes at once and refuses beyond the queue with RESOURCE_EXHAUSTED', async () => {
    const hasher = new PasswordHasher(2, 3);
    const outcomes = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => hasher.verify(i % 2 ? 'correct horse' : 'wrong', stored)));
    expect(hasher.peakActive).toBe(2);
    const done = outcomes.filter((o) => o.status === 'fulfilled');
    const refused = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    expect(done).toHaveLength(5); // 2 running + 3 queued
    expect(refused).toHaveLength(7);
    for (const r of refused) {
      expect(r.reason).toBeInstanceOf(StatusError);
      expect((r.reason as StatusError).code).toBe(status.RESOURCE_EXHAUSTED);
    }
    // The refused ones were refused first, before any hash finished: the first five calls got slots.
    expect(outcomes.slice(0, 5).every((o) => o.status === 'fulfilled')).toBe(true);
    expect((done as PromiseFulfilledResult<boolean>[]).map((o) => o.value)).toEqual([false, true, false, true, false]);
  });

  it('frees its slots: after a burst, calls run again, hash and verify alike', async () => {
    const hasher = new PasswordHasher(1, 0);
    const burst = await Promise.allSettled([hasher.hash('a'), hasher.hash('b'), hasher.hash('c')]);
    expect(burst.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'rejected']);
    expect(await hasher.verify('a', (burst[0] as PromiseFulfilledResult<string>).value)).toBe(true);
    expect(hasher.peakActive).toBe(1);
  });

  it('a failing hash frees its slot too', async () => {
    const hasher = new PasswordHasher(1, 1);
    // An absurd N makes scrypt fail (memory limit) rather than hash.
    await expect(hasher.verify('x', 'scrypt$1099511627776$8$1$c2FsdA$aGFzaA')).rejects.toThrow();
    await expect(hasher.verify('correct horse', stored)).resolves.toBe(true);
  });

  it('refuses a cap below 1', () => {
    expect(() => new PasswordHasher(0, 1)).toThrow(/maxConcurrent/);
  });
});
