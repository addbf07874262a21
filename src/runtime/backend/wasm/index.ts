/**
 * Training kernels for tfjs' WebAssembly backend. tfjs-backend-wasm 4.22 has no
 * Conv2DBackpropFilter (so it cannot train a conv net at all) and a scalar-loop
 * Conv2DBackpropInput (~1.6 GFLOP/s, also the forward pass of every conv2dTranspose): both are
 * replaced here by matrix products on XNNPACK (see shared/FACTS.md, "CPU engines"). Its Tile
 * (the BatchNorm gradient's broadcast) is replaced by block copies, and its MaxPoolGrad by one
 * that breaks ties as the cpu backend does.
 */
import type { KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import type { Tf } from '../engine.js';
import { conv2dBackpropFilter, type BackpropFilterAttrs } from './backprop-filter.js';
import { conv2dBackpropInput, type BackpropInputAttrs } from './backprop-input.js';
import type { WasmBackend } from './heap.js';
import { maxPoolGrad, type MaxPoolGradAttrs } from './maxpool-grad.js';
import { tile } from './tile.js';

export { conv2dBackpropFilter, type BackpropFilterAttrs } from './backprop-filter.js';
export { conv2dBackpropInput, type BackpropInputAttrs } from './backprop-input.js';
export { maxPoolGrad, type MaxPoolGradAttrs } from './maxpool-grad.js';
export { tile } from './tile.js';

/** The kernels registerWasmTrainingKernels installs for the 'wasm' backend. */
export const wasmTrainingKernels = ['Conv2DBackpropFilter', 'Conv2DBackpropInput', 'Tile', 'MaxPoolGrad'] as const;

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
  const existing = (name: string) => tf.getKernel(name, 'wasm')?.kernelFunc as Marked | undefined;
  if (wasmTrainingKernels.every((name) => existing(name)?.[MARK])) return;

  const builtinInput = existing('Conv2DBackpropInput');
  const builtinTile = existing('Tile');
  const filterFunc = ({ inputs, backend, attrs }: Args<{ x: TensorInfo; dy: TensorInfo }, BackpropFilterAttrs>) =>
    conv2dBackpropFilter(tf, backend as WasmBackend, inputs.x, inputs.dy, attrs);
  const inputFunc = (args: Args<{ dy: TensorInfo; filter: TensorInfo }, BackpropInputAttrs>) => {
    const fast = conv2dBackpropInput(tf, args.backend as WasmBackend, args.inputs.dy, args.inputs.filter, args.attrs);
    if (fast) return fast;
    if (!builtinInput || builtinInput[MARK]) throw new Error('wasm Conv2DBackpropInput: unsupported configuration (NCHW or oversized padding)');
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
  install(tf, 'Conv2DBackpropFilter', filterFunc as unknown as KernelFunc);
  install(tf, 'Conv2DBackpropInput', inputFunc as unknown as KernelFunc);
  install(tf, 'Tile', tileFunc as unknown as KernelFunc);
  install(tf, 'MaxPoolGrad', poolFunc as unknown as KernelFunc);
}

function install(tf: Tf, kernelName: string, kernelFunc: KernelFunc): void {
  const marked = kernelFunc as Marked;
  marked[MARK] = true;
  // registerKernel warns and keeps the old entry when the name is taken: unregister first.
  if (tf.getKernel(kernelName, 'wasm')) tf.unregisterKernel(kernelName, 'wasm');
  tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc: marked });
}
