import { mayHoldBigIntegers } from './exact-json';

// The test mayHoldBigIntegers stands for (it runs it only on text with a run of 16+ digits).
const MAY_HOLD_BIG = /(?:^|[-:,[\s])\d{16}/;

describe('mayHoldBigIntegers', () => {
  it.each([
    ['', false],
    ['{"a":1234567890123456}', true],
    ['{"a":123456789012345}', false],
    ['{"a":-1234567890123456}', true],
    ['[1234567890123456]', true],
    ['1234567890123456', true],
    ['{"a":"x1234567890123456"}', false],
    ['{"a": 12345678901234567890}', true],
    ['{"a":1.1234567890123456}', false],
    ['{"a":1e1234567890123456}', false],
    [`{"pad":"${'p'.repeat(15)}","a":1234567890123456}`, true],
  ])('%s → %s, as the regex says', (text, expected) => {
    expect(mayHoldBigIntegers(text)).toBe(expected);
    expect(MAY_HOLD_BIG.test(text)).toBe(expected);
  });

  it('agrees with the regex on 20,000 random texts of digits and separators', () => {
    let seed = 11;
    const rnd = (n: number): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) >> 8) % n;
    const alphabet = '0123456789012345678901234567890123456789:,-[ \n\t."ae';
    for (let k = 0; k < 20_000; k++) {
      let text = '';
      const length = rnd(80);
      for (let i = 0; i < length; i++) text += alphabet[rnd(alphabet.length)];
      expect([text, mayHoldBigIntegers(text)]).toEqual([text, MAY_HOLD_BIG.test(text)]);
    }
  });
});
