import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { alloc, heapF32, offsetOf, type WasmBackend } from './heap.js';

/** Attributes of tfjs' ResizeNearestNeighbor (and its gradient kernel). */
export interface ResizeNearestAttrs {
  readonly alignCorners: boolean;
  readonly halfPixelCenters: boolean;
}

/**
 * For each output coordinate along one axis, the input coordinate tfjs' forward
 * ResizeNearestNeighbor reads (the cpu and wasm forward kernels agree on this formula).
 */
export function nearestSources(
  inSize: number,
  outSize: number,
  { alignCorners, halfPixelCenters }: ResizeNearestAttrs,
): Int32Array {
  const corners = alignCorners && outSize > 1;
  const ratio = (corners ? inSize - 1 : inSize) / (corners ? outSize - 1 : outSize);
  const out = new Int32Array(outSize);
  for (let o = 0; o < outSize; o++) {
    const frac = halfPixelCenters ? ratio * (o + 0.5) : ratio * o;
    const i = Math.min(inSize - 1, alignCorners ? Math.round(frac) : Math.floor(frac));
    out[o] = halfPixelCenters ? Math.max(0, i) : i;
  }
  return out;
}

/**
 * dx[b, sy(oy), sx(ox), :] += dy[b, oy, ox, :]: the exact transpose of the forward pass (for a
 * scale-2 upsampling, each input pixel gets the sum of the 2x2 block of dy it fed). Reads dy at
 * `src[dyAt..]` and writes dx at `dst[dxAt..]`; both may be views of the same wasm heap.
 */
export function accumulateNearestGrad(
  src: Float32Array,
  dyAt: number,
  dyShape: readonly number[],
  dst: Float32Array,
  dxAt: number,
  xShape: readonly number[],
  attrs: ResizeNearestAttrs,
): void {
  const [n, h, w, c] = xShape as [number, number, number, number];
  const [, oh, ow] = dyShape as [number, number, number, number];
  const sy = nearestSources(h, oh, attrs);
  const sx = nearestSources(w, ow, attrs);
  dst.fill(0, dxAt, dxAt + n * h * w * c);
  let g = dyAt;
  for (let b = 0; b < n; b++)
    for (let oy = 0; oy < oh; oy++) {
      const row = dxAt + (b * h + sy[oy]!) * w * c;
      for (let ox = 0; ox < ow; ox++, g += c) {
        const at = row + sx[ox]! * c;
        for (let ch = 0; ch < c; ch++) dst[at + ch] = dst[at + ch]! + src[g + ch]!;
      }
    }
}

/**
 * The wasm ResizeNearestNeighborGrad. The built-in one is right for tfjs-layers' UpSampling2D
 * (alignCorners and halfPixelCenters false) but ignores halfPixelCenters, and it searches a
 * window of dy for every dx element; this one is the exact transpose of the forward kernel for
 * every attribute combination and touches each dy element once.
 */
export function resizeNearestNeighborGrad(
  backend: WasmBackend,
  images: TensorInfo,
  dy: TensorInfo,
  attrs: ResizeNearestAttrs,
): TensorInfo {
  if (images.shape.length !== 4 || dy.dtype !== 'float32')
    throw new Error('wasm ResizeNearestNeighborGrad: expected a 4-d image and a float32 dy');
  const dx = alloc(backend, images.shape);
  const heap = heapF32(backend);
  accumulateNearestGrad(heap, offsetOf(backend, dy), dy.shape, heap, offsetOf(backend, dx), images.shape, attrs);
  return dx;
}

/** The parts of tfjs-backend-cpu's MathBackendCPU this kernel uses. */
interface CpuBackend {
  readonly data: { get(dataId: object): { readonly values?: unknown } | undefined };
  makeTensorInfo(shape: readonly number[], dtype: 'float32', values: Float32Array): TensorInfo;
}

/**
 * The cpu ResizeNearestNeighborGrad. tfjs-backend-cpu 4.22's kernel offsets dy's batch by the
 * image's batch stride (a quarter of dy's for a 2x upsampling), so every image after the first
 * gets another image's gradient: nearest-upsampling U-Nets trained wrongly on cpu with batch > 1.
 */
export const cpuResizeNearestNeighborGrad = (({
  inputs,
  backend,
  attrs,
}: {
  inputs: { images: TensorInfo; dy: TensorInfo };
  backend: CpuBackend;
  attrs: ResizeNearestAttrs;
}) => {
  const { images, dy } = inputs;
  const values = backend.data.get(dy.dataId)?.values;
  if (!(values instanceof Float32Array)) throw new Error('cpu ResizeNearestNeighborGrad: expected a float32 dy');
  const dx = new Float32Array(images.shape.reduce((a, b) => a * b, 1));
  accumulateNearestGrad(values, 0, dy.shape, dx, 0, images.shape, attrs);
  return backend.makeTensorInfo(images.shape, 'float32', dx);
}) as unknown as KernelFunc;
