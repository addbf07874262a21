import type { Tensor } from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildModel, setWeights } from '../../../src/compiler/backends/tfjs/index.js';
import { initialWeights } from '../../../src/compiler/backends/weights.js';
import { compileSpec, type Graph } from '../../../src/compiler/index.js';
import { selectEngine, type Engine } from '../../../src/runtime/backend/index.js';
import { losses } from '../../../src/runtime/train/losses.js';
import { makeTrainStep, poolTarget, supervisedLoss } from '../../../src/runtime/train/step.js';

let engine: Engine;
beforeAll(async () => {
  engine = await selectEngine('wasm');
});

const graphOf = (ds: string, dims = '') =>
  compileSpec({
    name: 'd.yaml',
    body: `name: d\ninput: {channels: 1${dims}}\noutput: {classes: 1}\nnetwork: {depth: 3, filters: [4, 8, 16], deep_supervision: ${ds}}\n`,
  }).graph!;

describe('deep supervision in training', () => {
  it('targets are the mask average-pooled by the head factor (2D and 3D)', () => {
    const { tf } = engine;
    const m = tf.tensor([1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1], [1, 4, 4, 1]);
    expect(Array.from(poolTarget(tf, m, 2).dataSync())).toEqual([0.75, 0, 0, 1]);
    const v = tf.ones([1, 2, 2, 2, 1]);
    expect(Array.from(poolTarget(tf, v, 2).dataSync())).toEqual([1]);
    expect(poolTarget(tf, tf.ones([1, 2, 4, 4, 1]), [1, 2, 2]).shape).toEqual([1, 2, 2, 2, 1]);
    expect(poolTarget(tf, m, 1)).toBe(m);
  });

  it('the loss is the weighted sum over the main output and each head, against pooled targets', () => {
    const { tf } = engine;
    const g = graphOf('true');
    const ds = g.deepSupervision!;
    const f = losses.bce;
    const masks = tf.tidy(() =>
      tf.cast(tf.greater(tf.randomUniform([2, 16, 16, 1], 0, 1, 'float32', 1), 0.5), 'float32'),
    );
    const outs = [
      tf.randomUniform([2, 16, 16, 1], 0.1, 0.9, 'float32', 2),
      tf.randomUniform([2, 4, 4, 1], 0.1, 0.9, 'float32', 3),
      tf.randomUniform([2, 8, 8, 1], 0.1, 0.9, 'float32', 4),
    ] as Tensor[];
    const got = supervisedLoss(tf, f, outs, masks, ds).dataSync()[0]!;
    const want =
      ds.mainWeight * f(tf, outs[0]!, masks).dataSync()[0]! +
      ds.heads[0]!.weight * f(tf, outs[1]!, poolTarget(tf, masks, 4)).dataSync()[0]! +
      ds.heads[1]!.weight * f(tf, outs[2]!, poolTarget(tf, masks, 2)).dataSync()[0]!;
    expect(got).toBeCloseTo(want, 5);
    // Negative controls: the main output alone, or heads with swapped targets, give other values.
    expect(Math.abs(f(tf, outs[0]!, masks).dataSync()[0]! - got)).toBeGreaterThan(1e-3);
    expect(() => supervisedLoss(tf, f, outs.slice(0, 2), masks, ds)).toThrow(/3 outputs|2 outputs/);
  });

  it('training steps update the heads too, and a 3D network with heads trains', async () => {
    const aniso = compileSpec({
      name: 'a.yaml',
      body: 'name: a\ninput: {channels: 1, dims: 3}\noutput: {classes: 1}\nnetwork: {depth: 3, filters: [4, 8, 16], pool: [1, 2, 2], deep_supervision: true}\n',
    }).graph!;
    expect(aniso.deepSupervision!.heads.map((h) => h.factor)).toEqual([
      [1, 4, 4],
      [1, 2, 2],
    ]);
    for (const [g, shape] of [
      [graphOf('true'), [2, 16, 16, 1]],
      [graphOf('1', ', dims: 3'), [1, 8, 8, 8, 1]],
      [aniso, [1, 4, 16, 16, 1]],
    ] as [Graph, number[]][]) {
      const { tf } = engine;
      const model = buildModel(tf, g);
      setWeights(model, initialWeights(g, 1), tf);
      const head = model.getLayer(g.deepSupervision!.heads[0]!.op.replace(/_sigmoid$/, '_conv'));
      const before = Array.from(head.getWeights()[0]!.dataSync());
      const step = makeTrainStep(tf, model, 'bce-dice', { name: 'adam', learningRate: 0.01 }, g.deepSupervision);
      const images = tf.randomNormal(shape, 0, 1, 'float32', 5);
      const masks = tf.cast(tf.greater(images, 0), 'float32');
      const l1 = await step.run(images, masks);
      const l2 = await step.run(images, masks);
      expect(Number.isFinite(l1) && Number.isFinite(l2)).toBe(true);
      expect(Array.from(head.getWeights()[0]!.dataSync())).not.toEqual(before);
      step.dispose();
      tf.dispose([images, masks]);
      model.dispose();
    }
  }, 60_000);
});
