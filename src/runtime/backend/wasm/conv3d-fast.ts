/**
 * Conv3D, Conv3DBackpropFilterV2 and Conv3DBackpropInputV2 (NDHWC, dilation 1, float32) on the
 * wasm backend as 2D convolutions on XNNPACK, instead of tfjs-backend-wasm's scalar Conv3D loop
 * (~0.4 GMAC/s) and the plain-JS gradient kernels of kernels3d.ts (~0.55 GMAC/s).
 *
 * The idea: a 3D convolution is a 2D convolution over depth-stacked slices. With the input x
 * [N, D, H, W, C], the filter W [kd, kh, kw, C, O], depth stride sd and front padding f, let
 *
 *   X'[b*OD + z, y, x, a*C + c] = x[b, z*sd + a - f, y, x, c]     (0 where that depth is outside x)
 *   W'[ky, kx, a*C + c, o]      = W[a, ky, kx, c, o]
 *
 * Then conv3d(x, W)[b, z] = conv2d(X', W')[b*OD + z], with the height/width strides and paddings
 * of the 3D convolution (TensorFlow's, from computeConv3DInfo, passed to Conv2D explicitly).
 * X' is kd/sd times the size of x, built by one pass of copies inside the wasm heap. So:
 *
 * - Conv3D         = Conv2D(X', W') (tfjs-backend-wasm's XNNPACK convolution).
 * - the filter     = W' gradient, Conv2DBackpropFilter(X', dy) (this project's XNNPACK matmul
 *   gradient     kernel, wasm/backprop-filter.ts), unstacked to [kd, kh, kw, C, O].
 * - the input      = for stride 1: a stride-1 Conv3D of dy with the flipped, in/out-swapped
 *   gradient       filter (the same stacked Conv2D, no scatter); otherwise the adjoint of the
 *                    stacking applied to Conv2DBackpropInput(dy, W') (this project's kernel,
 *                    wasm/backprop-input.ts: for conv3dTranspose 2x2x2 stride 2 a single matmul
 *                    and a depth-to-space copy).
 *
 * Each function returns undefined for what it does not cover (dilations above 1, NCDHW, other
 * dtypes, or when the project's Conv2D gradient kernels are not installed), and the caller falls
 * back (kernels3d.ts: the plain-JS kernels, or the built-in Conv3D).
 */
import type { TensorInfo } from '@tensorflow/tfjs';
import type { Tf } from '../../../compiler/backends/tfjs/engine.js';
import { alloc, callKernel, free, heapF32, offsetOf, view, type WasmBackend } from './heap.js';

type Triple = number | [number, number, number];

/** Attributes of tfjs' Conv3D kernel. */
export interface Conv3dAttrs {
  readonly strides: Triple;
  readonly pad: 'valid' | 'same';
  readonly dilations?: Triple;
  readonly dataFormat?: 'NDHWC' | 'NCDHW';
}

/** The geometry of one stacked convolution: an input [n, d, h, w, c] to an output [n, od, oh, ow, o]. */
interface Plan {
  readonly n: number;
  readonly d: number;
  readonly h: number;
  readonly w: number;
  readonly c: number;
  readonly od: number;
  readonly oh: number;
  readonly ow: number;
  readonly o: number;
  readonly kd: number;
  readonly kh: number;
  readonly kw: number;
  readonly sd: number;
  readonly sh: number;
  readonly sw: number;
  readonly front: number;
  readonly top: number;
  readonly bottom: number;
  readonly left: number;
  readonly right: number;
}

/** Marks this project's wasm training kernels (wasm/index.ts). */
const TRAINING_MARK = Symbol.for('unetc.wasmTrainingKernel');

function ours(tf: Tf, name: string): boolean {
  const f = tf.getKernel(name, 'wasm')?.kernelFunc as ({ [TRAINING_MARK]?: true } & object) | undefined;
  return f?.[TRAINING_MARK] === true;
}

const ones = (v: Triple | undefined) => v === undefined || (typeof v === 'number' ? v === 1 : v.every((e) => e === 1));

/**
 * The plan of conv3d(x, filter) from tfjs' own computeConv3DInfo (TensorFlow's padding), or
 * undefined if the stacked 2D convolution would not give the same output size.
 */
function planOf(
  tf: Tf,
  xShape: readonly number[],
  filterShape: readonly number[],
  strides: Triple,
  pad: 'valid' | 'same',
): Plan | undefined {
  if (xShape.length !== 5 || filterShape.length !== 5 || xShape[4] !== filterShape[3]) return undefined;
  const info = tf.backend_util.computeConv3DInfo(xShape as never, filterShape as never, strides, 1, pad);
  const p = info.padInfo;
  const plan: Plan = {
    n: info.batchSize,
    d: info.inDepth,
    h: info.inHeight,
    w: info.inWidth,
    c: info.inChannels,
    od: info.outDepth,
    oh: info.outHeight,
    ow: info.outWidth,
    o: info.outChannels,
    kd: info.filterDepth,
    kh: info.filterHeight,
    kw: info.filterWidth,
    sd: info.strideDepth,
    sh: info.strideHeight,
    sw: info.strideWidth,
    front: p.front,
    top: p.top,
    bottom: p.bottom,
    left: p.left,
    right: p.right,
  };
  return consistent(plan) ? plan : undefined;
}

/** Conv2D with explicit paddings gives exactly oh x ow (and everything is non-empty). */
function consistent(g: Plan): boolean {
  const out = (n: number, a: number, b: number, k: number, s: number) => Math.floor((n + a + b - k) / s) + 1;
  return (
    g.n > 0 &&
    g.d > 0 &&
    g.h > 0 &&
    g.w > 0 &&
    g.c > 0 &&
    g.o > 0 &&
    g.od > 0 &&
    g.oh > 0 &&
    g.ow > 0 &&
    g.front >= 0 &&
    g.top >= 0 &&
    g.bottom >= 0 &&
    g.left >= 0 &&
    g.right >= 0 &&
    out(g.h, g.top, g.bottom, g.kh, g.sh) === g.oh &&
    out(g.w, g.left, g.right, g.kw, g.sw) === g.ow
  );
}

const explicitPad = (g: Plan) => [
  [0, 0],
  [g.top, g.bottom],
  [g.left, g.right],
  [0, 0],
];

/**
 * X' [n*od, h, w, kd*c] from x [n, d, h, w, c] (see the file comment). Returns x itself (a view,
 * `owned` false) when the stacking is the identity (kd 1, stride 1, no front padding).
 */
function stack(backend: WasmBackend, x: TensorInfo, g: Plan): { t: TensorInfo; owned: boolean } {
  const { n, d, h, w, c, od, kd, sd, front } = g;
  const shape = [n * od, h, w, kd * c];
  if (kd === 1 && sd === 1 && front === 0 && od === d) return { t: view(x, shape), owned: false };
  const out = alloc(backend, shape);
  const heap = heapF32(backend);
  const xs = offsetOf(backend, x);
  const base = offsetOf(backend, out);
  const plane = h * w * c;
  const pixels = h * w;
  const kc = kd * c;
  for (let b = 0; b < n; b++) {
    for (let z = 0; z < od; z++) {
      const slab = base + (b * od + z) * plane * kd;
      if (kd === 1) {
        const iz = z * sd - front;
        if (iz < 0 || iz >= d) heap.fill(0, slab, slab + plane);
        else heap.copyWithin(slab, xs + (b * d + iz) * plane, xs + (b * d + iz + 1) * plane);
        continue;
      }
      for (let a = 0; a < kd; a++) {
        const iz = z * sd + a - front;
        let dst = slab + a * c;
        if (iz < 0 || iz >= d) {
          for (let p = 0; p < pixels; p++, dst += kc) for (let ch = 0; ch < c; ch++) heap[dst + ch] = 0;
          continue;
        }
        let src = xs + (b * d + iz) * plane;
        if (c === 1) {
          for (let p = 0; p < pixels; p++, dst += kc) heap[dst] = heap[src++]!;
        } else {
          for (let p = 0; p < pixels; p++, dst += kc) for (let ch = 0; ch < c; ch++) heap[dst + ch] = heap[src++]!;
        }
      }
    }
  }
  return { t: out, owned: true };
}

/**
 * W' [kh, kw, kd*ci, co] from a filter [kd, kh, kw, ...]: with `flip` false the filter is
 * [kd, kh, kw, ci, co] and W'[ky, kx, a*ci + c, m] = W[a, ky, kx, c, m]; with `flip` true it is
 * [kd, kh, kw, co, ci] (the forward filter of the conv whose input gradient is wanted) and
 * W'[ky, kx, a*ci + c, m] = W[kd-1-a, kh-1-ky, kw-1-kx, m, c].
 */
function stackFilter(
  backend: WasmBackend,
  filter: TensorInfo,
  kd: number,
  kh: number,
  kw: number,
  ci: number,
  co: number,
  flip: boolean,
): TensorInfo {
  const out = alloc(backend, [kh, kw, kd * ci, co]);
  const heap = heapF32(backend);
  const src = offsetOf(backend, filter);
  let dst = offsetOf(backend, out);
  const run = ci * co;
  for (let ky = 0; ky < kh; ky++)
    for (let kx = 0; kx < kw; kx++)
      for (let a = 0; a < kd; a++) {
        if (!flip) {
          const tap = src + ((a * kh + ky) * kw + kx) * run;
          heap.copyWithin(dst, tap, tap + run);
          dst += run;
        } else {
          const tap = src + (((kd - 1 - a) * kh + (kh - 1 - ky)) * kw + (kw - 1 - kx)) * run;
          // The tap is [co][ci] there: transpose it.
          for (let c = 0; c < ci; c++) for (let m = 0; m < co; m++) heap[dst++] = heap[tap + m * ci + c]!;
        }
      }
  return out;
}

/** The filter gradient [kd, kh, kw, c, o] from W' [kh, kw, kd*c, o]. */
function unstackFilter(backend: WasmBackend, stacked: TensorInfo, g: Plan): TensorInfo {
  const { kd, kh, kw, c, o } = g;
  const out = alloc(backend, [kd, kh, kw, c, o]);
  const heap = heapF32(backend);
  let src = offsetOf(backend, stacked);
  const dst = offsetOf(backend, out);
  const run = c * o;
  for (let ky = 0; ky < kh; ky++)
    for (let kx = 0; kx < kw; kx++)
      for (let a = 0; a < kd; a++, src += run) heap.copyWithin(dst + ((a * kh + ky) * kw + kx) * run, src, src + run);
  return out;
}

/** conv3d(x, W) for a plan and a stacked filter W' (see the file comment): [n, od, oh, ow, o]. */
function stackedConv(tf: Tf, backend: WasmBackend, x: TensorInfo, stackedFilter: TensorInfo, g: Plan): TensorInfo {
  const xs = stack(backend, x, g);
  try {
    const y = callKernel(
      tf,
      backend,
      'Conv2D',
      { x: xs.t, filter: stackedFilter },
      {
        strides: [g.sh, g.sw],
        pad: explicitPad(g),
        dataFormat: 'NHWC',
        dilations: [1, 1],
      },
    );
    return view(y, [g.n, g.od, g.oh, g.ow, g.o]);
  } finally {
    if (xs.owned) free(backend, xs.t);
  }
}

/** Conv3D forward; undefined where not covered (the caller runs the built-in kernel). */
export function conv3dFast(
  tf: Tf,
  backend: WasmBackend,
  x: TensorInfo,
  filter: TensorInfo,
  attrs: Conv3dAttrs,
): TensorInfo | undefined {
  if (x.dtype !== 'float32' || filter.dtype !== 'float32' || !ones(attrs.dilations)) return undefined;
  if (attrs.dataFormat !== undefined && attrs.dataFormat !== 'NDHWC') return undefined;
  const g = planOf(tf, x.shape, filter.shape, attrs.strides, attrs.pad);
  if (!g) return undefined;
  // Freeing the stacked filter also drops the XNNPACK operator Conv2D cached for it.
  const wt = stackFilter(backend, filter, g.kd, g.kh, g.kw, g.c, g.o, false);
  try {
    return stackedConv(tf, backend, x, wt, g);
  } finally {
    free(backend, wt);
  }
}

/** Conv3DBackpropFilterV2: dW [kd, kh, kw, C, O]; undefined where not covered. */
export function conv3dBackpropFilterFast(
  tf: Tf,
  backend: WasmBackend,
  x: TensorInfo,
  dy: TensorInfo,
  attrs: { strides: Triple; pad: 'valid' | 'same'; filterShape: readonly number[] },
): TensorInfo | undefined {
  if (x.dtype !== 'float32' || dy.dtype !== 'float32' || !ours(tf, 'Conv2DBackpropFilter')) return undefined;
  const g = planOf(tf, x.shape, attrs.filterShape, attrs.strides, attrs.pad);
  if (!g || g.c !== attrs.filterShape[3] || dy.shape.join() !== [g.n, g.od, g.oh, g.ow, g.o].join()) return undefined;
  const xs = stack(backend, x, g);
  let dw: TensorInfo | undefined;
  try {
    dw = callKernel(
      tf,
      backend,
      'Conv2DBackpropFilter',
      { x: xs.t, dy: view(dy, [g.n * g.od, g.oh, g.ow, g.o]) },
      {
        strides: [g.sh, g.sw],
        pad: explicitPad(g),
        dataFormat: 'NHWC',
        filterShape: [g.kh, g.kw, g.kd * g.c, g.o],
      },
    );
    // kd 1: W' is already [1, kh, kw, c, o] in memory.
    return g.kd === 1 ? view(dw, attrs.filterShape) : unstackFilter(backend, dw, g);
  } finally {
    if (xs.owned) free(backend, xs.t);
    if (dw && g.kd !== 1) free(backend, dw);
  }
}

/** Conv3DBackpropInputV2 (also conv3dTranspose's forward pass): dx [N, D, H, W, C]; undefined where not covered. */
export function conv3dBackpropInputFast(
  tf: Tf,
  backend: WasmBackend,
  dy: TensorInfo,
  filter: TensorInfo,
  attrs: { strides: Triple; pad: 'valid' | 'same'; inputShape: readonly number[] },
): TensorInfo | undefined {
  if (dy.dtype !== 'float32' || filter.dtype !== 'float32') return undefined;
  const g = planOf(tf, attrs.inputShape, filter.shape, attrs.strides, attrs.pad);
  if (!g || dy.shape.join() !== [g.n, g.od, g.oh, g.ow, g.o].join()) return undefined;
  if (g.sd === 1 && g.sh === 1 && g.sw === 1) {
    // dx = conv3d(dy, W flipped with in/out swapped), stride 1, front/top/left padding k-1-p and
    // whatever makes the output the input's size at the back/bottom/right.
    const t: Plan = {
      n: g.n,
      d: g.od,
      h: g.oh,
      w: g.ow,
      c: g.o,
      od: g.d,
      oh: g.h,
      ow: g.w,
      o: g.c,
      kd: g.kd,
      kh: g.kh,
      kw: g.kw,
      sd: 1,
      sh: 1,
      sw: 1,
      front: g.kd - 1 - g.front,
      top: g.kh - 1 - g.top,
      bottom: g.h - g.oh - (g.kh - 1 - g.top) + g.kh - 1,
      left: g.kw - 1 - g.left,
      right: g.w - g.ow - (g.kw - 1 - g.left) + g.kw - 1,
    };
    const back = g.d - g.od - t.front + g.kd - 1;
    if (t.front >= 0 && back >= 0 && consistent(t)) {
      const wt = stackFilter(backend, filter, g.kd, g.kh, g.kw, g.o, g.c, true);
      try {
        return stackedConv(tf, backend, dy, wt, t);
      } finally {
        free(backend, wt);
      }
    }
  }
  if (!ours(tf, 'Conv2DBackpropInput')) return undefined;
  const wt = stackFilter(backend, filter, g.kd, g.kh, g.kw, g.c, g.o, false);
  let dxs: TensorInfo | undefined;
  try {
    dxs = callKernel(
      tf,
      backend,
      'Conv2DBackpropInput',
      { dy: view(dy, [g.n * g.od, g.oh, g.ow, g.o]), filter: wt },
      {
        strides: [g.sh, g.sw],
        pad: explicitPad(g),
        dataFormat: 'NHWC',
        inputShape: [g.n * g.od, g.h, g.w, g.kd * g.c],
      },
    );
    return unstackAdd(backend, dxs, g);
  } finally {
    free(backend, wt);
    if (dxs) free(backend, dxs);
  }
}

/**
 * The adjoint of `stack`: dx[b, iz, y, x, c] = sum over (z, a) with z*sd + a - front = iz of
 * dX'[b*od + z, y, x, a*c + c] (0 for depths no output window reaches).
 */
function unstackAdd(backend: WasmBackend, dxs: TensorInfo, g: Plan): TensorInfo {
  const { n, d, h, w, c, od, kd, sd, front } = g;
  const dx = alloc(backend, [n, d, h, w, c]);
  const heap = heapF32(backend);
  const from = offsetOf(backend, dxs);
  const base = offsetOf(backend, dx);
  const plane = h * w * c;
  const pixels = h * w;
  const kc = kd * c;
  // Depths written so far: the first contribution is a copy, later ones add.
  const written = new Uint8Array(n * d);
  for (let b = 0; b < n; b++) {
    for (let z = 0; z < od; z++) {
      for (let a = 0; a < kd; a++) {
        const iz = z * sd + a - front;
        if (iz < 0 || iz >= d) continue;
        let dst = base + (b * d + iz) * plane;
        let src = from + (b * od + z) * plane * kd + a * c;
        if (kd === 1) {
          if (!written[b * d + iz]) heap.copyWithin(dst, src, src + plane);
          else for (let i = 0; i < plane; i++) heap[dst + i] = heap[dst + i]! + heap[src + i]!;
        } else if (!written[b * d + iz]) {
          for (let p = 0; p < pixels; p++, src += kc) for (let ch = 0; ch < c; ch++) heap[dst++] = heap[src + ch]!;
        } else {
          for (let p = 0; p < pixels; p++, src += kc)
            for (let ch = 0; ch < c; ch++, dst++) heap[dst] = heap[dst]! + heap[src + ch]!;
        }
        written[b * d + iz] = 1;
      }
    }
  }
  for (let i = 0; i < n * d; i++) if (!written[i]) heap.fill(0, base + i * plane, base + (i + 1) * plane);
  return dx;
}
