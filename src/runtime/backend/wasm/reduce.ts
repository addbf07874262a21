import type { TensorInfo } from '@tensorflow/tfjs';
import { alloc, heapF32, offsetOf, type WasmBackend } from './heap.js';

/** Attributes of tfjs' Sum and Mean kernels. */
export interface ReduceAttrs {
  readonly axis: number | number[];
  readonly keepDims: boolean;
}

/**
 * Sum or Mean of a float32 tensor over its leading axes (0..k-1): BatchNorm's statistics and
 * the Sub gradient in tf.moments reduce [N, H, W, C] to [C]. The built-in wasm kernels first
 * transpose the whole tensor so the reduced axes come last; this sums rows of the trailing block
 * in place (float64 sums). Undefined means "use the built-in" (other axes, other dtypes).
 */
export function reduceLeading(
  backend: WasmBackend,
  x: TensorInfo,
  attrs: ReduceAttrs,
  mean: boolean,
): TensorInfo | undefined {
  const rank = x.shape.length;
  const axes = [
    ...new Set((Array.isArray(attrs.axis) ? attrs.axis : [attrs.axis]).map((a) => (a < 0 ? a + rank : a))),
  ].sort((a, b) => a - b);
  if (x.dtype !== 'float32' || axes.length === 0 || axes.some((a, i) => a !== i) || axes.length > rank)
    return undefined;
  const k = axes.length;
  const rows = x.shape.slice(0, k).reduce((a, b) => a * b, 1);
  const inner = x.shape.slice(k).reduce((a, b) => a * b, 1);
  const outShape = attrs.keepDims ? x.shape.map((d, i) => (i < k ? 1 : d)) : x.shape.slice(k);
  const out = alloc(backend, outShape);
  const sums = new Float64Array(inner);
  const heap = heapF32(backend);
  if (rows > 0) sumRows(heap, offsetOf(backend, x), rows, inner, sums);
  const scale = mean ? 1 / rows : 1;
  const o = offsetOf(backend, out);
  for (let i = 0; i < inner; i++) heap[o + i] = sums[i]! * scale;
  return out;
}

/** sums[j] += sum over r of heap[at + r * inner + j], rows in cache-sized blocks, four columns at a time in locals. */
function sumRows(heap: Float32Array, at: number, rows: number, inner: number, sums: Float64Array): void {
  const block = Math.max(1, Math.floor(16384 / inner));
  for (let r0 = 0; r0 < rows; r0 += block) {
    const r1 = Math.min(rows, r0 + block);
    let j = 0;
    for (; j + 4 <= inner; j += 4) {
      let s0 = 0,
        s1 = 0,
        s2 = 0,
        s3 = 0;
      for (let r = r0, i = at + r0 * inner + j; r < r1; r++, i += inner) {
        s0 += heap[i]!;
        s1 += heap[i + 1]!;
        s2 += heap[i + 2]!;
        s3 += heap[i + 3]!;
      }
      sums[j] = sums[j]! + s0;
      sums[j + 1] = sums[j + 1]! + s1;
      sums[j + 2] = sums[j + 2]! + s2;
      sums[j + 3] = sums[j + 3]! + s3;
    }
    for (; j < inner; j++) {
      let s = 0;
      for (let r = r0, i = at + r0 * inner + j; r < r1; r++, i += inner) s += heap[i]!;
      sums[j] = sums[j]! + s;
    }
  }
}
