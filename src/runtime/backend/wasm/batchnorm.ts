import type { TensorInfo } from '@tensorflow/tfjs';
import { alloc, heapF32, offsetOf, type WasmBackend } from './heap.js';

/** Inputs of tfjs' FusedBatchNorm kernel. */
export interface BatchNormInputs {
  readonly x: TensorInfo;
  readonly mean: TensorInfo;
  readonly variance: TensorInfo;
  readonly offset?: TensorInfo;
  readonly scale?: TensorInfo;
}

/**
 * FusedBatchNorm with per-channel statistics over the last axis (how tfjs-layers calls it, in
 * training and in inference): y = (x - mean) * k + offset with k = scale / sqrt(variance + eps)
 * per channel (not x * k + shift: with a mean far from 0 that would cancel digits). The built-in wasm kernel computes a broadcast index
 * for every input element and ran at ~3.6 ms per million elements.
 * Undefined means "use the built-in" (statistics of any other shape, other dtypes).
 */
export function batchNorm(
  backend: WasmBackend,
  inputs: BatchNormInputs,
  varianceEpsilon: number,
): TensorInfo | undefined {
  const { x, mean, variance, offset, scale } = inputs;
  const c = x.shape[x.shape.length - 1];
  const perChannel = (t: TensorInfo | undefined) =>
    t === undefined ||
    (t.dtype === 'float32' && t.shape.reduce((a, b) => a * b, 1) === c && t.shape.slice(0, -1).every((d) => d === 1));
  if (c === undefined || c === 0 || x.dtype !== 'float32' || ![mean, variance, offset, scale].every(perChannel))
    return undefined;
  const out = alloc(backend, x.shape);
  const heap = heapF32(backend);
  const read = (t: TensorInfo | undefined, fallback: number) =>
    t
      ? Float64Array.from(heap.subarray(offsetOf(backend, t), offsetOf(backend, t) + c))
      : new Float64Array(c).fill(fallback);
  const [m, v, g, b] = [read(mean, 0), read(variance, 0), read(scale, 1), read(offset, 0)];
  const k = v.map((vi, i) => g[i]! / Math.sqrt(vi + varianceEpsilon));
  normalize(heap, offsetOf(backend, x), offsetOf(backend, out), x.shape.reduce((a, d) => a * d, 1) / c, c, m, k, b);
  return out;
}

/**
 * y = (x - m) * k + b per channel over rows of c, in cache-sized blocks of rows and four
 * channels at a time with their constants in locals (a plain row-by-row loop that indexes m, k
 * and b for every element ran no faster than the built-in kernel).
 */
function normalize(
  heap: Float32Array,
  xs: number,
  ys: number,
  rows: number,
  c: number,
  m: Float64Array,
  k: Float64Array,
  b: Float64Array,
): void {
  const block = Math.max(1, Math.floor(16384 / c));
  for (let r0 = 0; r0 < rows; r0 += block) {
    const r1 = Math.min(rows, r0 + block);
    let ch = 0;
    for (; ch + 4 <= c; ch += 4) {
      const [m0, m1, m2, m3] = [m[ch]!, m[ch + 1]!, m[ch + 2]!, m[ch + 3]!];
      const [k0, k1, k2, k3] = [k[ch]!, k[ch + 1]!, k[ch + 2]!, k[ch + 3]!];
      const [b0, b1, b2, b3] = [b[ch]!, b[ch + 1]!, b[ch + 2]!, b[ch + 3]!];
      for (let r = r0, at = r0 * c + ch; r < r1; r++, at += c) {
        heap[ys + at] = (heap[xs + at]! - m0) * k0 + b0;
        heap[ys + at + 1] = (heap[xs + at + 1]! - m1) * k1 + b1;
        heap[ys + at + 2] = (heap[xs + at + 2]! - m2) * k2 + b2;
        heap[ys + at + 3] = (heap[xs + at + 3]! - m3) * k3 + b3;
      }
    }
    for (; ch < c; ch++) {
      const [mc, kc, bc] = [m[ch]!, k[ch]!, b[ch]!];
      for (let r = r0, at = r0 * c + ch; r < r1; r++, at += c) heap[ys + at] = (heap[xs + at]! - mc) * kc + bc;
    }
  }
}
