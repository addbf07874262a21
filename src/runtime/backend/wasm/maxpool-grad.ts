import type { TensorInfo } from '@tensorflow/tfjs';
import type { Tf } from '../../../compiler/backends/tfjs/engine.js';
import { alloc, heapF32, offsetOf, type WasmBackend } from './heap.js';

/** Attributes of tfjs' MaxPoolGrad kernel. */
export interface MaxPoolGradAttrs {
  readonly filterSize: number | [number, number];
  readonly strides: number | [number, number];
  readonly pad: 'valid' | 'same' | number;
  readonly dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/**
 * dx of max pooling: each dy value goes to the first maximum of its window (row-major scan).
 * The built-in wasm kernel routes a tie to the last maximum while the cpu backend and TensorFlow
 * take the first, and ties are common in a U-Net (ReLU zeros, even after a BatchNorm), so the
 * two engines trained differently; this kernel makes wasm agree with cpu.
 */
export function maxPoolGrad(
  tf: Tf,
  backend: WasmBackend,
  dy: TensorInfo,
  x: TensorInfo,
  attrs: MaxPoolGradAttrs,
): TensorInfo {
  const info = tf.backend_util.computePool2DInfo(
    x.shape as never,
    attrs.filterSize,
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
  );
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow } = info;
  const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const dx = alloc(backend, x.shape);
  const heap = heapF32(backend);
  const xs = offsetOf(backend, x);
  const out = offsetOf(backend, dx);
  heap.fill(0, out, out + n * h * w * c);
  let g = offsetOf(backend, dy);
  for (let b = 0; b < n; b++)
    for (let oy = 0; oy < oh; oy++) {
      const y0 = Math.max(0, oy * sh - top);
      const y1 = Math.min(h, oy * sh - top + fh);
      for (let ox = 0; ox < ow; ox++) {
        const x0 = Math.max(0, ox * sw - left);
        const x1 = Math.min(w, ox * sw - left + fw);
        for (let ch = 0; ch < c; ch++, g++) {
          let best = -Infinity;
          let at = -1;
          for (let y = y0; y < y1; y++)
            for (let xx = x0, i = ((b * h + y) * w + x0) * c + ch; xx < x1; xx++, i += c) {
              const v = heap[xs + i]!;
              if (v > best || at < 0) {
                best = v;
                at = i;
              }
            }
          if (at >= 0) heap[out + at] = heap[out + at]! + heap[g]!;
        }
      }
    }
  return dx;
}
