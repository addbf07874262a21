import type { LayersModel, Optimizer, Scalar, Tensor } from '@tensorflow/tfjs';
import { Random } from '../../util/random.js';
import type { DeepSupervision } from '../../compiler/ir/index.js';
import type { Tf } from '../backend/index.js';
import { lossFor, type Loss, type LossName } from './losses.js';

export interface OptimizerSettings {
  readonly name: 'adam' | 'sgd';
  readonly learningRate: number;
  /** SGD momentum (0 for plain SGD). */
  readonly momentum?: number;
  /**
   * Decoupled weight decay (Loshchilov & Hutter's AdamW; for plain SGD the same as an L2 term of
   * this weight): after each update, conv and dense kernels shrink by learning rate x this.
   * Biases and BatchNorm's scale and shift are not decayed. 0 or absent: none.
   */
  readonly weightDecay?: number;
}

export function makeOptimizer(tf: Tf, o: OptimizerSettings): Optimizer {
  if (o.name === 'sgd')
    return o.momentum ? tf.train.momentum(o.learningRate, o.momentum) : tf.train.sgd(o.learningRate);
  return tf.train.adam(o.learningRate);
}

/** One optimization step, reused across steps so nothing is re-traced or re-allocated per call. */
export interface TrainStep {
  /**
   * Runs forward (training mode: dropout on, BatchNorm batch statistics), backward and the
   * update; returns the loss. With `seed`, the step's dropout masks come from it (reproducible
   * runs and exact resumes); without, from Math.random as tfjs does.
   */
  run(images: Tensor, masks: Tensor, seed?: number): Promise<number>;
  readonly optimizer: Optimizer;
  dispose(): void;
}

/**
 * Runs `f` (synchronous) with Math.random drawing from `seed`: tfjs seeds every unseeded random
 * op (dropout's mask) from Math.random, and tf.layers.dropout's own `seed` would repeat one mask
 * at every step. Restores Math.random afterwards, also when `f` throws.
 */
export function withSeededRandom<T>(seed: number | undefined, f: () => T): T {
  if (seed === undefined) return f();
  const saved = Math.random;
  const rng = new Random(seed);
  Math.random = () => rng.next();
  try {
    return f();
  } finally {
    Math.random = saved;
  }
}

/**
 * The mask at a deep-supervision head's size: average-pooled by `factor` on every spatial axis
 * (the share of each class in the pooled cell: a soft target that bce, Dice and ce all take).
 */
export function poolTarget(tf: Tf, masks: Tensor, factor: number | readonly number[]): Tensor {
  const f = typeof factor === 'number' ? Array.from({ length: masks.rank - 2 }, () => factor) : [...factor];
  if (f.every((x) => x === 1)) return masks;
  if (masks.rank === 5)
    return tf.avgPool3d(
      masks as Parameters<Tf['avgPool3d']>[0],
      f as [number, number, number],
      f as [number, number, number],
      'valid',
    );
  return tf.avgPool(masks as Parameters<Tf['avgPool']>[0], f as [number, number], f as [number, number], 'valid');
}

/**
 * The target center-cropped to the output's spatial size: networks with unpadded ('valid') convs
 * predict the patch less a margin on each side (the 2015 paper's overlap-tile scheme).
 */
export function cropToOutput(tf: Tf, target: Tensor, output: Tensor): Tensor {
  const t = target.shape;
  const o = output.shape;
  if (t.every((n, i) => i === 0 || i === t.length - 1 || n === o[i])) return target;
  const begin = t.map((n, i) => (i === 0 || i === t.length - 1 ? 0 : (n - o[i]!) >> 1));
  const size = t.map((n, i) => (i === 0 || i === t.length - 1 ? -1 : o[i]!));
  return tf.slice(target, begin, size);
}

/**
 * The training loss of a model's outputs: the loss of its one output, or, with deep supervision,
 * the weighted sum over the main output (against the mask) and each head (against the mask
 * pooled to its size).
 */
export function supervisedLoss(
  tf: Tf,
  f: Loss,
  outputs: Tensor | Tensor[],
  masks: Tensor,
  ds: DeepSupervision | undefined,
): Scalar {
  if (!Array.isArray(outputs)) return f(tf, outputs, cropToOutput(tf, masks, outputs));
  if (!ds || ds.heads.length !== outputs.length - 1)
    throw new Error(`the model has ${outputs.length} outputs but the graph has ${ds ? ds.heads.length + 1 : 1}`);
  let total = tf.mul(f(tf, outputs[0]!, masks), ds.mainWeight) as Scalar;
  ds.heads.forEach((h, i) => {
    total = tf.add(total, tf.mul(f(tf, outputs[i + 1]!, poolTarget(tf, masks, h.factor)), h.weight)) as Scalar;
  });
  return total;
}

/**
 * A training step for a tfjs model whose outputs are probabilities (sigmoid or softmax head).
 * Every intermediate tensor is released inside `minimize`; only the loss value leaves.
 */
export function makeTrainStep(
  tf: Tf,
  model: LayersModel,
  loss: LossName,
  optimizer: OptimizerSettings | Optimizer,
  deepSupervision?: DeepSupervision,
  instances?: 'boundary',
  contactWeight = 1,
): TrainStep {
  const opt = 'minimize' in optimizer ? optimizer : makeOptimizer(tf, optimizer);
  const f = lossFor(loss, instances, contactWeight);
  const decay = 'minimize' in optimizer ? 0 : (optimizer.weightDecay ?? 0);
  const kernels = decay > 0 ? model.trainableWeights.filter((w) => /kernel$/.test(w.originalName)) : [];
  return {
    optimizer: opt,
    async run(images, masks, seed) {
      const value = withSeededRandom(seed, () =>
        opt.minimize(
          () =>
            supervisedLoss(tf, f, model.apply(images, { training: true }) as Tensor | Tensor[], masks, deepSupervision),
          true,
        ),
      );
      if (!value) throw new Error('the optimizer returned no loss');
      if (kernels.length > 0) {
        // At the rate of this step (the schedule sets the optimizer's before each step).
        const shrink = 1 - (opt as unknown as { learningRate: number }).learningRate * decay;
        tf.tidy(() => kernels.forEach((w) => w.write(tf.mul(w.read(), shrink))));
      }
      const [v] = await value.data();
      value.dispose();
      return v!;
    },
    dispose() {
      opt.dispose();
    },
  };
}
