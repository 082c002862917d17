/** Identical failures: the first logged, the rest counted into one summary line per window. */
import { flushSummaries, warnSummarized } from './failure-summary';

const lines: { fields: Record<string, unknown>; msg: string }[] = [];
const log = { warn: (fields: object, msg: string) => lines.push({ fields: fields as Record<string, unknown>, msg }) };

beforeEach(() => {
  flushSummaries(0, true);
  lines.length = 0;
});

it('logs the first of 500 identical failures and one summary with the count', () => {
  const t0 = 1_000_000;
  for (let i = 0; i < 500; i++) warnSummarized(log, 'svc|14|refused', { service: 'svc', code: 14 }, 'upstream call failed', t0 + i);
  expect(lines).toEqual([{ fields: { service: 'svc', code: 14 }, msg: 'upstream call failed' }]);
  flushSummaries(t0 + 10_000);
  expect(lines[1]).toEqual({ fields: { service: 'svc', code: 14, repeated: 499, windowMs: 10_000 }, msg: 'upstream call failed (repeated)' });
  expect(lines).toHaveLength(2);
});

it('keeps different failures apart and starts a new window after a quiet one', () => {
  const t0 = 2_000_000;
  warnSummarized(log, 'a', { k: 'a' }, 'failed', t0);
  warnSummarized(log, 'b', { k: 'b' }, 'failed', t0 + 1);
  warnSummarized(log, 'a', { k: 'a' }, 'failed', t0 + 2);
  warnSummarized(log, 'a', { k: 'a' }, 'failed', t0 + 20_000); // window over: summary of 1, then logged again
  expect(lines.map((l) => [l.fields.k, l.fields.repeated, l.msg])).toEqual([
    ['a', undefined, 'failed'],
    ['b', undefined, 'failed'],
    ['a', 1, 'failed (repeated)'],
    ['a', undefined, 'failed'],
  ]);
});
