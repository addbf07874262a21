import { beforeAll, describe, expect, it } from 'vitest';
import { buildModel, setWeights } from '../../../src/compiler/backends/tfjs/index.js';
import { initialWeights } from '../../../src/compiler/backends/weights.js';
import { compileSpec } from '../../../src/compiler/index.js';
import { selectEngine, type Engine } from '../../../src/runtime/backend/index.js';
import { dataSettings, resolveTrainSettings, resumedSettings } from '../../../src/runtime/train/settings.js';
import { makeTrainStep } from '../../../src/runtime/train/step.js';

const compiled = (train = '', extra = '') => {
  const c = compileSpec({
    name: 's.yaml',
    body: `name: s\ninput: {channels: 1}\noutput: {classes: 1${extra}}\nnetwork: {depth: 2, filters: [4, 8]}\n${train}`,
  });
  expect(c.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return { spec: c.spec!, graph: c.graph! };
};

describe('resolveTrainSettings', () => {
  it('a spec without train: gets the recipe defaults', () => {
    const { spec, graph } = compiled();
    const s = resolveTrainSettings(spec.train, graph, {}, 10);
    expect(s).toMatchObject({
      epochs: 10,
      stepsPerEpoch: 3,
      batch: 4,
      patch: [128, 128],
      loss: 'bce-dice',
      schedule: 'cosine',
      warmup: 0.05,
      seed: 0,
      maxSteps: undefined,
      earlyStopping: undefined,
    });
    expect(s.optimizer).toEqual({ name: 'adam', learningRate: 0.003, momentum: 0, weightDecay: 0 });
    expect(s.augmentation).toEqual({ flip: true, rotate90: true });
    expect(s.timeBudgetMs).toBeUndefined();
    expect(dataSettings(spec.train, {})).toEqual({ seed: 0, valSplit: 0.2 });
    // Defaults that follow the network: a softmax head trains with CE + Dice.
    const multi = compiled('', ', instances: boundary');
    expect(resolveTrainSettings(multi.spec.train, multi.graph, {}, 10).loss).toBe('ce-dice');
  });

  it("the spec's fields win over the defaults, and the overrides over the spec", () => {
    const { spec, graph } = compiled(
      'train: {optimizer: sgd, momentum: 0.9, weight_decay: 0.0001, learning_rate: 0.01, batch: 2, epochs: 3, patch: [64, 64], seed: 5, val_split: 0.1, warmup: 0, schedule: poly, augment: {flip: true}}\n',
    );
    const s = resolveTrainSettings(spec.train, graph, {}, 9);
    expect(s).toMatchObject({
      epochs: 3,
      stepsPerEpoch: 5,
      batch: 2,
      patch: [64, 64],
      schedule: 'poly',
      warmup: 0,
      seed: 5,
      augmentation: { flip: true },
    });
    expect(s.optimizer).toEqual({ name: 'sgd', learningRate: 0.01, momentum: 0.9, weightDecay: 0.0001 });
    expect(dataSettings(spec.train, {})).toEqual({ seed: 5, valSplit: 0.1 });
    const o = resolveTrainSettings(
      spec.train,
      graph,
      { batch: 3, learningRate: 0.5, seed: 7, epochs: 2, stepsPerEpoch: 4, maxSteps: 6 },
      9,
    );
    expect(o).toMatchObject({ batch: 3, seed: 7, epochs: 2, stepsPerEpoch: 4, maxSteps: 6 });
    expect(o.optimizer.learningRate).toBe(0.5);
    expect(dataSettings(spec.train, { seed: 7, valSplit: 0 })).toEqual({ seed: 7, valSplit: 0 });
  });

  it('a time budget: the spec time, an override that replaces it, and epochs as a cap', () => {
    const timed = compiled('train: {time: 5m}\n');
    expect(resolveTrainSettings(timed.spec.train, timed.graph, {}, 4)).toMatchObject({
      epochs: 1,
      timeBudgetMs: 300_000,
      epochsCap: false,
    });
    // --epochs replaces the spec's time; --time the spec's epochs.
    const epochs = resolveTrainSettings(timed.spec.train, timed.graph, { epochs: 2 }, 4);
    expect(epochs.epochs).toBe(2);
    expect(epochs.timeBudgetMs).toBeUndefined();
    const both = compiled('train: {time: 90s, epochs: 4}\n');
    expect(resolveTrainSettings(both.spec.train, both.graph, {}, 4)).toMatchObject({
      epochs: 4,
      timeBudgetMs: 90_000,
      epochsCap: true,
    });
    expect(resolveTrainSettings(both.spec.train, both.graph, { timeMs: 1000 }, 4)).toMatchObject({
      epochs: 1,
      timeBudgetMs: 1000,
      epochsCap: false,
    });
  });

  it('a resumed run keeps its settings but for maxSteps, and names the overrides it ignores', () => {
    const { spec, graph } = compiled();
    const saved = resolveTrainSettings(spec.train, graph, { maxSteps: 5 }, 10);
    const r = resumedSettings(saved, { batch: 8, learningRate: 1, maxSteps: 9, timeMs: 5 });
    expect(r.settings).toEqual({ ...saved, maxSteps: 9 });
    expect(r.ignored).toEqual(['timeMs', 'batch', 'learningRate']);
    expect(resumedSettings(saved, {}).settings.maxSteps).toBeUndefined();
  });
});

describe('weight decay', () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await selectEngine('wasm');
  });

  it('shrinks the kernels by lr x decay after the update, and nothing else', async () => {
    const { tf } = engine;
    const { graph } = compiled();
    const images = tf.randomNormal([2, 16, 16, 1], 0, 1, 'float32', 3);
    const masks = tf.cast(tf.greater(images, 0), 'float32');
    const after = async (weightDecay: number) => {
      const model = buildModel(tf, graph);
      setWeights(model, initialWeights(graph, 1), tf);
      const step = makeTrainStep(tf, model, 'bce-dice', { name: 'adam', learningRate: 0.01, weightDecay });
      await step.run(images, masks, 11);
      const out = new Map(model.trainableWeights.map((w) => [w.originalName, Array.from(w.read().dataSync())]));
      step.dispose();
      model.dispose();
      return out;
    };
    const plain = await after(0);
    const decayed = await after(0.5);
    let kernels = 0;
    for (const [name, values] of plain) {
      const shrink = /kernel$/.test(name) ? 1 - 0.01 * 0.5 : 1;
      if (shrink !== 1) kernels++;
      decayed.get(name)!.forEach((v, i) => expect(v).toBeCloseTo(values[i]! * shrink, 6));
    }
    expect(kernels).toBeGreaterThan(4);
    // Negative control: the decayed kernels do differ from the plain ones.
    const first = [...plain.keys()].find((n) => /kernel$/.test(n))!;
    expect(decayed.get(first)!.some((v, i) => Math.abs(v - plain.get(first)![i]!) > 1e-6)).toBe(true);
    tf.dispose([images, masks]);
  }, 60_000);
});
