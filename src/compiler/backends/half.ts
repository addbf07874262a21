/**
 * IEEE 754 half precision (float16) for storing weights at half the size: `--fp16-weights`
 * exports and shipped models. Weights are rounded to float16 *before* anything is built or
 * compared, so the tfjs graph, the ONNX file and the stored checkpoint all hold the same values
 * and parity checks compare like with like (a trained U-Net's masks move by about 1e-3 of a
 * probability; see the model card of a shipped model).
 */
import type { WeightMap, WeightTensor } from './weights.js';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The float16 bits of `value`, rounded to nearest (ties to even); overflow to infinity, NaN kept. */
export function toHalfBits(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  // Rebias the exponent from 127 to 15.
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal half (or zero): shift the mantissa, with its implicit 1, into place.
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rest = mant & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rest > halfway || (rest === halfway && (half & 1) === 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  // Round to nearest even; a carry out of the mantissa bumps the exponent, as it should.
  if (rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1)) half++;
  e = half >>> 10;
  return sign | (e >= 0x1f ? 0x7c00 : half);
}

/** The float32 value of float16 bits. */
export function fromHalfBits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? Number.NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** Every value rounded to the nearest float16 (as float32). */
export function roundToHalf(data: Float32Array): Float32Array {
  return data.map((v) => fromHalfBits(toHalfBits(v)));
}

/** Float16 bits of every value (little-endian when written as bytes of a Uint16Array on a little-endian machine). */
export function halfBits(data: Float32Array): Uint16Array {
  const out = new Uint16Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = toHalfBits(data[i]!);
  return out;
}

/** A weight map with every weight rounded to float16. */
export function roundWeightsToHalf(weights: WeightMap): Map<string, WeightTensor> {
  return new Map([...weights].map(([name, w]) => [name, { shape: w.shape, data: roundToHalf(w.data) }]));
}
