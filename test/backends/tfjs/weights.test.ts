import { beforeAll, describe, expect, it } from 'vitest';
import { randomWeights, type WeightTensor } from '../../../src/compiler/backends/weights.js';
import { buildModel, getWeights, setWeights } from '../../../src/compiler/backends/tfjs/index.js';
import { graphOf, tf, unetYaml, useCpu } from './helpers.js';

beforeAll(useCpu);

const graph = () => graphOf(unetYaml({ filters: [3, 5] }));

function edited(edit: (m: Map<string, WeightTensor>) => void): Map<string, WeightTensor> {
  const m = randomWeights(graph(), 3);
  edit(m);
  return m;
}

describe('setWeights', () => {
  it.each([
    ['a missing weight', edited((m) => m.delete('enc2.conv1/bias')), /missing \(1\): enc2\.conv1\/bias/],
    [
      'a missing BatchNorm statistic',
      edited((m) => m.delete('dec1.bn2/moving_variance')),
      /missing \(1\): dec1\.bn2\/moving_variance/,
    ],
    [
      'an extra weight',
      edited((m) => m.set('nope/kernel', { shape: [1], data: new Float32Array(1) })),
      /not in the model \(1\): nope\/kernel/,
    ],
    [
      'a mis-shaped kernel',
      edited((m) => m.set('enc1.conv1/kernel', { shape: [3, 3, 1, 4], data: new Float32Array(36) })),
      /wrong shape \(1\): enc1\.conv1\/kernel: the model has \[3, 3, 1, 3\], given \[3, 3, 1, 4\]/,
    ],
    [
      'data that does not fill the shape',
      edited((m) => m.set('head.conv/bias', { shape: [1], data: new Float32Array(2) })),
      /head\.conv\/bias: shape \[1\] needs 1 values, given 2/,
    ],
  ])('%s gives a clear error', (_name, weights, message) => {
    const model = buildModel(tf, graph());
    const before = getWeights(model);
    expect(() => setWeights(model, weights)).toThrow(message);
    // Checked before writing: nothing changed.
    expect(getWeights(model)).toEqual(before);
    model.dispose();
  });

  it('lists every problem at once', () => {
    const weights = edited((m) => {
      m.delete('enc1.conv1/kernel');
      m.delete('enc1.bn1/gamma');
      m.set('enc1.conv2/bias', { shape: [4], data: new Float32Array(4) });
    });
    const model = buildModel(tf, graph());
    expect(() => setWeights(model, weights)).toThrow(
      /missing \(2\): enc1\.conv1\/kernel, enc1\.bn1\/gamma\n {2}wrong shape \(1\): enc1\.conv2\/bias/,
    );
    model.dispose();
  });

  it('a model tfjs built on its own needs the namespace passed in', () => {
    const x = tf.input({ shape: [2] });
    const model = tf.model({
      inputs: x,
      outputs: tf.layers.dense({ units: 1, name: 'd' }).apply(x) as tf.SymbolicTensor,
    });
    const weights = new Map([
      ['d/kernel', { shape: [2, 1], data: new Float32Array([1, 2]) }],
      ['d/bias', { shape: [1], data: new Float32Array([3]) }],
    ]);
    expect(() => setWeights(model, weights)).toThrow(/pass the tfjs namespace/);
    setWeights(model, weights, tf);
    expect(Array.from(getWeights(model).get('d/kernel')!.data)).toEqual([1, 2]);
  });
});

describe('getWeights', () => {
  it('returns exactly what setWeights wrote, by name, as copies', () => {
    const g = graph();
    const weights = randomWeights(g, 5);
    const model = buildModel(tf, g);
    setWeights(model, weights);
    const got = getWeights(model);
    expect(new Map([...got].sort())).toEqual(new Map([...weights].sort()));
    got.get('enc1.conv1/kernel')!.data[0] = 42;
    expect(getWeights(model).get('enc1.conv1/kernel')!.data[0]).not.toBe(42);
    model.dispose();
  });

  it('BatchNorm weights are gamma, beta, moving_mean, moving_variance (the last two not trainable)', () => {
    const model = buildModel(tf, graph());
    const bn = model.getLayer('enc1.bn1').weights.map((v) => [v.originalName, v.trainable]);
    expect(bn).toEqual([
      ['enc1.bn1/gamma', true],
      ['enc1.bn1/beta', true],
      ['enc1.bn1/moving_mean', false],
      ['enc1.bn1/moving_variance', false],
    ]);
    model.dispose();
  });

  it('names stay `${op}/${weight}` when a model with the same layer names was built before', () => {
    const a = buildModel(tf, graph());
    const b = buildModel(tf, graph());
    // tfjs uniquifies variable names across the process, but not originalName (what it saves by).
    expect(b.weights.some((v) => v.name !== v.originalName)).toBe(true);
    expect([...getWeights(b).keys()]).toEqual([...getWeights(a).keys()]);
    a.dispose();
    b.dispose();
  });
});
