/**
 * Training kernels for tfjs' WebAssembly backend. tfjs-backend-wasm 4.22 has no
 * Conv2DBackpropFilter (so it cannot train a conv net at all) and a scalar-loop
 * Conv2DBackpropInput (~1.6 GFLOP/s, also the forward pass of every conv2dTranspose): both are
 * replaced here by matrix products on XNNPACK (see shared/FACTS.md, "CPU engines"). Its Tile
 * (the BatchNorm gradient's broadcast) is replaced by block copies, and its MaxPoolGrad by one
 * that breaks ties as the cpu backend does. ResizeNearestNeighborGrad is replaced on wasm and on cpu
 * (where tfjs' kernel is wrong for batches of more than one image).
 *
 * BatchNorm: the gradient of FusedBatchNorm is one fused kernel (batchnorm-grad.ts, through
 * gradients.ts), the Mean and Sum gradients broadcast with Tile, and the forward FusedBatchNorm,
 * Sum and Mean over leading axes, Identity and same-dtype Cast have faster common cases, each
 * falling back to the built-in kernel for the rest.
 */
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import type { Tf } from '../../../compiler/backends/tfjs/engine.js';
import { conv2dBackpropFilter, type BackpropFilterAttrs } from './backprop-filter.js';
import { batchNorm, type BatchNormInputs } from './batchnorm.js';
import { FUSED_BATCH_NORM_GRAD, fusedBatchNormGrad, type BatchNormGradInputs } from './batchnorm-grad.js';
import { conv2dBackpropInput, type BackpropInputAttrs } from './backprop-input.js';
import { registerWasmGradients } from './gradients.js';
import type { WasmBackend } from './heap.js';
import { shareData } from './identity.js';
import { maxPoolGrad, type MaxPoolGradAttrs } from './maxpool-grad.js';
import {
  cpuResizeNearestNeighborGrad,
  resizeNearestNeighborGrad,
  type ResizeNearestAttrs,
} from './resize-nearest-grad.js';
import { reduceLeading, type ReduceAttrs } from './reduce.js';
import { tile } from './tile.js';

export { conv2dBackpropFilter, type BackpropFilterAttrs } from './backprop-filter.js';
export { conv2dBackpropInput, type BackpropInputAttrs } from './backprop-input.js';
export {
  FUSED_BATCH_NORM_GRAD,
  fusedBatchNormGrad,
  fusedBatchNormGradApplies,
  type BatchNormGradInputs,
} from './batchnorm-grad.js';
export { registerWasmGradients, wasmGradients } from './gradients.js';
export { maxPoolGrad, type MaxPoolGradAttrs } from './maxpool-grad.js';
export {
  accumulateNearestGrad,
  nearestSources,
  resizeNearestNeighborGrad,
  type ResizeNearestAttrs,
} from './resize-nearest-grad.js';
export { batchNorm, type BatchNormInputs } from './batchnorm.js';
export { shareData } from './identity.js';
export { reduceLeading, type ReduceAttrs } from './reduce.js';
export { tile } from './tile.js';

/** The kernels registerWasmTrainingKernels installs for the 'wasm' backend. */
export const wasmTrainingKernels = [
  'Conv2DBackpropFilter',
  'Conv2DBackpropInput',
  'Tile',
  'MaxPoolGrad',
  'ResizeNearestNeighborGrad',
  FUSED_BATCH_NORM_GRAD,
  'FusedBatchNorm',
  'Sum',
  'Mean',
  'Identity',
  'Cast',
] as const;

/** Marks our kernel functions, so a second registration (or a second module copy) is a no-op. */
const MARK = Symbol.for('unetc.wasmTrainingKernel');

type Marked = KernelFunc & { [MARK]?: true };

interface Args<I, A> {
  readonly inputs: I;
  readonly backend: unknown;
  readonly attrs: A;
}

/**
 * Registers the wasm training kernels into this tfjs namespace's kernel registry. Idempotent;
 * call it before the first training step (kernels are looked up at every call, so registering
 * after the backend initialized is fine).
 */
export function registerWasmTrainingKernels(tf: Tf): void {
  registerWasmGradients(tf);
  const existing = (name: string) => tf.getKernel(name, 'wasm')?.kernelFunc as Marked | undefined;
  if (wasmTrainingKernels.every((name) => existing(name)?.[MARK])) return;

  const builtinInput = existing('Conv2DBackpropInput');
  const builtinTile = existing('Tile');
  // Kernels that take only the common cases and hand the rest to the kernel they replace.
  const withFallback = <I, A>(
    name: string,
    fast: (backend: WasmBackend, inputs: I, attrs: A) => TensorInfo | undefined,
  ) => {
    const builtin = existing(name);
    if (builtin?.[MARK]) return;
    if (!builtin) throw new Error(`wasm ${name}: the built-in kernel is missing`);
    install(
      tf,
      name,
      ((args: Args<I, A>) =>
        fast(args.backend as WasmBackend, args.inputs, args.attrs) ?? builtin(args as never)) as unknown as KernelFunc,
    );
  };
  const filterFunc = ({ inputs, backend, attrs }: Args<{ x: TensorInfo; dy: TensorInfo }, BackpropFilterAttrs>) =>
    conv2dBackpropFilter(tf, backend as WasmBackend, inputs.x, inputs.dy, attrs);
  const inputFunc = (args: Args<{ dy: TensorInfo; filter: TensorInfo }, BackpropInputAttrs>) => {
    const fast = conv2dBackpropInput(tf, args.backend as WasmBackend, args.inputs.dy, args.inputs.filter, args.attrs);
    if (fast) return fast;
    if (!builtinInput || builtinInput[MARK])
      throw new Error('wasm Conv2DBackpropInput: unsupported configuration (NCHW or oversized padding)');
    return builtinInput(args as never);
  };
  const tileFunc = (args: Args<{ x: TensorInfo }, { reps: number[] }>) => {
    const fast = tile(args.backend as WasmBackend, args.inputs.x, args.attrs.reps);
    if (fast) return fast;
    if (!builtinTile || builtinTile[MARK]) throw new Error(`wasm Tile: unsupported dtype ${args.inputs.x.dtype}`);
    return builtinTile(args as never);
  };
  const poolFunc = ({ inputs, backend, attrs }: Args<{ dy: TensorInfo; input: TensorInfo }, MaxPoolGradAttrs>) =>
    maxPoolGrad(tf, backend as WasmBackend, inputs.dy, inputs.input, attrs);
  const nearestFunc = ({ inputs, backend, attrs }: Args<{ images: TensorInfo; dy: TensorInfo }, ResizeNearestAttrs>) =>
    resizeNearestNeighborGrad(backend as WasmBackend, inputs.images, inputs.dy, attrs);
  const batchNormGradFunc = ({ inputs, backend, attrs }: Args<BatchNormGradInputs, { varianceEpsilon: number }>) =>
    fusedBatchNormGrad(backend as WasmBackend, inputs, attrs.varianceEpsilon);
  install(tf, 'Conv2DBackpropFilter', filterFunc as unknown as KernelFunc);
  install(tf, 'Conv2DBackpropInput', inputFunc as unknown as KernelFunc);
  install(tf, 'Tile', tileFunc as unknown as KernelFunc);
  install(tf, 'MaxPoolGrad', poolFunc as unknown as KernelFunc);
  install(tf, 'ResizeNearestNeighborGrad', nearestFunc as unknown as KernelFunc);
  install(tf, FUSED_BATCH_NORM_GRAD, batchNormGradFunc as unknown as KernelFunc);
  withFallback<BatchNormInputs, { varianceEpsilon: number }>('FusedBatchNorm', (b, inputs, attrs) =>
    batchNorm(b, inputs, attrs.varianceEpsilon),
  );
  withFallback<{ x: TensorInfo }, ReduceAttrs>('Sum', (b, { x }, attrs) => reduceLeading(b, x, attrs, false));
  withFallback<{ x: TensorInfo }, ReduceAttrs>('Mean', (b, { x }, attrs) => reduceLeading(b, x, attrs, true));
  withFallback<{ x: TensorInfo }, object>('Identity', (b, { x }) => shareData(b, x));
  withFallback<{ x: TensorInfo }, { dtype: string }>('Cast', (b, { x }, attrs) => shareData(b, x, attrs.dtype));
}

/**
 * Replaces cpu-backend kernels that compute wrong results (tfjs 4.22): ResizeNearestNeighborGrad.
 * The cpu backend is both an engine and the tests' reference, so this is registered whenever a
 * pure-JS engine loads. Idempotent.
 */
export function registerCpuKernelFixes(tf: Tf): void {
  if ((tf.getKernel('ResizeNearestNeighborGrad', 'cpu')?.kernelFunc as Marked | undefined)?.[MARK]) return;
  install(tf, 'ResizeNearestNeighborGrad', (args) => cpuResizeNearestNeighborGrad(args), 'cpu');
}

function install(tf: Tf, kernelName: string, kernelFunc: KernelFunc, backendName: 'wasm' | 'cpu' = 'wasm'): void {
  const marked = kernelFunc as Marked;
  marked[MARK] = true;
  // registerKernel warns and keeps the old entry when the name is taken: unregister first. The
  // replaced kernel's setup and dispose hooks stay: a fallback to it needs its setup should the
  // backend be initialized again.
  const old = tf.getKernel(kernelName, backendName);
  if (old) tf.unregisterKernel(kernelName, backendName);
  tf.registerKernel({
    setupFunc: old?.setupFunc,
    disposeFunc: old?.disposeFunc,
    kernelName,
    backendName,
    kernelFunc: marked,
  });
}
