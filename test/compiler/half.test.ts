import { describe, expect, it } from 'vitest';
import { fromHalfBits, roundToHalf, toHalfBits } from '../../src/compiler/backends/half.js';

describe('float16', () => {
  it.each([
    [1, 0x3c00],
    [-2, 0xc000],
    [0, 0x0000],
    [-0, 0x8000],
    [0.1, 0x2e66],
    [65504, 0x7bff],
    [65520, 0x7c00],
    [1e9, 0x7c00],
    [-Infinity, 0xfc00],
    [2 ** -24, 0x0001],
    [2 ** -14, 0x0400],
    [2 ** -26, 0x0000],
    [1 + 2 ** -11, 0x3c00],
    [1 + 3 * 2 ** -11, 0x3c02],
    [2 ** -25 * 1.5, 0x0001],
  ])('%d -> %s', (value, bits) => expect(toHalfBits(value)).toBe(bits));

  it('NaN stays NaN', () => {
    expect(Number.isNaN(fromHalfBits(toHalfBits(Number.NaN)))).toBe(true);
  });

  it('every float16 value round-trips bit for bit', () => {
    for (let h = 0; h < 0x10000; h++) {
      const exp = (h >>> 10) & 0x1f;
      if (exp === 0x1f && (h & 0x3ff) !== 0) continue; // NaNs
      expect(toHalfBits(fromHalfBits(h))).toBe(h);
    }
  });

  it('rounding is to the nearest value: the error is at most half a unit in the last place', () => {
    const values = Float32Array.from({ length: 2000 }, (_, i) => Math.sin(i * 12.9898) * 10 ** ((i % 9) - 4));
    const rounded = roundToHalf(values);
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      const ulp = Math.abs(v) >= 2 ** -14 ? 2 ** (Math.floor(Math.log2(Math.abs(v))) - 10) : 2 ** -24;
      expect(Math.abs(rounded[i]! - v)).toBeLessThanOrEqual(ulp / 2 + 1e-12);
    }
    // Negative control: rounding changes most values (they are not float16 values to begin with).
    expect(rounded.filter((r, i) => r !== values[i]).length).toBeGreaterThan(1900);
  });
});
