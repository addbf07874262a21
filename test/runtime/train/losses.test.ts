import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { defaultLoss, losses, type LossName } from '../../../src/runtime/train/index.js';
import { contactCe, contactMask, lossFor } from '../../../src/runtime/train/losses.js';
import { boundaryTargets } from '../../../src/runtime/infer/boundary.js';

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

  it('dice and tversky score a volume as one: every spatial axis summed (as the torch engine does)', () => {
    // Two volumes of 2x2x3 voxels; a Dice per volume, not per column of the last spatial axis.
    const pv = [0.9, 0.2, 0.6, 0.1, 0.8, 0.3, 0.7, 0.4, 0.0, 0.5, 0.9, 0.2];
    const tv = [1, 0, 1, 0, 1, 0, 1, 1, 0, 0, 1, 0];
    const pred = tf.tensor5d([...pv, ...pv.map((v) => 1 - v)], [2, 2, 2, 3, 1]);
    const truth = tf.tensor5d([...tv, ...tv], [2, 2, 2, 3, 1]);
    const perVolume = (q: number[], t: number[]) => {
      const inter = q.reduce((a, v, i) => a + v * t[i]!, 0);
      const total = q.reduce((a, v) => a + v, 0) + t.reduce((a, v) => a + v, 0);
      const fp = q.reduce((a, v, i) => a + v * (1 - t[i]!), 0);
      const fn = q.reduce((a, v, i) => a + (1 - v) * t[i]!, 0);
      return { dice: (2 * inter + 1) / (total + 1), tversky: (inter + 1) / (inter + 0.3 * fp + 0.7 * fn + 1) };
    };
    const [a, b] = [
      perVolume(pv, tv),
      perVolume(
        pv.map((v) => 1 - v),
        tv,
      ),
    ];
    const dice = losses.dice(tf, pred, truth).dataSync()[0]!;
    expect(dice).toBeCloseTo(1 - (a.dice + b.dice) / 2, 5);
    expect(losses.tversky(tf, pred, truth).dataSync()[0]!).toBeCloseTo(1 - (a.tversky + b.tversky) / 2, 5);
    // Negative control: summing only the first two spatial axes (a Dice per column) differs.
    const perColumn = tf.tidy(() => {
      const inter = tf.sum(tf.mul(pred, truth), [1, 2]);
      const total = tf.add(tf.sum(pred, [1, 2]), tf.sum(truth, [1, 2]));
      return 1 - tf.mean(tf.div(tf.add(tf.mul(2, inter), 1), tf.add(total, 1))).dataSync()[0]!;
    });
    expect(Math.abs(perColumn - dice)).toBeGreaterThan(1e-3);
  });

  it('default losses', () => {
    expect(defaultLoss('sigmoid')).toBe('bce-dice');
    expect(defaultLoss('softmax')).toBe('ce-dice');
  });
});

describe('the contact weight of boundary heads (train.contact_weight)', () => {
  // Two 6x3 instances side by side in an 8x8 image: they touch along columns 3 and 4.
  const labels = Array.from({ length: 64 }, (_, p) => {
    const [r, c] = [Math.floor(p / 8), p % 8];
    return r >= 1 && r <= 6 ? (c >= 1 && c <= 3 ? 1 : c >= 4 && c <= 6 ? 2 : 0) : 0;
  });
  const oneHot = () => {
    const ids = boundaryTargets(labels, [8, 8]);
    return tf
      .oneHot(tf.tensor1d(Array.from(ids), 'int32'), 3)
      .reshape([1, 8, 8, 3])
      .toFloat();
  };

  it('marks the outline between touching instances, not the outline that faces the background', () => {
    const mask = Array.from(contactMask(tf, oneHot()).dataSync());
    const expected = Array.from({ length: 64 }, (_, p) => {
      const [r, c] = [Math.floor(p / 8), p % 8];
      return r >= 2 && r <= 5 && (c === 3 || c === 4) ? 1 : 0;
    });
    expect(mask).toEqual(expected);
    // Negative control: the outline is longer than the contact (it also faces the background).
    const outline = Array.from(boundaryTargets(labels, [8, 8])).filter((v) => v === 2).length;
    expect(outline).toBeGreaterThan(expected.filter((v) => v === 1).length);
  });

  it('marks a contact to its ends where the instances do not line up (background only diagonal)', () => {
    // Instance 1 in rows 1..6, instance 2 in rows 3..5 beside it (columns 4..6): the contact is
    // column 3 rows 3..5 and column 4 rows 3..5. Pixels (3,3) and (5,3) have background only
    // diagonally ((2,4) and (6,4)); they face instance 2, so they are contact.
    const staggered = Array.from({ length: 64 }, (_, p) => {
      const [r, c] = [Math.floor(p / 8), p % 8];
      return c >= 1 && c <= 3 && r >= 1 && r <= 6 ? 1 : c >= 4 && c <= 6 && r >= 3 && r <= 5 ? 2 : 0;
    });
    const t = tf
      .oneHot(tf.tensor1d(Array.from(boundaryTargets(staggered, [8, 8])), 'int32'), 3)
      .reshape([1, 8, 8, 3])
      .toFloat();
    const mask = Array.from(contactMask(tf, t).dataSync());
    const at = mask.flatMap((v, p) => (v ? [[Math.floor(p / 8), p % 8]] : []));
    expect(at).toEqual([
      [3, 3],
      [4, 3],
      [4, 4],
      [5, 3],
    ]);
    // Negative control: a 3x3 window (the 8 neighbours) would keep only the middle row, (4, 3) and (4, 4).
    const window = tf.mul(
      tf.slice(t, [0, 0, 0, 2], [1, 8, 8, 1]),
      tf.sub(1, tf.maxPool(tf.slice(t, [0, 0, 0, 0], [1, 8, 8, 1]) as tf.Tensor4D, 3, 1, 'same')),
    );
    expect(Array.from(window.dataSync()).filter((v) => v === 1)).toHaveLength(2);
  });

  it('finds contacts in volumes with the 6 face neighbours', () => {
    // Two 3x3x2 blocks side by side along W in a 5x5x6 volume: each block's face on the other.
    const [d, h, w] = [5, 5, 6];
    const labels = Array.from({ length: d * h * w }, (_, p) => {
      const [z, y, x] = [Math.floor(p / (h * w)), Math.floor(p / w) % h, p % w];
      const inside = z >= 1 && z <= 3 && y >= 1 && y <= 3;
      return inside && (x === 1 || x === 2) ? 1 : inside && (x === 3 || x === 4) ? 2 : 0;
    });
    const t = tf
      .oneHot(tf.tensor1d(Array.from(boundaryTargets(labels, [d, h, w])), 'int32'), 3)
      .reshape([1, d, h, w, 3])
      .toFloat();
    const mask = contactMask(tf, t).dataSync();
    const at = Array.from(mask).flatMap((v, p) => (v ? [p] : []));
    // Only the centre of each facing 3x3 face has no background among its 6 neighbours.
    expect(at).toEqual([(2 * h + 2) * w + 2, (2 * h + 2) * w + 3]);
  });

  it('weighs the contact pixels; weight 1 is plain cross-entropy', () => {
    const t = oneHot();
    // A prediction that is right everywhere (0.8) except on the contact, where it says interior.
    const tv = t.dataSync();
    const contact = contactMask(tf, t).dataSync();
    const pv = new Float32Array(64 * 3);
    for (let p = 0; p < 64; p++)
      for (let k = 0; k < 3; k++) {
        const right = contact[p] ? k === 1 : tv[p * 3 + k] === 1;
        pv[p * 3 + k] = right ? 0.8 : 0.1;
      }
    const p = tf.tensor4d(pv, [1, 8, 8, 3]);
    const plain = losses.ce(tf, p, t).dataSync()[0]!;
    expect(contactCe(1)(tf, p, t).dataSync()[0]!).toBeCloseTo(plain, 6);
    // By hand: 56 pixels at -log 0.8, 8 contact pixels at -log 0.1 weighing 10.
    const weighted = (56 * -Math.log(0.8) + 10 * 8 * -Math.log(0.1)) / 64;
    expect(contactCe(10)(tf, p, t).dataSync()[0]!).toBeCloseTo(weighted, 5);
    expect(lossFor('ce', 'boundary', 10)(tf, p, t).dataSync()[0]!).toBeCloseTo(weighted, 5);
    // Only boundary heads have contacts: a plain head's loss ignores the weight.
    expect(lossFor('ce', undefined, 10)(tf, p, t).dataSync()[0]!).toBeCloseTo(plain, 6);
  });
});
