import { float32Text } from './float32-text';
import { seededRandom } from '../../test-support/codec-random';

describe('float32Text', () => {
  it.each<[number, string]>([
    [0.1, '0.1'],
    [1 / 3, '0.33333334'],
    [16777217, '16777216'],
    [3.4028234663852886e38, '3.4028235e+38'],
    [1e-45, '1e-45'],
    [-2.5, '-2.5'],
    [1e21, '1e+21'],
    [123456.789, '123456.79'],
  ])('%d as float32 prints %s', (value, text) => {
    expect(String(float32Text(Math.fround(value)))).toBe(text);
  });

  it.each([0, -0, NaN, Infinity, -Infinity])('%d passes through', (value) => {
    expect(Object.is(float32Text(value), value)).toBe(true);
  });

  it('reads back as the same float32, and no fewer digits would (10,000 random float32s)', () => {
    const rnd = seededRandom(32);
    const bits = new Uint32Array(1);
    const f32 = new Float32Array(bits.buffer);
    for (let i = 0; i < 10_000; i++) {
      bits[0] = Math.floor(rnd() * 0x100000000);
      const value = f32[0];
      if (!Number.isFinite(value) || value === 0) continue;
      const text = float32Text(value);
      expect(Math.fround(text)).toBe(value);
      const digits = text.toExponential().replace(/^-/, '').replace(/e.*$/, '').replace('.', '').length;
      for (let shorter = 1; shorter < digits; shorter++) expect(Math.fround(Number(value.toPrecision(shorter)))).not.toBe(value);
    }
  });
});
