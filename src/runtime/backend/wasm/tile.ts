import type { TensorInfo } from '@tensorflow/tfjs';
import { heapF32, offsetOf, type WasmBackend } from './heap.js';

/**
 * Tile by block copies inside the wasm heap. The built-in wasm Tile computes every output
 * element's source index one at a time; the BatchNorm gradient tiles a [1, 1, 1, C] vector to the
 * full activation size once per BatchNorm layer, which made Tile the largest single cost of a
 * U-Net training step (~27% of config A). Here the first copy of x is placed, then each axis
 * (innermost first) is filled by doubling memcpy's, so a broadcast of a vector takes log2(size)
 * copies. Only 4-byte dtypes (float32, int32) are handled; undefined means "use the built-in".
 */
export function tile(backend: WasmBackend, x: TensorInfo, reps: readonly number[]): TensorInfo | undefined {
  if (x.dtype !== 'float32' && x.dtype !== 'int32') return undefined;
  const shape = x.shape;
  const rank = shape.length;
  if (rank === 0 || reps.length !== rank) return undefined;
  const outShape = shape.map((s, i) => s * reps[i]!);
  // makeOutput allocates with the tensor's dtype; float32 and int32 are both 4 bytes and
  // copyWithin moves bytes, so one float32 view of the heap serves both.
  const out = backend.makeOutput(outShape, x.dtype);
  const total = outShape.reduce((a, b) => a * b, 1);
  if (total === 0) return out;
  const heap = heapF32(backend);
  const src = offsetOf(backend, x);
  const dst = offsetOf(backend, out);

  // inner[d]: elements of one out slab below axis d (product of outShape[d+1..]).
  const inner = new Array<number>(rank + 1).fill(1);
  for (let d = rank - 1; d >= 0; d--) inner[d] = inner[d + 1]! * outShape[d]!;

  // 1. x's rows (its last axis) to the first tile of out.
  const row = shape[rank - 1]!;
  const rows = shape.slice(0, -1).reduce((a, b) => a * b, 1);
  for (let r = 0; r < rows; r++) {
    let rem = r;
    let at = dst;
    for (let d = rank - 2; d >= 0; d--) {
      const i = rem % shape[d]!;
      rem = (rem - i) / shape[d]!;
      at += i * inner[d + 1]!;
    }
    heap.copyWithin(at, src + r * row, src + (r + 1) * row);
  }

  // 2. Axis by axis, innermost first: in every slab whose outer indices lie in the first tile,
  // the filled prefix (shape[d] entries of inner[d+1]) is doubled until it spans outShape[d].
  for (let d = rank - 1; d >= 0; d--) {
    if (reps[d] === 1) continue;
    const filled = shape[d]! * inner[d + 1]!;
    const span = inner[d]!;
    const slabs = shape.slice(0, d).reduce((a, b) => a * b, 1);
    for (let s = 0; s < slabs; s++) {
      let rem = s;
      let at = dst;
      for (let e = d - 1; e >= 0; e--) {
        const i = rem % shape[e]!;
        rem = (rem - i) / shape[e]!;
        at += i * inner[e + 1]!;
      }
      for (let have = filled; have < span; have *= 2) heap.copyWithin(at + have, at, at + Math.min(have, span - have));
    }
  }
  return out;
}
