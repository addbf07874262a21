import type { Shape, Tensor } from '@tensorflow/tfjs';
import type { Tf } from './engine.js';

/** The class name under which the center-crop layer is serialized in model.json. */
export const CROP_CLASS_NAME = 'UnetcCenterCrop';

/** Constructor of the center-crop layer for one tfjs namespace. */
export type CropLayerClass = new (args: { name: string }) => InstanceType<Tf['layers']['Layer']>;

// One class per namespace: a class must extend that namespace's Layer, and be registered in
// that namespace's serialization map so tf.loadLayersModel can find it.
const classes = new WeakMap<Tf, CropLayerClass>();

/** Top-left offset of a center crop from `src` to `ref` along one axis (the 2015 paper's choice: floor). */
export const cropOffset = (src: number, ref: number): number => Math.floor((src - ref) / 2);

/**
 * The center-crop layer (IR `Crop`): crops inputs[0] to the height and width (and depth, for
 * NDHWC volumes) of inputs[1],
 * dropping floor((src - ref) / 2) rows/columns at the top/left. Sizes are read from the tensors at
 * call time, so it works when H and W are unknown at build time. Registered with
 * tf.serialization.registerClass under `UnetcCenterCrop` on first use.
 */
export function cropLayerClass(tf: Tf): CropLayerClass {
  const known = classes.get(tf);
  if (known) return known;

  class UnetcCenterCrop extends tf.layers.Layer {
    static readonly className = CROP_CLASS_NAME;

    override computeOutputShape(inputShape: Shape | Shape[]): Shape {
      const [src, ref] = inputShape as Shape[];
      if (!src || !ref) throw new Error(`${this.name}: ${CROP_CLASS_NAME} takes two inputs [source, reference]`);
      // Rank 4 (NHWC) or 5 (NDHWC): the spatial axes from ref, batch and channels from src.
      return [src[0] ?? null, ...ref.slice(1, -1), src[src.length - 1] ?? null];
    }

    override call(inputs: Tensor | Tensor[]): Tensor {
      const [src, ref] = inputs as Tensor[];
      if (!src || !ref) throw new Error(`${this.name}: ${CROP_CLASS_NAME} takes two inputs [source, reference]`);
      const s = src.shape.slice(1, -1);
      const r = ref.shape.slice(1, -1);
      if (r.some((n, i) => n > s[i]!))
        throw new Error(`${this.name}: cannot crop ${s.join('x')} to a larger ${r.join('x')}`);
      return tf.slice(src, [0, ...s.map((n, i) => cropOffset(n, r[i]!)), 0], [-1, ...r, -1]);
    }
  }

  tf.serialization.registerClass(UnetcCenterCrop);
  classes.set(tf, UnetcCenterCrop);
  return UnetcCenterCrop;
}
