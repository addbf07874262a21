import type { DataId, TensorInfo } from '@tensorflow/tfjs';
import type { Tf } from '../../../compiler/backends/tfjs/engine.js';

/**
 * The parts of tfjs-backend-wasm's BackendWasm that the training kernels use. The class is not
 * exported with these members typed, so this is the contract we rely on (tfjs 4.22): every
 * float32 tensor is one malloc'ed block of the wasm heap, found through `dataIdMap`.
 */
export interface WasmBackend {
  readonly wasm: { readonly HEAPU8: Uint8Array; readonly wasmMemory?: { readonly buffer: ArrayBufferLike } };
  readonly dataIdMap: { get(dataId: DataId): { readonly memoryOffset: number } | undefined };
  /** Allocates a tensor on the wasm heap (uninitialized unless `values` is given). */
  makeOutput(
    shape: readonly number[],
    dtype: 'float32' | 'int32',
    memoryOffset?: number,
    values?: Float32Array,
  ): TensorInfo;
  disposeData(dataId: DataId, force?: boolean): boolean;
  /** One more reference to a tensor's data (how the built-in Reshape shares it). */
  incRef(dataId: DataId): void;
}

/** The float32 elements of the whole wasm heap. */
export function heapF32(backend: WasmBackend): Float32Array {
  // Re-read on every call: a malloc that grows the memory replaces the ArrayBuffer. The threaded
  // build's memory is a SharedArrayBuffer that grows in place: its Memory object has the current
  // length even where HEAPU8 (updated lazily by emscripten) still has the old one.
  const buf = backend.wasm.wasmMemory?.buffer ?? backend.wasm.HEAPU8.buffer;
  return new Float32Array(buf, 0, buf.byteLength >>> 2);
}

/** The element offset of a float32 tensor in heapF32. */
export function offsetOf(backend: WasmBackend, t: TensorInfo): number {
  const d = backend.dataIdMap.get(t.dataId);
  if (!d) throw new Error('wasm training kernels: a tensor has no data on the wasm backend');
  // malloc aligns blocks to 8 bytes or more, so the byte offset is a multiple of 4.
  return d.memoryOffset >>> 2;
}

/** A new uninitialized float32 tensor on the heap. */
export function alloc(backend: WasmBackend, shape: readonly number[]): TensorInfo {
  return backend.makeOutput(shape, 'float32');
}

/** The same data seen with another shape (no copy; do not dispose the view separately). */
export function view(t: TensorInfo, shape: readonly number[]): TensorInfo {
  return { dataId: t.dataId, shape: [...shape], dtype: t.dtype };
}

/** Frees intermediate tensors made inside a kernel. */
export function free(backend: WasmBackend, ...ts: TensorInfo[]): void {
  for (const t of ts) backend.disposeData(t.dataId);
}

/** Calls another wasm kernel directly (no engine bookkeeping, no tape): the way tfjs kernels compose. */
export function callKernel(
  tf: Tf,
  backend: WasmBackend,
  name: string,
  inputs: Record<string, TensorInfo>,
  attrs: object = {},
): TensorInfo {
  const k = tf.getKernel(name, 'wasm');
  if (!k) throw new Error(`wasm training kernels: the wasm backend has no '${name}' kernel`);
  const out = k.kernelFunc({ inputs, backend: backend as never, attrs: attrs as never });
  if (Array.isArray(out)) throw new Error(`wasm training kernels: '${name}' returned several outputs`);
  return out;
}

/**
 * A matrix product a[m, k] x b[k, n] -> [1, m, n] through the wasm BatchMatMul on XNNPACK's fast
 * path: batch 1 and no transpose flags (anything else runs its scalar loop, ~2 GFLOP/s).
 */
export function matmul(
  tf: Tf,
  backend: WasmBackend,
  a: TensorInfo,
  b: TensorInfo,
  m: number,
  k: number,
  n: number,
): TensorInfo {
  return callKernel(
    tf,
    backend,
    'BatchMatMul',
    { a: view(a, [1, m, k]), b: view(b, [1, k, n]) },
    { transposeA: false, transposeB: false },
  );
}
