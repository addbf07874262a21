import type { TensorInfo } from '@tensorflow/tfjs';
import type { WasmBackend } from './heap.js';

/**
 * Identity, and a Cast to the dtype x already has, as a new reference to x's data (as the cpu
 * backend and tfjs' own wasm Reshape do): tensors are immutable, so a copy buys nothing. The
 * built-in wasm kernels copy, and tfjs calls Identity for every tensor it saves for the backward
 * pass (~700 calls and ~20 ms a config-A step, and as much extra heap as the saved activations).
 * Undefined means "use the built-in" (strings; a Cast that converts).
 */
export function shareData(backend: WasmBackend, x: TensorInfo, dtype: string = x.dtype): TensorInfo | undefined {
  if (x.dtype === 'string' || dtype !== x.dtype) return undefined;
  backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
}
