import type { Shape, Tensor } from '@tensorflow/tfjs';
import type { Tf } from './engine.js';

/** Class names under which the squeeze-excitation layers are serialized in model.json. */
export const GLOBAL_POOL_CLASS_NAME = 'UnetcGlobalAvgPool';
export const SCALE_CLASS_NAME = 'UnetcChannelScale';

type LayerClass = new (args: { name: string }) => InstanceType<Tf['layers']['Layer']>;

/** Constructors of the two layers for one tfjs namespace. */
export interface SeLayerClasses {
  /** IR `GlobalAvgPool`: mean over H and W (and D), keeping them as 1 ([N, 1, 1, C]). */
  readonly GlobalAvgPool: LayerClass;
  /** IR `Multiply`: inputs[0] [N, H, W, C] times inputs[1] [N, H, W, C], [N, 1, 1, C] or [N, H, W, 1] (broadcast). */
  readonly ChannelScale: LayerClass;
}

// One pair per namespace, registered in that namespace's serialization map (as the crop layer).
const classes = new WeakMap<Tf, SeLayerClasses>();

/**
 * The squeeze-excitation layers. tfjs' GlobalAveragePooling2D drops H and W (no keepDims), and
 * tf.layers.multiply needs equal shapes, so both are small custom layers, registered with
 * tf.serialization.registerClass on first use so that tf.loadLayersModel can rebuild them.
 */
export function seLayerClasses(tf: Tf): SeLayerClasses {
  const known = classes.get(tf);
  if (known) return known;

  class UnetcGlobalAvgPool extends tf.layers.Layer {
    static readonly className = GLOBAL_POOL_CLASS_NAME;

    override computeOutputShape(inputShape: Shape | Shape[]): Shape {
      const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
      return [s[0] ?? null, ...s.slice(1, -1).map(() => 1), s[s.length - 1] ?? null];
    }

    override call(inputs: Tensor | Tensor[]): Tensor {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      return tf.mean(
        x,
        x.shape.slice(1, -1).map((_, i) => i + 1),
        true,
      );
    }
  }

  class UnetcChannelScale extends tf.layers.Layer {
    static readonly className = SCALE_CLASS_NAME;

    override computeOutputShape(inputShape: Shape | Shape[]): Shape {
      const [x] = inputShape as Shape[];
      if (!x) throw new Error(`${this.name}: ${SCALE_CLASS_NAME} takes two inputs [features, scale]`);
      return x;
    }

    override call(inputs: Tensor | Tensor[]): Tensor {
      const [x, s] = inputs as Tensor[];
      if (!x || !s) throw new Error(`${this.name}: ${SCALE_CLASS_NAME} takes two inputs [features, scale]`);
      return tf.mul(x, s);
    }
  }

  tf.serialization.registerClass(UnetcGlobalAvgPool);
  tf.serialization.registerClass(UnetcChannelScale);
  const pair = { GlobalAvgPool: UnetcGlobalAvgPool, ChannelScale: UnetcChannelScale };
  classes.set(tf, pair);
  return pair;
}
