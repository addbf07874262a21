import type { Scalar, Tensor } from '@tensorflow/tfjs';
import type { LossName } from '../../compiler/spec/model.js';
import type { Tf } from '../backend/index.js';
import { BACKGROUND, BOUNDARY } from '../infer/boundary.js';

/** Loss names of the spec's `train.loss`. */
export type { LossName };

/** Probabilities are clipped away from 0 and 1 before logs (the model outputs probabilities). */
const EPS = 1e-7;
/** Smoothing of soft Dice / Tversky: an empty mask predicted empty scores 1, not 0/0. */
const SMOOTH = 1;

/** A loss over a batch: predictions and targets are [N, H, W, C] in [0, 1]; returns a scalar. */
export type Loss = (tf: Tf, prediction: Tensor, target: Tensor) => Scalar;

/** Mean binary cross-entropy over every pixel and channel. */
export const bce: Loss = (tf, p, t) =>
  tf.tidy(() => {
    const q = tf.clipByValue(p, EPS, 1 - EPS);
    return tf.neg(tf.mean(tf.add(tf.mul(t, tf.log(q)), tf.mul(tf.sub(1, t), tf.log(tf.sub(1, q)))))) as Scalar;
  });

/** Mean categorical cross-entropy (softmax heads, one-hot targets over channels). */
export const ce: Loss = (tf, p, t) =>
  tf.tidy(() => tf.neg(tf.mean(tf.sum(tf.mul(t, tf.log(tf.clipByValue(p, EPS, 1))), -1))) as Scalar);

/** The spatial axes of an [N, ...spatial, C] batch: [1, 2] for images, [1, 2, 3] for volumes. */
const spatial = (x: Tensor): number[] => Array.from({ length: x.rank - 2 }, (_, i) => i + 1);

/**
 * 1 - soft Dice, per image (or volume) and channel, then averaged: (2|P∩T| + s) / (|P| + |T| + s).
 * Per image so that small objects in one image are not drowned by large ones in another.
 */
export const dice: Loss = (tf, p, t) =>
  tf.tidy(() => {
    const axes = spatial(p);
    const inter = tf.sum(tf.mul(p, t), axes);
    const total = tf.add(tf.sum(p, axes), tf.sum(t, axes));
    return tf.sub(1, tf.mean(tf.div(tf.add(tf.mul(2, inter), SMOOTH), tf.add(total, SMOOTH)))) as Scalar;
  });

/** Focal loss (Lin et al. 2017), gamma 2, alpha 0.25, on sigmoid outputs. */
export const focal: Loss = (tf, p, t) =>
  tf.tidy(() => {
    const q = tf.clipByValue(p, EPS, 1 - EPS);
    const pt = tf.add(tf.mul(t, q), tf.mul(tf.sub(1, t), tf.sub(1, q)));
    const alpha = tf.add(tf.mul(t, 0.25), tf.mul(tf.sub(1, t), 0.75));
    return tf.mean(tf.mul(tf.mul(alpha, tf.pow(tf.sub(1, pt), 2)), tf.neg(tf.log(pt)))) as Scalar;
  });

/** 1 - Tversky index with alpha 0.3 (false positives), beta 0.7 (false negatives). */
export const tversky: Loss = (tf, p, t) =>
  tf.tidy(() => {
    const axes = spatial(p);
    const tp = tf.sum(tf.mul(p, t), axes);
    const fp = tf.sum(tf.mul(p, tf.sub(1, t)), axes);
    const fn = tf.sum(tf.mul(tf.sub(1, p), t), axes);
    const index = tf.div(tf.add(tp, SMOOTH), tf.add(tf.add(tf.add(tp, tf.mul(0.3, fp)), tf.mul(0.7, fn)), SMOOTH));
    return tf.sub(1, tf.mean(index)) as Scalar;
  });

const sum =
  (a: Loss, b: Loss): Loss =>
  (tf, p, t) =>
    tf.tidy(() => tf.add(a(tf, p, t), b(tf, p, t)) as Scalar);

/** Channel `c` of a channels-last batch, kept as a channel axis of size 1. */
const channelOf = (tf: Tf, x: Tensor, c: number): Tensor =>
  tf.slice(
    x,
    x.shape.map((_, a) => (a === x.rank - 1 ? c : 0)),
    x.shape.map((_, a) => (a === x.rank - 1 ? 1 : -1)),
  );

/**
 * 1 - soft Dice of the object under a boundary head: its channels (interior and boundary) summed,
 * that is 1 - P(background), against the object's mask. The masks a boundary network makes are
 * this union, so this is the Dice the user gets; a Dice per channel would also chase the thin
 * boundary class, whose Dice is low and noisy. (Measured on the DSB nuclei at 370 steps: a Dice
 * per channel, or cross-entropy weighing the boundary 3x, scored the same within 0.01.)
 */
export const objectDice: Loss = (tf, p, t) =>
  tf.tidy(() => {
    const background = (x: Tensor) => channelOf(tf, x, BACKGROUND);
    return dice(tf, tf.sub(1, background(p)), tf.sub(1, background(t)));
  });

/**
 * `x` moved by one pixel along `axis` (+1: each pixel takes its next neighbour's value), with 0
 * where the neighbour is past the array's edge.
 */
function shifted(tf: Tf, x: Tensor, axis: number, by: 1 | -1): Tensor {
  const padded = tf.pad(
    x,
    x.shape.map((_, a): [number, number] => (a === axis ? [1, 1] : [0, 0])),
  );
  return tf.slice(
    padded,
    x.shape.map((_, a) => (a === axis ? 1 + by : 0)),
    x.shape,
  );
}

/**
 * Where two instances touch, from a boundary head's one-hot targets ([N, ...spatial, 3]): outline
 * pixels with no background among their face neighbours (4 in 2D, 6 in 3D); 1 there, else 0, as
 * [N, ...spatial, 1]. An outline pixel has a face neighbour of another id (boundaryTargets), so
 * without background it faces another instance: the contact, to its very ends, where round
 * nuclei meet background only diagonally. (The 8 neighbours' rule cut those ends, and with them
 * most of a small pair's short contact: trained on the DSB nuclei with four seeds, it scored
 * 0.004 less instance F1, on every seed.) The array's edge is no background.
 */
export function contactMask(tf: Tf, t: Tensor): Tensor {
  return tf.tidy(() => {
    const background = channelOf(tf, t, BACKGROUND);
    let near = tf.zerosLike(background);
    for (let axis = 1; axis < t.rank - 1; axis++)
      for (const by of [1, -1] as const) near = tf.maximum(near, shifted(tf, background, axis, by));
    return tf.mul(channelOf(tf, t, BOUNDARY), tf.sub(1, near));
  });
}

/**
 * Cross-entropy with the pixels where two instances touch weighing `weight` times the others
 * (`train.contact_weight`): the U-Net paper's separation-border weight (Ronneberger et al. 2015,
 * w0 = 10), here a fixed weight on the contact outline rather than a function of the distance to
 * the two nearest cells. A thin line between touching nuclei is a small share of the pixels, so
 * plain cross-entropy lets a network blur it, and two nuclei become one instance.
 */
export const contactCe =
  (weight: number): Loss =>
  (tf, p, t) =>
    tf.tidy(() => {
      const w = tf.add(1, tf.mul(weight - 1, contactMask(tf, t)));
      const perPixel = tf.neg(tf.sum(tf.mul(t, tf.log(tf.clipByValue(p, EPS, 1))), -1, true));
      return tf.mean(tf.mul(w, perPixel)) as Scalar;
    });

/**
 * The loss a head trains with: the spec's, where a boundary head (`output.instances: boundary`)
 * takes its Dice on the object (see objectDice) and its cross-entropy over the three channels,
 * with the contact pixels weighed `contactWeight` times (see contactCe; 1: plain).
 */
export function lossFor(name: LossName, instances: 'boundary' | undefined, contactWeight = 1): Loss {
  if (instances !== 'boundary') return losses[name];
  const crossEntropy = contactWeight !== 1 ? contactCe(contactWeight) : ce;
  if (name === 'dice') return objectDice;
  if (name === 'ce') return crossEntropy;
  if (name === 'ce-dice') return sum(crossEntropy, objectDice);
  return losses[name];
}

export const losses: Record<LossName, Loss> = {
  bce,
  dice,
  'bce-dice': sum(bce, dice),
  focal,
  tversky,
  ce,
  'ce-dice': sum(ce, dice),
};

/** The loss a spec trains with when it does not say: BCE + Dice for sigmoid heads, CE + Dice for softmax. */
export function defaultLoss(activation: 'sigmoid' | 'softmax' | 'none'): LossName {
  return activation === 'softmax' ? 'ce-dice' : 'bce-dice';
}
