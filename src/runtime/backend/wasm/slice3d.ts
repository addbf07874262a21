/**
 * Slice and SplitV of rank-5 (volume) tensors on the wasm backend. tfjs-backend-wasm 4.22 slices
 * ranks 2 to 4 with row copies but hands rank 5 and up to the cpu backend's generic sliceImpl
 * (a TensorBuffer get/set per element): splitting the gradient of a 3D U-Net's skip
 * concatenation, [1, 32, 64, 64, 16] into two halves, took ~0.9 s (most of a training step once
 * the convolutions were fast). Here the slice's axes are first merged where the layout allows
 * (an axis taken whole merges into the one before it; so does an axis of size 1 taken at one
 * index), then the remaining runs are copied inside the wasm heap, bit for bit. Ranks below 5,
 * and dtypes other than float32 and int32, go to the built-in kernel unchanged.
 */
import type { TensorInfo } from '@tensorflow/tfjs';
import type { Tf } from '../../../compiler/backends/tfjs/engine.js';
import { offsetOf, type WasmBackend } from './heap.js';

/** The slice as fewer axes: shape, begin and size of the merged layout. */
export function mergeSliceAxes(
  shape: readonly number[],
  begin: readonly number[],
  size: readonly number[],
): { shape: number[]; begin: number[]; size: number[] } {
  const s = [shape[0]!];
  const b = [begin[0]!];
  const z = [size[0]!];
  for (let i = 1; i < shape.length; i++) {
    const last = s.length - 1;
    if (begin[i] === 0 && size[i] === shape[i]) {
      // Axis i is taken whole: fold it into the previous one.
      s[last] = s[last]! * shape[i]!;
      b[last] = b[last]! * shape[i]!;
      z[last] = z[last]! * shape[i]!;
    } else if (z[last] === 1) {
      // The previous axis is one index: the pair is one axis of shape s*shape[i].
      b[last] = b[last]! * shape[i]! + begin[i]!;
      s[last] = s[last]! * shape[i]!;
      z[last] = size[i]!;
    } else {
      s.push(shape[i]!);
      b.push(begin[i]!);
      z.push(size[i]!);
    }
  }
  return { shape: s, begin: b, size: z };
}

const heapI32 = (backend: WasmBackend) => {
  const buf = backend.wasm.wasmMemory?.buffer ?? backend.wasm.HEAPU8.buffer;
  return new Int32Array(buf, 0, buf.byteLength >>> 2);
};

/** x[begin : begin + size] as a new tensor (rank >= 5, float32 or int32); undefined otherwise. */
export function sliceVolume(
  tf: Tf,
  backend: WasmBackend,
  x: TensorInfo,
  beginAttr: number | number[],
  sizeAttr: number | number[],
): TensorInfo | undefined {
  if (x.shape.length < 5 || (x.dtype !== 'float32' && x.dtype !== 'int32')) return undefined;
  const [begin, size] = tf.slice_util.parseSliceParams(x as never, beginAttr, sizeAttr) as [number[], number[]];
  const out = backend.makeOutput(size, x.dtype);
  const total = size.reduce((a, v) => a * v, 1);
  if (total === 0) return out;
  const m = mergeSliceAxes(x.shape, begin, size);
  // Copied with an Int32Array view: bit for bit, whatever the float values (NaN payloads too).
  const heap = heapI32(backend);
  const src = offsetOf(backend, x);
  const dst = offsetOf(backend, out);
  const rank = m.shape.length;
  const strides = new Array<number>(rank);
  strides[rank - 1] = 1;
  for (let i = rank - 2; i >= 0; i--) strides[i] = strides[i + 1]! * m.shape[i + 1]!;
  const run = m.size[rank - 1]!;
  let from = src;
  for (let i = 0; i < rank; i++) from += m.begin[i]! * strides[i]!;
  if (rank === 1) {
    heap.copyWithin(dst, from, from + run);
    return out;
  }
  // An odometer over the outer axes: each step copies one run of the last axis.
  const index = new Array<number>(rank - 1).fill(0);
  const rows = total / run;
  let to = dst;
  for (let r = 0; r < rows; r++, to += run) {
    let at = from;
    for (let i = 0; i < rank - 1; i++) at += index[i]! * strides[i]!;
    if (run >= 32) heap.copyWithin(to, at, at + run);
    else for (let k = 0; k < run; k++) heap[to + k] = heap[at + k]!;
    for (let i = rank - 2; i >= 0; i--) {
      if (++index[i]! < m.size[i]!) break;
      index[i] = 0;
    }
  }
  return out;
}

/** SplitV of a rank >= 5 tensor as sliceVolume pieces; undefined where sliceVolume declines. */
export function splitVolume(
  tf: Tf,
  backend: WasmBackend,
  x: TensorInfo,
  numOrSizeSplits: number | number[],
  axis: number | number[],
): TensorInfo[] | undefined {
  if (x.shape.length < 5 || (x.dtype !== 'float32' && x.dtype !== 'int32')) return undefined;
  const ax = tf.util.parseAxisParam(axis, x.shape)[0]!;
  const sizes = tf.backend_util.prepareSplitSize(x as never, numOrSizeSplits, ax);
  const begin = new Array<number>(x.shape.length).fill(0);
  return sizes.map((s) => {
    const size = [...x.shape];
    size[ax] = s;
    const piece = sliceVolume(tf, backend, x, [...begin], size)!;
    begin[ax]! += s;
    return piece;
  });
}
