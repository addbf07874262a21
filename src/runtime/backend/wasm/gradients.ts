import type { GradConfig, GradFunc, NamedAttrMap, Tensor } from '@tensorflow/tfjs';
import type { Tf } from '../../../compiler/backends/tfjs/engine.js';
import { FUSED_BATCH_NORM_GRAD, fusedBatchNormGradApplies, type BatchNormGradInputs } from './batchnorm-grad.js';

/**
 * Gradients that tfjs registers once for every backend, replaced by cheaper ones on wasm. The
 * gradient registry is global (and shared with any other tfjs copy in the process, tfjs-node's
 * included), so each replacement checks the active backend when it runs and hands every other
 * backend, and every case it does not cover, to the gradient it replaced: cpu and tfjs-node
 * compute exactly what they did before.
 */
export const wasmGradients = ['FusedBatchNorm', 'Mean', 'Sum'] as const;

const MARK = Symbol.for('unetc.wasmGradient');

type Marked = GradConfig & { [MARK]?: true };

/** Installs the wasm gradients (idempotent). */
export function registerWasmGradients(tf: Tf): void {
  for (const name of wasmGradients) {
    const original = tf.getGradient(name) as Marked | undefined;
    if (!original || original[MARK]) continue;
    const wasm = name === 'FusedBatchNorm' ? batchNormGrad(tf) : broadcastGrad(tf, name === 'Mean');
    const config: Marked = {
      ...original,
      gradFunc: (dy, saved, attrs) =>
        (tf.engine().backendName === 'wasm' && wasm(dy as Tensor, saved, attrs)) || original.gradFunc(dy, saved, attrs),
      [MARK]: true,
    };
    tf.registerGradient(config);
  }
}

/** A wasm gradient, or undefined where the original gradient must run. */
type WasmGrad = (dy: Tensor, saved: Tensor[], attrs: NamedAttrMap) => ReturnType<GradFunc> | undefined;

/**
 * FusedBatchNorm (saved: x, mean, variance, scale): all five partials from one fused kernel
 * (batchnorm-grad.ts). The kernel runs eagerly, once, and each input's thunk hands out its
 * result; results no thunk asks for are freed with the rest of the backward pass's scope.
 */
function batchNormGrad(tf: Tf): WasmGrad {
  return (dy, saved, attrs) => {
    const [x, mean, variance, scale] = saved;
    if (!x || !mean || !variance) return undefined;
    const inputs: BatchNormGradInputs = scale ? { x, dy, mean, variance, scale } : { x, dy, mean, variance };
    if (!fusedBatchNormGradApplies(inputs)) return undefined;
    const eps = (attrs as { varianceEpsilon?: number }).varianceEpsilon ?? 0.001;
    const [dx, dMean, dVariance, dScale, dOffset] = tf
      .engine()
      .runKernel(FUSED_BATCH_NORM_GRAD, inputs as never, { varianceEpsilon: eps }) as Tensor[];
    return {
      x: () => dx!,
      mean: () => dMean!,
      variance: () => dVariance!,
      scale: () => dScale!,
      offset: () => dOffset!,
    };
  };
}

/**
 * Mean and Sum: dy broadcast back over the reduced axes (divided by their size for Mean). tfjs
 * builds a full-size tensor of ones in JavaScript, uploads it and multiplies by it (a slow
 * broadcasting Multiply on wasm, then a RealDiv for Mean); here the small dy is scaled first
 * and laid out by the block-copy Tile (tile.ts). Same values: dy * 1 / n == dy / n.
 */
function broadcastGrad(tf: Tf, mean: boolean): WasmGrad {
  return (dy, saved, attrs) => {
    const [x] = saved;
    if (!x || x.dtype !== 'float32') return undefined;
    const axes = tf.util.parseAxisParam((attrs as { axis: number | number[] }).axis, x.shape);
    const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
    const reps = x.shape.map((d, i) => (axes.includes(i) ? d : 1));
    const n = reps.reduce((a, b) => a * b, 1);
    return { x: () => tf.tile(mean ? tf.div(tf.reshape(dy, kept), n) : tf.reshape(dy, kept), reps) };
  };
}
