import { DEFAULT_CONFIG } from '../config';
import { retryDelay } from './resilience';
import { RetryBudget } from './retry-budget';
import { CallError, type Metadata } from './transport';

describe('RetryBudget', () => {
  it('starts with a reserve of 10 s of minPerSecond, then allows ratio of the calls made', () => {
    const t0 = 1_000_000;
    const budget = new RetryBudget(0.2, 1, t0);
    let spent = 0;
    while (budget.withdraw(t0)) spent++;
    expect(spent).toBe(10);
    for (let i = 0; i < 50; i++) budget.deposit(); // 50 calls earn 10 retries
    spent = 0;
    while (budget.withdraw(t0)) spent++;
    expect(spent).toBe(10);
  });

  it('refills at minPerSecond, up to its cap', () => {
    const t0 = 1_000_000;
    const budget = new RetryBudget(0, 2, t0);
    while (budget.withdraw(t0));
    expect(budget.withdraw(t0 + 400)).toBe(false); // 0.8 of a retry
    expect(budget.withdraw(t0 + 500)).toBe(true); // 1.0
    let spent = 0;
    while (budget.withdraw(t0 + 3_600_000)) spent++;
    expect(spent).toBe(20); // capped at 10 s worth
  });
});

describe('retryDelay', () => {
  const policy = { ...DEFAULT_CONFIG.resilience.retry, initialBackoffMs: 100, maxBackoffMs: 250 };
  const failure = (code: number, trailers: Metadata = []): CallError => new CallError({ code, message: 'x', trailers });

  it.each<[string, CallError | Error, number, number | [number, number]]>([
    ['UNAVAILABLE, first retry: full jitter up to initialBackoffMs', failure(14), 1, [0, 100]],
    ['UNAVAILABLE, third retry: capped at maxBackoffMs', failure(14), 3, [0, 250]],
    ['RESOURCE_EXHAUSTED without pushback: no retry', failure(8), 1, -1],
    ['RESOURCE_EXHAUSTED with pushback: its wait', failure(8, [['grpc-retry-pushback-ms', '40']]), 1, 40],
    ['UNAVAILABLE with pushback: its wait', failure(14, [['grpc-retry-pushback-ms', '7']]), 1, 7],
    ['a negative pushback: no retry', failure(14, [['grpc-retry-pushback-ms', '-1']]), 1, -1],
    ['a malformed pushback: no retry', failure(8, [['grpc-retry-pushback-ms', 'soon']]), 1, -1],
    ['INTERNAL: no retry', failure(13), 1, -1],
    ['DEADLINE_EXCEEDED: no retry', failure(4), 1, -1],
    ['not a call failure: no retry', new Error('bad request'), 1, -1],
  ])('%s', (_name, err, n, expected) => {
    for (let i = 0; i < 50; i++) {
      const delay = retryDelay(err, n, policy);
      if (Array.isArray(expected)) {
        expect(delay).toBeGreaterThanOrEqual(expected[0]);
        expect(delay).toBeLessThanOrEqual(expected[1]);
      } else {
        expect(delay).toBe(expected);
      }
    }
  });
});
