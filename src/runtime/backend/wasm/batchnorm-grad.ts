import type { TensorInfo } from '@tensorflow/tfjs';
import { alloc, heapF32, offsetOf, type WasmBackend } from './heap.js';

/** The name our fused kernel is registered under (wasm only; no gradient of its own). */
export const FUSED_BATCH_NORM_GRAD = 'UnetcFusedBatchNormGrad';

/** Inputs of the fused kernel: FusedBatchNorm's saved inputs and the incoming gradient. */
export interface BatchNormGradInputs {
  readonly x: TensorInfo;
  readonly dy: TensorInfo;
  readonly mean: TensorInfo;
  readonly variance: TensorInfo;
  /** Absent when the layer has no gamma (scale: false). */
  readonly scale?: TensorInfo;
}

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * Whether the fused kernel handles these inputs: float32, and per-channel statistics over the
 * last axis (shape [C] or [1, ..., 1, C]), which is how tfjs-layers' BatchNormalization calls
 * FusedBatchNorm. Anything else (e.g. statistics as large as x) keeps tfjs' own gradient.
 */
export function fusedBatchNormGradApplies({ x, dy, mean, variance, scale }: BatchNormGradInputs): boolean {
  const c = x.shape[x.shape.length - 1];
  const perChannel = (t: TensorInfo) =>
    t.dtype === 'float32' && size(t.shape) === c && t.shape.slice(0, -1).every((d) => d === 1);
  return (
    c !== undefined &&
    x.dtype === 'float32' &&
    dy.dtype === 'float32' &&
    size(dy.shape) === size(x.shape) &&
    perChannel(mean) &&
    perChannel(variance) &&
    (scale === undefined || perChannel(scale))
  );
}

/**
 * All five partial derivatives of FusedBatchNorm, y = gamma * (x - mean) * invstd + beta with
 * invstd = 1 / sqrt(variance + eps), with mean and variance treated as inputs (as tfjs' own
 * gradient does; when they are batch statistics their gradients flow on through tf.moments):
 *
 *   dx = dy * gamma * invstd                    dmean = -gamma * invstd * sum(dy)
 *   dvariance = -gamma / 2 * invstd^3 * sum(dy * (x - mean))
 *   dscale = invstd * sum(dy * (x - mean))      doffset = sum(dy)
 *
 * in one pass over x and dy (sums per channel in float64), where tfjs' gradient runs about 15
 * kernels: 10 full-size elementwise ones, 5 of them with slow per-channel broadcasts, and 4 Sums
 * that each transpose the whole tensor first. Returns [dx, dmean, dvariance, dscale, doffset],
 * the last four shaped like mean.
 */
export function fusedBatchNormGrad(
  backend: WasmBackend,
  inputs: BatchNormGradInputs,
  varianceEpsilon: number,
): TensorInfo[] {
  const { x, dy, mean, variance, scale } = inputs;
  const c = x.shape[x.shape.length - 1]!;
  const rows = size(x.shape) / c;
  const outs = [alloc(backend, x.shape), ...[0, 1, 2, 3].map(() => alloc(backend, mean.shape))] as [
    TensorInfo,
    TensorInfo,
    TensorInfo,
    TensorInfo,
    TensorInfo,
  ];
  const heap = heapF32(backend);
  const m = Float64Array.from(heap.subarray(offsetOf(backend, mean), offsetOf(backend, mean) + c));
  const invstd = Float64Array.from(
    heap.subarray(offsetOf(backend, variance), offsetOf(backend, variance) + c),
    (v) => 1 / Math.sqrt(v + varianceEpsilon),
  );
  const gamma = scale
    ? Float64Array.from(heap.subarray(offsetOf(backend, scale), offsetOf(backend, scale) + c))
    : new Float64Array(c).fill(1);
  const k = invstd.map((s, i) => s * gamma[i]!);
  const sumDy = new Float64Array(c);
  const sumDyXm = new Float64Array(c);
  sweep(heap, offsetOf(backend, x), offsetOf(backend, dy), offsetOf(backend, outs[0]), rows, c, m, k, sumDy, sumDyXm);
  const [dMean, dVar, dScale, dOffset] = outs.slice(1).map((t) => offsetOf(backend, t)) as [
    number,
    number,
    number,
    number,
  ];
  for (let ch = 0; ch < c; ch++) {
    heap[dMean + ch] = -k[ch]! * sumDy[ch]!;
    heap[dVar + ch] = -0.5 * k[ch]! * invstd[ch]! * invstd[ch]! * sumDyXm[ch]!;
    heap[dScale + ch] = invstd[ch]! * sumDyXm[ch]!;
    heap[dOffset + ch] = sumDy[ch]!;
  }
  return outs;
}

/** Rows per block of the sweep: 64 KiB or less of each array, so a block stays in cache. */
const blockRows = (c: number) => Math.max(1, Math.floor(16384 / c));

/**
 * dx = dy * k per channel, and per channel sum(dy) and sum(dy * (x - m)). Rows are taken in
 * blocks that fit in cache; inside a block, four channels at a time with their sums in local
 * variables, where V8 keeps them in registers (sums kept in typed arrays cost a load and a store
 * per element and made this loop three times slower).
 */
function sweep(
  heap: Float32Array,
  xs: number,
  gs: number,
  dx: number,
  rows: number,
  c: number,
  m: Float64Array,
  k: Float64Array,
  sumDy: Float64Array,
  sumDyXm: Float64Array,
): void {
  const block = blockRows(c);
  for (let r0 = 0; r0 < rows; r0 += block) {
    const r1 = Math.min(rows, r0 + block);
    let ch = 0;
    for (; ch + 4 <= c; ch += 4) {
      const [m0, m1, m2, m3] = [m[ch]!, m[ch + 1]!, m[ch + 2]!, m[ch + 3]!];
      const [k0, k1, k2, k3] = [k[ch]!, k[ch + 1]!, k[ch + 2]!, k[ch + 3]!];
      let s0 = 0,
        s1 = 0,
        s2 = 0,
        s3 = 0,
        t0 = 0,
        t1 = 0,
        t2 = 0,
        t3 = 0;
      for (let r = r0, at = r0 * c + ch; r < r1; r++, at += c) {
        const g0 = heap[gs + at]!,
          g1 = heap[gs + at + 1]!,
          g2 = heap[gs + at + 2]!,
          g3 = heap[gs + at + 3]!;
        s0 += g0;
        s1 += g1;
        s2 += g2;
        s3 += g3;
        t0 += g0 * (heap[xs + at]! - m0);
        t1 += g1 * (heap[xs + at + 1]! - m1);
        t2 += g2 * (heap[xs + at + 2]! - m2);
        t3 += g3 * (heap[xs + at + 3]! - m3);
        heap[dx + at] = g0 * k0;
        heap[dx + at + 1] = g1 * k1;
        heap[dx + at + 2] = g2 * k2;
        heap[dx + at + 3] = g3 * k3;
      }
      sumDy[ch] = sumDy[ch]! + s0;
      sumDy[ch + 1] = sumDy[ch + 1]! + s1;
      sumDy[ch + 2] = sumDy[ch + 2]! + s2;
      sumDy[ch + 3] = sumDy[ch + 3]! + s3;
      sumDyXm[ch] = sumDyXm[ch]! + t0;
      sumDyXm[ch + 1] = sumDyXm[ch + 1]! + t1;
      sumDyXm[ch + 2] = sumDyXm[ch + 2]! + t2;
      sumDyXm[ch + 3] = sumDyXm[ch + 3]! + t3;
    }
    for (; ch < c; ch++) {
      const [mc, kc] = [m[ch]!, k[ch]!];
      let s = 0,
        t = 0;
      for (let r = r0, at = r0 * c + ch; r < r1; r++, at += c) {
        const g = heap[gs + at]!;
        s += g;
        t += g * (heap[xs + at]! - mc);
        heap[dx + at] = g * kc;
      }
      sumDy[ch] = sumDy[ch]! + s;
      sumDyXm[ch] = sumDyXm[ch]! + t;
    }
  }
}
