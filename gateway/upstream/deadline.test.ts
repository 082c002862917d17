import { thrownBy } from '../test-support/thrown';
import { GatewayError } from '../transcode';
import { callDeadline, parseGrpcTimeout } from './deadline';

describe('parseGrpcTimeout', () => {
  it.each([
    ['1H', 3_600_000],
    ['2M', 120_000],
    ['3S', 3000],
    ['50m', 50],
    ['1500u', 1.5],
    ['2000000n', 2],
    ['0S', 0],
    ['99999999m', 99_999_999],
  ])('%s → %d ms', (text, ms) => {
    expect(parseGrpcTimeout(text)).toBeCloseTo(ms, 9);
  });

  it.each(['', 'S', '50', '123456789m', '1.5S', '-1S', '10x', '1s', ' 1S', '1S ', '1 S'])('%p is INVALID_TIMEOUT', (text) => {
    const thrown = thrownBy(() => parseGrpcTimeout(text));
    expect(thrown).toBeInstanceOf(GatewayError);
    expect((thrown as GatewayError).reason).toBe('INVALID_TIMEOUT');
  });
});

describe('callDeadline', () => {
  const now = 1_000_000;
  it.each<[string, string | string[] | undefined, number | undefined, number | undefined]>([
    ['no header, no default: none', undefined, undefined, undefined],
    ['no header: the configured timeout', undefined, 250, now + 250],
    ['a shorter header beats the configured timeout', '50m', 250, now + 50],
    ['a longer header is capped by the configured timeout', '5S', 250, now + 250],
    ['a header with nothing configured', '5S', 0, now + 5000],
    ['the first of repeated headers', ['2S', '1S'], undefined, now + 2000],
    ['sub-millisecond rounds up to 1 ms', '10u', undefined, now + 1],
    ['a zero configured timeout means none', undefined, 0, undefined],
    ['a zero timeout is already past (not "none")', '0S', 250, now],
  ])('%s', (_name, header, defaultMs, expected) => {
    expect(callDeadline(header, defaultMs, now)).toBe(expected);
  });

  it('a malformed header throws even with a default', () => {
    expect(() => callDeadline('soon', 100, now)).toThrow(GatewayError);
  });
});
