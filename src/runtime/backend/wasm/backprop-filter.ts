import type { TensorInfo } from '@tensorflow/tfjs';
import type { Tf } from '../../../compiler/backends/tfjs/engine.js';
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
 *
 * Stride 1 on maps where padding adds little (all 3x3 'same' layers from 16x16 up) takes
 * shiftedBackpropFilter instead: no im2col buffer, one product per filter tap on shifted views
 * of a padded copy of x (1.3-1.9x faster than this path on the layers of config A).
 */
export function conv2dBackpropFilter(
  tf: Tf,
  backend: WasmBackend,
  x: TensorInfo,
  dy: TensorInfo,
  attrs: BackpropFilterAttrs,
  blockFloats = BLOCK_FLOATS,
): TensorInfo {
  const fmt = tf.backend_util.convertConv2DDataFormat(attrs.dataFormat);
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as never,
    attrs.filterShape,
    attrs.strides,
    1,
    attrs.pad as never,
    attrs.dimRoundingMode,
    false,
    fmt,
  );
  if (info.dataFormat !== 'channelsLast') throw new Error('wasm Conv2DBackpropFilter supports only NHWC');
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: c, outHeight: oh, outWidth: ow, outChannels: o } = info;
  const { filterHeight: kh, filterWidth: kw } = info;
  if (info.strideHeight === 1 && info.strideWidth === 1 && shiftedApplies(oh, ow, kh, kw)) {
    return shiftedBackpropFilter(
      tf,
      backend,
      x,
      dy,
      { n, h, w, c, oh, ow, o, kh, kw, top: info.padInfo.top, left: info.padInfo.left },
      attrs.filterShape,
    );
  }
  const p = n * oh * ow;
  const taps = kh * kw;
  const tapsPerBlock = Math.max(1, Math.min(taps, Math.floor(blockFloats / (c * p))));

  const xT = callKernel(tf, backend, 'Transpose', { x }, { perm: [3, 0, 1, 2] });
  const geometry: Geometry = {
    n,
    h,
    w,
    c,
    oh,
    ow,
    sh: info.strideHeight,
    sw: info.strideWidth,
    top: info.padInfo.top,
    left: info.padInfo.left,
    kw,
  };
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

/**
 * Stride 1 pays off without im2col when zero-padding the output grid to the input's padded size
 * adds little work: (oh+kh-1)(ow+kw-1) grid positions instead of oh*ow (measured: worth it up to
 * about 1.3x; past that, e.g. 8x8 maps, the im2col path's single big product wins).
 */
function shiftedApplies(oh: number, ow: number, kh: number, kw: number): boolean {
  return (oh + kh - 1) * (ow + kw - 1) <= SHIFTED_MAX_OVERHEAD * oh * ow;
}
const SHIFTED_MAX_OVERHEAD = 1.3;

interface ShiftedGeometry {
  readonly n: number;
  readonly h: number;
  readonly w: number;
  readonly c: number;
  readonly oh: number;
  readonly ow: number;
  readonly o: number;
  readonly kh: number;
  readonly kw: number;
  readonly top: number;
  readonly left: number;
}

/**
 * Stride 1 without an im2col buffer. On a padded grid of hp = oh+kh-1 rows by wp = ow+kw-1
 * columns per image, xPad[c, b, r, s] = x[b, r-top, s-left, c] (0 outside x) and
 * dyPad[b, r, s, o] = dy[b, r, s, o] (0 for r >= oh or s >= ow). With q = (b*hp + r)*wp + s,
 * dW[ky, kx, c, o] = sum_q xPad[c*Q + q + ky*wp + kx] * dyPad[q, o]: for each tap the left operand
 * is xPad itself seen from a shifted start (rows of length Q, no copy), so each tap is one
 * [C, Q] x [Q, O] product on the fast path, and dyPad (the right operand, packed by XNNPACK) is
 * the same for every tap. Reads past a grid row's valid part meet zeros of dyPad. Extra heap:
 * about the sizes of x and dy, independent of the filter size (no block splitting needed).
 */
function shiftedBackpropFilter(
  tf: Tf,
  backend: WasmBackend,
  x: TensorInfo,
  dy: TensorInfo,
  g: ShiftedGeometry,
  filterShape: readonly number[],
): TensorInfo {
  const { n, h, w, c, oh, ow, o, kh, kw, top, left } = g;
  const hp = oh + kh - 1;
  const wp = ow + kw - 1;
  const q = n * hp * wp;
  const slack = (kh - 1) * wp + (kw - 1);
  const xPad = alloc(backend, [c * q + slack]);
  const dyPad = alloc(backend, [q, o]);
  const result = alloc(backend, filterShape);
  const aliases: TensorInfo[] = [];
  try {
    let heap = heapF32(backend);
    // xPad: the transpose to channels-first and the padding in one pass over NHWC x (a separate
    // wasm Transpose plus a padding copy measured ~1 ms slower on x[4,128,128,16]).
    const xs = offsetOf(backend, x);
    const xp = offsetOf(backend, xPad);
    heap.fill(0, xp, xp + c * q + slack);
    const c0 = Math.max(0, left);
    const c1 = Math.min(wp, w + left);
    const r0 = Math.max(0, top);
    const r1 = Math.min(hp, h + top);
    for (let b = 0; b < n && c1 > c0; b++) {
      for (let r = r0; r < r1; r++) {
        let src = xs + ((b * h + r - top) * w + (c0 - left)) * c;
        const dst = xp + (b * hp + r) * wp;
        for (let col = c0; col < c1; col++) {
          for (let ch = 0, d = dst + col; ch < c; ch++, d += q) heap[d] = heap[src++]!;
        }
      }
    }
    // dyPad: dy rows of ow*o floats at the start of each grid row of wp*o.
    const ds = offsetOf(backend, dy);
    const dp = offsetOf(backend, dyPad);
    heap.fill(0, dp, dp + q * o);
    for (let b = 0; b < n; b++) {
      for (let r = 0; r < oh; r++) {
        const s = ds + (b * oh + r) * ow * o;
        heap.copyWithin(dp + (b * hp + r) * wp * o, s, s + ow * o);
      }
    }
    const xpBytes = xp * 4;
    for (let ky = 0; ky < kh; ky++) {
      for (let kx = 0; kx < kw; kx++) {
        const a = backend.makeOutput([c, q], 'float32', xpBytes + (ky * wp + kx) * 4);
        aliases.push(a);
        const part = matmul(tf, backend, a, dyPad, c, q, o);
        heap = heapF32(backend);
        const src = offsetOf(backend, part);
        heap.copyWithin(offsetOf(backend, result) + (ky * kw + kx) * c * o, src, src + c * o);
        free(backend, part);
        dropAlias(backend, aliases.pop()!);
      }
    }
    return result;
  } catch (e) {
    free(backend, result);
    throw e;
  } finally {
    for (const a of aliases) dropAlias(backend, a);
    free(backend, xPad, dyPad);
  }
}

/**
 * Forgets a tensor made with makeOutput at an offset inside another block: disposeData would
 * free() that offset, so drop the bookkeeping on both sides (JS map and the wasm tensor registry,
 * whose dispose_data only unregisters and runs disposal callbacks) without freeing memory.
 */
function dropAlias(backend: WasmBackend, t: TensorInfo): void {
  const b = backend as unknown as {
    dataIdMap: { get(id: unknown): { id: number } | undefined; delete(id: unknown): void };
    wasm: { tfjs: { disposeData(id: number): void } };
  };
  const d = b.dataIdMap.get(t.dataId);
  if (!d) return;
  b.wasm.tfjs.disposeData(d.id);
  b.dataIdMap.delete(t.dataId);
}
