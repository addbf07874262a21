/**
 * 3D (NDHWC) kernels that tfjs 4.22 gets wrong, replaced by plain JavaScript ones that follow
 * the definitions (and TensorFlow's conventions). Measured against float64 references in
 * test/runtime/grad3d/:
 *
 * wasm (tfjs-backend-wasm 4.22):
 * - Conv3DBackpropInputV2 (the x-gradient of conv3d, and the forward pass of conv3dTranspose) is
 *   wrong for every configuration tried, even a 1x1x1 kernel at stride 1 (max error ~ the largest
 *   value).
 * - Conv3DBackpropFilterV2 is wrong whenever a stride is above 1.
 * - MaxPool3D starts each window's maximum at FLT_MIN (1.18e-38) instead of -infinity: a window
 *   whose values are all <= 0 gives 1.18e-38, and MaxPool3DGrad sends such a window's gradient
 *   nowhere.
 * cpu (tfjs-backend-cpu 4.22), and wasm too:
 * - MaxPool3DGrad (cpu) indexes the window with the filter height where the width belongs: wrong
 *   for pools whose height and width differ (e.g. [2, 2, 1] or [2, 3, 2]).
 * - AvgPool3DGrad divides by the whole window size while AvgPool3D divides by the number of
 *   in-bounds values: with 'same' padding the gradient of a border window is off.
 *
 * Ties in max pooling go to the first maximum in (depth, row, column) scan order on both
 * backends (as the project's 2D MaxPoolGrad does), so the two engines train alike.
 *
 * Conv3D (forward) and AvgPool3D are right on both backends. Everything here is scalar
 * JavaScript, accumulating in float64: correctness first (~0.55 GMAC/s for the conv3d gradients,
 * about the cpu backend's own; the built-in wasm Conv3D runs ~0.4).
 *
 * On wasm, Conv3D and both conv3d gradients first try wasm/conv3d-fast.ts (2D convolutions over
 * depth-stacked slices on XNNPACK, 10-30 GMAC/s on 2 cores), and rank-5 Slice/SplitV (the concat
 * gradient) wasm/slice3d.ts (heap copies instead of tfjs' per-element fallback); what those do
 * not cover (dilations, negative 'same' paddings, other dtypes) comes here or to the built-ins.
 * One training step of a 32x64x64 U-Net with 8 base filters and 3 levels went from ~11 s to
 * ~0.4 s on wasm (2 threads).
 */
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import type { Tf } from '../../compiler/backends/tfjs/engine.js';
import { conv3dBackpropFilterFast, conv3dBackpropInputFast, conv3dFast, type Conv3dAttrs } from './wasm/conv3d-fast.js';
import { alloc, heapF32, offsetOf, type WasmBackend } from './wasm/heap.js';
import { sliceVolume, splitVolume } from './wasm/slice3d.js';

/** The kernels replaced, per backend. */
export const kernels3d = {
  wasm: [
    'Conv3D',
    'Conv3DBackpropInputV2',
    'Conv3DBackpropFilterV2',
    'MaxPool3D',
    'MaxPool3DGrad',
    'AvgPool3DGrad',
    'Slice',
    'SplitV',
  ],
  cpu: ['MaxPool3DGrad', 'AvgPool3DGrad'],
} as const;

type Triple = number | [number, number, number];
type PadAttr = 'valid' | 'same' | number;
type Rounding = 'floor' | 'round' | 'ceil' | undefined;

/** Shape and padding of a 3D window operation, from tfjs' own computeConv3DInfo / computePool3DInfo. */
export interface Geometry3d {
  readonly batchSize: number;
  readonly inDepth: number;
  readonly inHeight: number;
  readonly inWidth: number;
  readonly inChannels: number;
  readonly outDepth: number;
  readonly outHeight: number;
  readonly outWidth: number;
  readonly outChannels: number;
  readonly strideDepth: number;
  readonly strideHeight: number;
  readonly strideWidth: number;
  readonly filterDepth: number;
  readonly filterHeight: number;
  readonly filterWidth: number;
  readonly padInfo: { readonly front: number; readonly top: number; readonly left: number };
}

/**
 * Calls visit(outBase, inBase, tap) for every output position, filter tap and in-bounds input
 * position of the window: outBase and inBase are the element offsets of channel 0 (output
 * channels `outC`, input channels `g.inChannels`), tap the filter tap's index in d, h, w order.
 */
function forEachWindowTap(
  g: Geometry3d,
  outC: number,
  visit: (outBase: number, inBase: number, tap: number) => void,
): void {
  const { inDepth: d, inHeight: h, inWidth: w, inChannels: c } = g;
  const { filterDepth: kd, filterHeight: kh, filterWidth: kw } = g;
  let o = 0;
  for (let b = 0; b < g.batchSize; b++)
    for (let od = 0; od < g.outDepth; od++)
      for (let oh = 0; oh < g.outHeight; oh++)
        for (let ow = 0; ow < g.outWidth; ow++, o += outC) {
          const d0 = od * g.strideDepth - g.padInfo.front;
          const h0 = oh * g.strideHeight - g.padInfo.top;
          const w0 = ow * g.strideWidth - g.padInfo.left;
          for (let i = 0; i < kd; i++) {
            const id = d0 + i;
            if (id < 0 || id >= d) continue;
            for (let j = 0; j < kh; j++) {
              const ih = h0 + j;
              if (ih < 0 || ih >= h) continue;
              for (let k = 0; k < kw; k++) {
                const iw = w0 + k;
                if (iw < 0 || iw >= w) continue;
                visit(o, (((b * d + id) * h + ih) * w + iw) * c, (i * kh + j) * kw + k);
              }
            }
          }
        }
}

/** dx of conv3d: dy [n, od, oh, ow, cout] and filter [kd, kh, kw, cin, cout] -> [n, d, h, w, cin]. */
export function conv3dBackpropInputJs(g: Geometry3d, dy: Float32Array, filter: Float32Array): Float64Array {
  const cin = g.inChannels;
  const cout = g.outChannels;
  const dx = new Float64Array(g.batchSize * g.inDepth * g.inHeight * g.inWidth * cin);
  forEachWindowTap(g, cout, (yo, xo, tap) => {
    const fo = tap * cin * cout;
    for (let ch = 0; ch < cin; ch++) {
      let s = 0;
      for (let m = 0, f = fo + ch * cout; m < cout; m++) s += dy[yo + m]! * filter[f + m]!;
      dx[xo + ch] = dx[xo + ch]! + s;
    }
  });
  return dx;
}

/** dfilter of conv3d: x [n, d, h, w, cin] and dy [n, od, oh, ow, cout] -> [kd, kh, kw, cin, cout]. */
export function conv3dBackpropFilterJs(g: Geometry3d, x: Float32Array, dy: Float32Array): Float64Array {
  const cin = g.inChannels;
  const cout = g.outChannels;
  const df = new Float64Array(g.filterDepth * g.filterHeight * g.filterWidth * cin * cout);
  forEachWindowTap(g, cout, (yo, xo, tap) => {
    const fo = tap * cin * cout;
    for (let ch = 0; ch < cin; ch++) {
      const v = x[xo + ch]!;
      if (v === 0) continue;
      for (let m = 0, f = fo + ch * cout; m < cout; m++) df[f + m] = df[f + m]! + v * dy[yo + m]!;
    }
  });
  return df;
}

/**
 * Max pooling: each window's maximum over its in-bounds values (NaN-free inputs), and for every
 * output the input offset it came from (the first maximum in scan order).
 */
export function maxPool3dJs(g: Geometry3d, x: Float32Array): { y: Float32Array; arg: Int32Array } {
  const c = g.inChannels;
  const n = g.batchSize * g.outDepth * g.outHeight * g.outWidth * c;
  const y = new Float32Array(n).fill(-Infinity);
  const arg = new Int32Array(n).fill(-1);
  forEachWindowTap(g, c, (yo, xo) => {
    for (let ch = 0; ch < c; ch++) {
      const v = x[xo + ch]!;
      if (v > y[yo + ch]! || arg[yo + ch] === -1) {
        y[yo + ch] = v;
        arg[yo + ch] = xo + ch;
      }
    }
  });
  return { y, arg };
}

/** dx of max pooling: each dy value added at its window's first maximum. */
export function maxPool3dGradJs(g: Geometry3d, x: Float32Array, dy: Float32Array): Float64Array {
  const { arg } = maxPool3dJs(g, x);
  const dx = new Float64Array(g.batchSize * g.inDepth * g.inHeight * g.inWidth * g.inChannels);
  for (let i = 0; i < arg.length; i++) {
    const at = arg[i]!;
    if (at >= 0) dx[at] = dx[at]! + dy[i]!;
  }
  return dx;
}

/** dx of average pooling: each dy value spread evenly over its window's in-bounds values (as AvgPool3D divides). */
export function avgPool3dGradJs(g: Geometry3d, dy: Float32Array): Float64Array {
  const c = g.inChannels;
  const windows = g.batchSize * g.outDepth * g.outHeight * g.outWidth;
  const count = new Float64Array(windows);
  forEachWindowTap(g, c, (yo) => {
    count[yo / c] = count[yo / c]! + 1;
  });
  const dx = new Float64Array(g.batchSize * g.inDepth * g.inHeight * g.inWidth * c);
  forEachWindowTap(g, c, (yo, xo) => {
    const k = 1 / count[yo / c]!;
    for (let ch = 0; ch < c; ch++) dx[xo + ch] = dx[xo + ch]! + dy[yo + ch]! * k;
  });
  return dx;
}

/** Reading inputs and making the output on one backend. */
interface Io {
  /** The float32 values of a tensor (a view: read them before calling `out`). */
  read(t: TensorInfo): Float32Array;
  out(shape: readonly number[], values: ArrayLike<number>): TensorInfo;
}

function wasmIo(backend: WasmBackend): Io {
  return {
    read: (t) => {
      const at = offsetOf(backend, t);
      return heapF32(backend).subarray(at, at + t.shape.reduce((a, b) => a * b, 1));
    },
    out: (shape, values) => {
      const t = alloc(backend, shape);
      heapF32(backend).set(values, offsetOf(backend, t));
      return t;
    },
  };
}

interface CpuBackend {
  data: { get(dataId: unknown): { values: unknown } | undefined };
  makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): TensorInfo;
}

function cpuIo(backend: CpuBackend): Io {
  return {
    read: (t) => {
      const values = backend.data.get(t.dataId)?.values;
      if (values instanceof Float32Array) return values;
      throw new Error('3D kernels: a cpu tensor has no float32 values');
    },
    out: (shape, values) => backend.makeTensorInfo([...shape], 'float32', Float32Array.from(values)),
  };
}

const MARK = Symbol.for('unetc.kernel3d');
type Marked = KernelFunc & { [MARK]?: true };

interface Args {
  readonly inputs: Record<string, TensorInfo>;
  readonly backend: unknown;
  readonly attrs: Record<string, unknown>;
}

/**
 * Registers the replacements for every backend whose tfjs module is loaded in this namespace
 * (a wasm kernel is only replaced once tfjs-backend-wasm has registered its own). Idempotent.
 */
export function registerKernels3d(tf: Tf): void {
  const conv = (x: readonly number[], filter: readonly number[], attrs: Record<string, unknown>) =>
    tf.backend_util.computeConv3DInfo(
      x as never,
      filter as never,
      attrs.strides as Triple,
      1,
      attrs.pad as 'valid' | 'same',
    ) as unknown as Geometry3d;
  const pool = (x: readonly number[], attrs: Record<string, unknown>) =>
    tf.backend_util.computePool3DInfo(
      x as never,
      attrs.filterSize as Triple,
      attrs.strides as Triple,
      1,
      attrs.pad as PadAttr,
      attrs.dimRoundingMode as Rounding,
    ) as unknown as Geometry3d;
  const float32 = (...ts: TensorInfo[]) => ts.every((t) => t.dtype === 'float32');

  // wasm only: the three convolutions as 2D convolutions and matrix products on XNNPACK
  // (wasm/conv3d-fast.ts), and rank-5 Slice/SplitV as heap copies (wasm/slice3d.ts), each
  // handing what it does not cover to the kernels below.
  const fastWasm: Record<string, (backend: WasmBackend, a: Args) => TensorInfo | TensorInfo[] | undefined> = {
    Conv3D: (b, { inputs: { x, filter }, attrs }) => conv3dFast(tf, b, x!, filter!, attrs as unknown as Conv3dAttrs),
    Conv3DBackpropInputV2: (b, { inputs: { dy, filter }, attrs }) =>
      conv3dBackpropInputFast(tf, b, dy!, filter!, attrs as unknown as Parameters<typeof conv3dBackpropInputFast>[4]),
    Conv3DBackpropFilterV2: (b, { inputs: { x, dy }, attrs }) =>
      conv3dBackpropFilterFast(tf, b, x!, dy!, attrs as unknown as Parameters<typeof conv3dBackpropFilterFast>[4]),
    Slice: (b, { inputs: { x }, attrs }) => sliceVolume(tf, b, x!, attrs.begin as number[], attrs.size as number[]),
    SplitV: (b, { inputs: { x }, attrs }) =>
      splitVolume(tf, b, x!, attrs.numOrSizeSplits as number[], attrs.axis as number),
  };

  const impls: Record<string, (io: Io, a: Args) => TensorInfo | undefined> = {
    // Right on both backends (only slow on wasm): the fast forms above, then the built-ins.
    Conv3D: () => undefined,
    Slice: () => undefined,
    SplitV: () => undefined,
    Conv3DBackpropInputV2: (io, { inputs: { dy, filter }, attrs }) => {
      if (!float32(dy!, filter!)) return undefined;
      const xShape = attrs.inputShape as number[];
      return io.out(xShape, conv3dBackpropInputJs(conv(xShape, filter!.shape, attrs), io.read(dy!), io.read(filter!)));
    },
    Conv3DBackpropFilterV2: (io, { inputs: { x, dy }, attrs }) => {
      if (!float32(x!, dy!)) return undefined;
      const filterShape = attrs.filterShape as number[];
      return io.out(filterShape, conv3dBackpropFilterJs(conv(x!.shape, filterShape, attrs), io.read(x!), io.read(dy!)));
    },
    MaxPool3D: (io, { inputs: { x }, attrs }) => {
      if (!float32(x!)) return undefined;
      const g = pool(x!.shape, attrs);
      return io.out([g.batchSize, g.outDepth, g.outHeight, g.outWidth, g.inChannels], maxPool3dJs(g, io.read(x!)).y);
    },
    MaxPool3DGrad: (io, { inputs: { dy, input }, attrs }) => {
      if (!float32(dy!, input!)) return undefined;
      return io.out(input!.shape, maxPool3dGradJs(pool(input!.shape, attrs), io.read(input!), io.read(dy!)));
    },
    AvgPool3DGrad: (io, { inputs: { dy, input }, attrs }) => {
      if (!float32(dy!)) return undefined;
      return io.out(input!.shape, avgPool3dGradJs(pool(input!.shape, attrs), io.read(dy!)));
    },
  };

  for (const backendName of ['wasm', 'cpu'] as const) {
    for (const name of kernels3d[backendName]) {
      const builtin = tf.getKernel(name, backendName);
      if (!builtin || (builtin.kernelFunc as Marked)[MARK]) continue;
      const impl = impls[name]!;
      const fast = backendName === 'wasm' ? fastWasm[name] : undefined;
      const kernelFunc: Marked = ((args: Args) => {
        const quick = fast?.(args.backend as WasmBackend, args);
        if (quick) return quick;
        const io = backendName === 'wasm' ? wasmIo(args.backend as WasmBackend) : cpuIo(args.backend as CpuBackend);
        return impl(io, args) ?? builtin.kernelFunc(args as never);
      }) as unknown as KernelFunc;
      kernelFunc[MARK] = true;
      // registerKernel would warn about the taken name: unregister first, keeping the built-in's
      // setup and dispose hooks (the fallback above may need its setup).
      tf.unregisterKernel(name, backendName);
      tf.registerKernel({
        kernelName: name,
        backendName,
        kernelFunc,
        setupFunc: builtin.setupFunc,
        disposeFunc: builtin.disposeFunc,
      });
    }
  }
}

/** Whether this namespace's `backendName` kernel `name` is ours (for tests). */
export function isKernel3d(tf: Tf, name: string, backendName: 'wasm' | 'cpu'): boolean {
  return (tf.getKernel(name, backendName)?.kernelFunc as Marked | undefined)?.[MARK] === true;
}
