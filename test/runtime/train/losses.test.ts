import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { defaultLoss, losses, type LossName } from '../../../src/runtime/train/index.js';

beforeAll(async () => {
  tf.env().set('IS_TEST', true);
  await tf.setBackend('cpu');
});

/** One image, 2x2 pixels, one channel. */
const p = () => tf.tensor4d([0.9, 0.2, 0.6, 0.1], [1, 2, 2, 1]);
const t = () => tf.tensor4d([1, 0, 1, 0], [1, 2, 2, 1]);

const bce = -(Math.log(0.9) + Math.log(0.8) + Math.log(0.6) + Math.log(0.9)) / 4;
const dice = 1 - (2 * (0.9 + 0.6) + 1) / (0.9 + 0.2 + 0.6 + 0.1 + 2 + 1);
const tversky = 1 - (1.5 + 1) / (1.5 + 0.3 * 0.3 + 0.7 * 0.5 + 1);

describe('losses on a hand-computed example', () => {
  it.each([
    ['bce', bce],
    ['dice', dice],
    ['bce-dice', bce + dice],
    ['tversky', tversky],
  ] as [LossName, number][])('%s', (name, expected) => {
    const value = losses[name](tf, p(), t()).dataSync()[0]!;
    expect(value).toBeCloseTo(expected, 5);
  });

  it('focal: well-classified pixels weigh less than BCE', () => {
    const f = losses.focal(tf, p(), t()).dataSync()[0]!;
    expect(f).toBeGreaterThan(0);
    expect(f).toBeLessThan(bce / 4);
  });

  it('ce over two softmax channels equals bce on the foreground channel', () => {
    const two = tf.concat([tf.sub(1, p()), p()], -1);
    const oneHot = tf.concat([tf.sub(1, t()), t()], -1);
    expect(losses.ce(tf, two, oneHot).dataSync()[0]!).toBeCloseTo(bce, 5);
  });

  it('a perfect prediction scores near zero; negative control: the inverse scores high', () => {
    for (const name of ['bce', 'dice', 'bce-dice', 'tversky'] as LossName[]) {
      expect(losses[name](tf, t(), t()).dataSync()[0]!).toBeLessThan(1e-3);
      expect(losses[name](tf, tf.sub(1, t()), t()).dataSync()[0]!).toBeGreaterThan(0.5);
    }
  });

  it('an empty mask predicted empty is a perfect Dice (smoothing, not 0/0)', () => {
    const zeros = tf.zeros([1, 2, 2, 1]);
    expect(losses.dice(tf, zeros, zeros).dataSync()[0]!).toBeCloseTo(0, 6);
  });

  it('default losses', () => {
    expect(defaultLoss('sigmoid')).toBe('bce-dice');
    expect(defaultLoss('softmax')).toBe('ce-dice');
  });
});
