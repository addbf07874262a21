import type { GradConfig, NamedAttrMap, Tensor } from '@tensorflow/tfjs';
import type { Tf } from '../../compiler/backends/tfjs/engine.js';

/**
 * tf.layers.batchNormalization on rank-5 inputs (NDHWC volumes). tfjs-layers 4.22's
 * BatchNormalization.call reaches its module-private batchNormalization(), which handles ranks
 * 2 to 4 and throws "batchNormalization is not implemented for array of rank 5 yet" otherwise,
 * in training and in inference alike.
 *
 * Per-channel batch normalization over one axis only sees, for each channel, the set of values
 * at that channel: merging two adjacent axes that are not the normalized one changes neither
 * the statistics nor the result. So the layer's call is wrapped: a rank-5 input is reshaped to
 * rank 4 (for the usual axis -1, [N, D, H, W, C] -> [N, D*H, W, C]), the original call runs with
 * the axis renumbered for that shape, and the result is reshaped back. Gamma, beta and the moving
 * statistics are the same [C] variables, the moving averages are updated by the original code,
 * and gradients flow through the two reshapes. Every other rank goes to the original call
 * untouched.
 *
 * The wrapper is installed on the class tfjs-layers registered for serialization under
 * 'BatchNormalization' (found without making a layer, which would use up an auto-generated
 * layer name); idempotent.
 */
export function registerBatchNorm3d(tf: Tf): void {
  const proto = batchNormPrototype(tf);
  if (!proto || proto.call[MARK]) return;
  const original = proto.call;
  const wrapped: LayerCall = function (this: BatchNormLayer, inputs, kwargs) {
    const x = Array.isArray(inputs) ? (inputs.length === 1 ? inputs[0] : undefined) : inputs;
    if (!x || x.rank !== 5) return original.call(this, inputs, kwargs);
    const axis = this.axis < 0 ? this.axis + 5 : this.axis;
    const { shape, axis: axis4 } = asRank4(x.shape as [number, number, number, number, number], axis);
    const saved = this.axis;
    this.axis = axis4;
    try {
      return tf.tidy(() => {
        const y = original.call(this, tf.reshape(x, shape), kwargs);
        return tf.reshape(Array.isArray(y) ? y[0]! : y, x.shape);
      });
    } finally {
      this.axis = saved;
    }
  };
  wrapped[MARK] = true;
  proto.call = wrapped;
}

/** Whether rank-5 batch normalization is installed on this tfjs namespace (for tests). */
export function batchNorm3dInstalled(tf: Tf): boolean {
  return batchNormPrototype(tf)?.call[MARK] === true;
}

/**
 * The rank-4 shape a rank-5 shape is folded into with `axis` kept whole, and the axis's number
 * there: two adjacent axes other than `axis` are merged (1 and 2 when they are free).
 */
export function asRank4(
  [n, d, h, w, c]: [number, number, number, number, number],
  axis: number,
): { shape: [number, number, number, number]; axis: number } {
  if (axis === 0) return { shape: [n, d * h, w, c], axis: 0 };
  if (axis === 1) return { shape: [n, d, h * w, c], axis: 1 };
  if (axis === 2) return { shape: [n, d, h, w * c], axis: 2 };
  if (axis === 3) return { shape: [n, d * h, w, c], axis: 2 };
  if (axis === 4) return { shape: [n, d * h, w, c], axis: 3 };
  throw new Error(`BatchNormalization: axis ${axis} is out of range for a rank-5 input`);
}

const MARK = Symbol.for('unetc.batchNorm3d');

type LayerCall = ((
  this: BatchNormLayer,
  inputs: Tensor | Tensor[],
  kwargs: Record<string, unknown>,
) => Tensor | Tensor[]) & { [MARK]?: true };

interface BatchNormLayer {
  axis: number;
}

function batchNormPrototype(tf: Tf): { call: LayerCall } | undefined {
  const map = tf.serialization.SerializationMap.getMap().classNameMap as Record<string, [unknown, unknown] | undefined>;
  const cls = map['BatchNormalization']?.[0] as { prototype?: { call?: unknown } } | undefined;
  const proto = cls?.prototype;
  if (
    !proto ||
    typeof proto.call !== 'function' ||
    !(proto instanceof (tf.layers.Layer as unknown as abstract new (...a: never[]) => object))
  )
    return undefined;
  return proto as { call: LayerCall };
}

const GRAD_MARK = Symbol.for('unetc.batchNormGrad3d');

/**
 * The gradient of FusedBatchNorm for inputs of rank 5 and more (tf.batchNorm passes such x to the
 * kernel unchanged). tfjs-core's gradient tiles [1, 1, 1, C] by a tile shape of x's rank and
 * throws "rank of input 4 must match length of reps" for them; this wrapper hands it (or whatever
 * gradient it wraps: on wasm, the project's fused one) x and dy folded to [1, 1, rows, C] and the
 * per-channel statistics as [C], and unfolds the results. Other inputs go straight through.
 *
 * The gradient registry holds one entry per kernel and other wrappers of this entry copy its
 * properties (wasm/gradients.ts spreads the config it wraps), so the mark travels with it and
 * neither wrapper stacks up on repeated engine loads. Idempotent.
 */
export function registerBatchNormGrad5d(tf: Tf): void {
  const inner = tf.getGradient('FusedBatchNorm') as (GradConfig & { [GRAD_MARK]?: true }) | undefined;
  if (!inner || inner[GRAD_MARK]) return;
  const config: GradConfig & { [GRAD_MARK]?: true } = {
    ...inner,
    gradFunc: (dy: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
      const [x, mean, variance, scale] = saved;
      const c = x?.shape[x.rank - 1];
      const perChannel = (t: Tensor | undefined) =>
        t === undefined || (t.size === c && t.shape.slice(0, -1).every((d) => d === 1));
      if (!x || !mean || !variance || x.rank <= 4 || c === undefined || ![mean, variance, scale].every(perChannel))
        return inner.gradFunc(dy, saved, attrs);
      const fold = (t: Tensor) => tf.reshape(t, [1, 1, t.size / c, c]);
      const flat = (t: Tensor | undefined) => (t === undefined ? undefined : tf.reshape(t, [c]));
      const folded = [fold(x), flat(mean)!, flat(variance)!, ...(scale ? [flat(scale)!] : [])];
      const grads = inner.gradFunc(fold(dy as Tensor), folded, attrs);
      const shapes: Record<string, readonly number[]> = {
        x: x.shape,
        mean: mean.shape,
        variance: variance.shape,
        scale: scale?.shape ?? [c],
        offset: mean.shape,
      };
      return Object.fromEntries(
        Object.entries(grads).map(([name, thunk]) => [name, () => tf.reshape(thunk(), [...(shapes[name] ?? [c])])]),
      );
    },
    [GRAD_MARK]: true,
  };
  tf.registerGradient(config);
}
