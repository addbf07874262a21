import type { LayersModel, Optimizer, Tensor } from '@tensorflow/tfjs';
import type { Tf } from '../backend/index.js';
import { losses, type LossName } from './losses.js';

export interface OptimizerSettings {
  readonly name: 'adam' | 'sgd';
  readonly learningRate: number;
  /** SGD momentum (0 for plain SGD). */
  readonly momentum?: number;
}

export function makeOptimizer(tf: Tf, o: OptimizerSettings): Optimizer {
  if (o.name === 'sgd') return o.momentum ? tf.train.momentum(o.learningRate, o.momentum) : tf.train.sgd(o.learningRate);
  return tf.train.adam(o.learningRate);
}

/** One optimization step, reused across steps so nothing is re-traced or re-allocated per call. */
export interface TrainStep {
  /** Runs forward (training mode: dropout on, BatchNorm batch statistics), backward and the update; returns the loss. */
  run(images: Tensor, masks: Tensor): Promise<number>;
  readonly optimizer: Optimizer;
  dispose(): void;
}

/**
 * A training step for a tfjs model whose outputs are probabilities (sigmoid or softmax head).
 * Every intermediate tensor is released inside `minimize`; only the loss value leaves.
 */
export function makeTrainStep(tf: Tf, model: LayersModel, loss: LossName, optimizer: OptimizerSettings | Optimizer): TrainStep {
  const opt = 'minimize' in optimizer ? optimizer : makeOptimizer(tf, optimizer);
  const f = losses[loss];
  return {
    optimizer: opt,
    async run(images, masks) {
      const value = opt.minimize(() => f(tf, model.apply(images, { training: true }) as Tensor, masks), true);
      if (!value) throw new Error('the optimizer returned no loss');
      const [v] = await value.data();
      value.dispose();
      return v!;
    },
    dispose() {
      opt.dispose();
    },
  };
}
