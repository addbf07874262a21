import type { TensorInfo } from '@tensorflow/tfjs';
import type { Tf } from '../../../compiler/backends/tfjs/engine.js';
import { alloc, callKernel, free, heapF32, matmul, offsetOf, view, type WasmBackend } from './heap.js';

/** Attributes of tfjs' Conv2DBackpropInput kernel (also the forward pass of conv2dTranspose). */
export interface BackpropInputAttrs {
  readonly strides: number | [number, number];
  readonly pad: 'valid' | 'same' | number | number[][];
  readonly dataFormat: 'NHWC' | 'NCHW';
  readonly dimRoundingMode?: 'floor' | 'round' | 'ceil';
  readonly inputShape: [number, number, number, number];
}

/**
 * dx for a conv y = conv2d(x, W), without the built-in kernel's scalar loop (~1.6 GFLOP/s).
 * Returns undefined when neither fast form applies (dataFormat NCHW, or padding larger than the
 * kernel), so the caller can fall back to the built-in kernel.
 */
export function conv2dBackpropInput(
  tf: Tf,
  backend: WasmBackend,
  dy: TensorInfo,
  filter: TensorInfo,
  attrs: BackpropInputAttrs,
): TensorInfo | undefined {
  const fmt = tf.backend_util.convertConv2DDataFormat(attrs.dataFormat);
  const info = tf.backend_util.computeConv2DInfo(
    attrs.inputShape,
    filter.shape as never,
    attrs.strides,
    1,
    attrs.pad as never,
    attrs.dimRoundingMode,
    false,
    fmt,
  );
  if (info.dataFormat !== 'channelsLast') return undefined;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw, padInfo: pad } = info;
  const noPad = pad.top === 0 && pad.bottom === 0 && pad.left === 0 && pad.right === 0;
  if (kh === sh && kw === sw && noPad && info.inHeight === info.outHeight * sh && info.inWidth === info.outWidth * sw) {
    return patchesBackprop(tf, backend, dy, filter, info);
  }
  // dx = conv2d(dy dilated by the stride, W rotated 180 degrees with in/out channels swapped),
  // stride 1, padding kh-1-top at the top and whatever makes the output inH tall at the bottom.
  const dilH = (info.outHeight - 1) * sh + 1;
  const dilW = (info.outWidth - 1) * sw + 1;
  const top = kh - 1 - pad.top;
  const left = kw - 1 - pad.left;
  const bottom = info.inHeight - dilH - top + kh - 1;
  const right = info.inWidth - dilW - left + kw - 1;
  if (top < 0 || left < 0 || bottom < 0 || right < 0) return undefined;
  const rotated = rotateFilter(backend, filter, kh, kw, info.inChannels, info.outChannels);
  const dilated =
    sh === 1 && sw === 1
      ? dy
      : dilate(backend, dy, info.batchSize, info.outHeight, info.outWidth, info.outChannels, sh, sw);
  try {
    return callKernel(
      tf,
      backend,
      'Conv2D',
      { x: dilated, filter: rotated },
      {
        strides: [1, 1],
        pad: [
          [0, 0],
          [top, bottom],
          [left, right],
          [0, 0],
        ],
        dataFormat: 'NHWC',
        dilations: [1, 1],
      },
    );
  } finally {
    // Freeing the filter also drops the XNNPACK operator the Conv2D kernel cached for it.
    free(backend, rotated);
    if (dilated !== dy) free(backend, dilated);
  }
}

type ConvInfo = ReturnType<Tf['backend_util']['computeConv2DInfo']>;

/** rot[ky, kx, o, c] = W[kh-1-ky, kw-1-kx, c, o]. Filters are small: a JS loop is fine. */
function rotateFilter(
  backend: WasmBackend,
  filter: TensorInfo,
  kh: number,
  kw: number,
  c: number,
  o: number,
): TensorInfo {
  const out = alloc(backend, [kh, kw, o, c]);
  const heap = heapF32(backend);
  const src = offsetOf(backend, filter);
  let dst = offsetOf(backend, out);
  for (let ky = 0; ky < kh; ky++)
    for (let kx = 0; kx < kw; kx++) {
      const tap = src + ((kh - 1 - ky) * kw + (kw - 1 - kx)) * c * o;
      for (let oc = 0; oc < o; oc++) for (let ic = 0; ic < c; ic++) heap[dst++] = heap[tap + ic * o + oc]!;
    }
  return out;
}

/** dy with sh-1 zero rows and sw-1 zero columns between its pixels. */
function dilate(
  backend: WasmBackend,
  dy: TensorInfo,
  n: number,
  oh: number,
  ow: number,
  o: number,
  sh: number,
  sw: number,
): TensorInfo {
  const dh = (oh - 1) * sh + 1;
  const dw = (ow - 1) * sw + 1;
  const out = alloc(backend, [n, dh, dw, o]);
  const heap = heapF32(backend);
  const dst = offsetOf(backend, out);
  heap.fill(0, dst, dst + n * dh * dw * o);
  let src = offsetOf(backend, dy);
  for (let b = 0; b < n; b++)
    for (let y = 0; y < oh; y++)
      for (let x = 0; x < ow; x++, src += o) {
        const at = dst + ((b * dh + y * sh) * dw + x * sw) * o;
        heap.copyWithin(at, src, src + o);
      }
  return out;
}

/**
 * Kernel equal to stride, no padding (the U-Net's 2x2 stride-2 up-convolution): the output
 * patches do not overlap, so dx = depth-to-space(dy[P, O] x Wt[O, kh*kw*C]).
 */
function patchesBackprop(tf: Tf, backend: WasmBackend, dy: TensorInfo, filter: TensorInfo, info: ConvInfo): TensorInfo {
  const {
    batchSize: n,
    outHeight: oh,
    outWidth: ow,
    inHeight: ih,
    inWidth: iw,
    inChannels: c,
    outChannels: o,
    filterHeight: kh,
    filterWidth: kw,
  } = info;
  const k = kh * kw * c;
  const p = n * oh * ow;
  const wt = alloc(backend, [o, k]);
  let heap = heapF32(backend);
  const src = offsetOf(backend, filter);
  const dstW = offsetOf(backend, wt);
  for (let r = 0; r < k; r++) for (let oc = 0; oc < o; oc++) heap[dstW + oc * k + r] = heap[src + r * o + oc]!;
  const prod = matmul(tf, backend, dy, wt, p, o, k);
  const dx = alloc(backend, [n, ih, iw, c]);
  heap = heapF32(backend);
  let from = offsetOf(backend, prod);
  const base = offsetOf(backend, dx);
  const run = kw * c; // one patch row: kw pixels of C channels, contiguous in both layouts
  for (let b = 0; b < n; b++)
    for (let y = 0; y < oh; y++)
      for (let x = 0; x < ow; x++)
        for (let ky = 0; ky < kh; ky++, from += run) {
          const to = base + ((b * ih + y * kh + ky) * iw + x * kw) * c;
          heap.copyWithin(to, from, from + run);
        }
  free(backend, wt, prod);
  return view(dx, [n, ih, iw, c]);
}
