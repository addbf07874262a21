import type { TensorInfo } from '@tensorflow/tfjs';
import type { Tf } from '../engine.js';
import { alloc, callKernel, free, heapF32, matmul, offsetOf, view, type WasmBackend } from './heap.js';

/** Attributes of tfjs' Conv2DBackpropFilter kernel (NHWC only, dilation 1). */
export interface BackpropFilterAttrs {
  readonly strides: number | [number, number];
  readonly pad: 'valid' | 'same' | number | number[][];
  readonly dataFormat: 'NHWC' | 'NCHW';
  readonly dimRoundingMode?: 'floor' | 'round' | 'ceil';
  readonly filterShape: [number, number, number, number];
}

/**
 * Largest transposed-im2col block built at once, in floats (64 MiB). Bigger problems are split
 * by filter taps, so the extra heap a gradient needs stays bounded (wasm32 memory caps at 4 GB).
 */
const BLOCK_FLOATS = 16 * 1024 * 1024;

/**
 * dW[kh, kw, C, O] = colT[kh*kw*C, P] x dy[P, O] with P = N*OH*OW: a transposed im2col buffer,
 * built by block copies inside the wasm heap, times dy on the BatchMatMul fast path. The input is
 * first made channels-first ([C, N, H, W], one wasm Transpose) so that each im2col row segment is
 * a contiguous run of x when the stride is 1. `blockFloats` bounds the im2col buffer (tests
 * shrink it to exercise the split path).
 */
export function conv2dBackpropFilter(tf: Tf, backend: WasmBackend, x: TensorInfo, dy: TensorInfo, attrs: BackpropFilterAttrs, blockFloats = BLOCK_FLOATS): TensorInfo {
  const fmt = tf.backend_util.convertConv2DDataFormat(attrs.dataFormat);
  const info = tf.backend_util.computeConv2DInfo(x.shape as never, attrs.filterShape, attrs.strides, 1, attrs.pad as never, attrs.dimRoundingMode, false, fmt);
  if (info.dataFormat !== 'channelsLast') throw new Error('wasm Conv2DBackpropFilter supports only NHWC');
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow, outChannels: o } = info;
  const { filterHeight: kh, filterWidth: kw } = info;
  const p = n * oh * ow;
  const taps = kh * kw;
  const tapsPerBlock = Math.max(1, Math.min(taps, Math.floor(blockFloats / (c * p))));

  const xT = callKernel(tf, backend, 'Transpose', { x }, { perm: [3, 0, 1, 2] });
  const geometry: Geometry = { n, h, w, c, oh, ow, sh: info.strideHeight, sw: info.strideWidth, top: info.padInfo.top, left: info.padInfo.left, kw };
  try {
    if (tapsPerBlock >= taps) {
      const col = alloc(backend, [taps * c, p]);
      fillColumns(backend, xT, col, geometry, 0, taps);
      const out = matmul(tf, backend, col, dy, taps * c, p, o);
      free(backend, col);
      return view(out, attrs.filterShape);
    }
    const result = alloc(backend, attrs.filterShape);
    for (let t0 = 0; t0 < taps; t0 += tapsPerBlock) {
      const t1 = Math.min(taps, t0 + tapsPerBlock);
      const col = alloc(backend, [(t1 - t0) * c, p]);
      fillColumns(backend, xT, col, geometry, t0, t1);
      const part = matmul(tf, backend, col, dy, (t1 - t0) * c, p, o);
      const heap = heapF32(backend);
      const src = offsetOf(backend, part);
      // Rows of dW for taps t0..t1 are contiguous in [kh, kw, C, O] order.
      heap.copyWithin(offsetOf(backend, result) + t0 * c * o, src, src + (t1 - t0) * c * o);
      free(backend, col, part);
    }
    return result;
  } finally {
    free(backend, xT);
  }
}

interface Geometry {
  readonly n: number;
  readonly h: number;
  readonly w: number;
  readonly c: number;
  readonly oh: number;
  readonly ow: number;
  readonly sh: number;
  readonly sw: number;
  readonly top: number;
  readonly left: number;
  readonly kw: number;
}

/**
 * Writes rows (tap, channel) for taps t0..t1 of the transposed im2col matrix: row r, column
 * (n, oy, ox) holds x[n, oy*sh + ky - top, ox*sw + kx - left, c], or 0 in the padding.
 */
function fillColumns(backend: WasmBackend, xT: TensorInfo, col: TensorInfo, g: Geometry, t0: number, t1: number): void {
  const heap = heapF32(backend);
  const xBase = offsetOf(backend, xT);
  let dst = offsetOf(backend, col);
  const { n, h, w, c, oh, ow, sh, sw, top, left, kw } = g;
  for (let t = t0; t < t1; t++) {
    const ky = Math.floor(t / kw);
    const kx = t % kw;
    // Output columns whose input column lies inside the image: ox in [lo, hi).
    const lo = Math.min(ow, Math.max(0, Math.ceil((left - kx) / sw)));
    const hi = Math.max(lo, Math.min(ow, Math.floor((w - 1 - kx + left) / sw) + 1));
    const ix0 = lo * sw + kx - left;
    for (let ch = 0; ch < c; ch++) {
      for (let b = 0; b < n; b++) {
        const plane = xBase + (ch * n + b) * h * w;
        for (let oy = 0; oy < oh; oy++, dst += ow) {
          const iy = oy * sh + ky - top;
          if (iy < 0 || iy >= h) {
            heap.fill(0, dst, dst + ow);
            continue;
          }
          if (lo > 0) heap.fill(0, dst, dst + lo);
          if (hi < ow) heap.fill(0, dst + hi, dst + ow);
          const src = plane + iy * w + ix0;
          if (sw === 1) heap.copyWithin(dst + lo, src, src + (hi - lo));
          else for (let i = lo, s = src; i < hi; i++, s += sw) heap[dst + i] = heap[s]!;
        }
      }
    }
  }
}
