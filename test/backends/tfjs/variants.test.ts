import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomWeights } from '../../../src/compiler/backends/weights.js';
import { buildModel, setWeights } from '../../../src/compiler/backends/tfjs/index.js';
import { graphOf, outputShape, randomInput, smallSize, tf, unetYaml, useCpu, type UnetOptions } from './helpers.js';

let startTensors = 0;
beforeAll(async () => {
  await useCpu();
  startTensors = tf.memory().numTensors;
});
afterAll(() => {
  // Every test disposes what it makes (models included): a leak here would leak in training too.
  expect(tf.memory().numTensors).toBe(startTensors);
});

/** Spec options, and the input size (default: the smallest the shape checker accepts). */
interface Variant extends UnetOptions {
  readonly size?: readonly [number, number];
}

const variants: ReadonlyArray<readonly [string, Variant]> = [
  ['same padding, maxpool, transpose, concat, sigmoid', {}],
  ['valid padding with cropped skips', { block: '{padding: valid}' }],
  ['valid padding, bilinear up', { block: '{padding: valid}', up: 'bilinear' }],
  ['avgpool down', { down: 'avgpool' }],
  ['strided-conv down', { down: 'conv' }],
  ['nearest up', { up: 'nearest' }],
  ['bilinear up', { up: 'bilinear' }],
  ['add skips', { skip: 'add' }],
  ['no skips', { skip: 'none' }],
  ['softmax over 3 classes', { classes: 3, activation: 'softmax' }],
  ['no output activation', { classes: 2, activation: 'none' }],
  ['leaky-relu before batchnorm', { block: '{order: [conv, batchnorm, leaky-relu], leaky_alpha: 0.2}' }],
  ['elu', { block: '{order: [conv, elu, batchnorm]}' }],
  ['no batchnorm', { block: '{order: [conv, relu]}' }],
  ['no conv bias', { block: '{bias: false}' }],
  ['kernel [3, 5]', { block: '{kernel: [3, 5]}' }],
  ['dropout per block', { block: '{order: [conv, relu, batchnorm], dropout: 0.3, dropout_at: block}' }],
  ['odd channel counts (3 in, filters 5 7)', { channels: 3, filters: [5, 7] }],
  ['odd sizes: depth 3 same at 24x40', { depth: 3, filters: [4, 6, 8], size: [24, 40] }],
];

describe('tfjs models of small variants predict the shapes the checker promises', () => {
  it.each(variants)('%s', (_name, options) => {
    const graph = graphOf(unetYaml(options));
    const [h, w] = options.size ?? smallSize(graph);
    const expected = outputShape(graph, h, w);
    const model = buildModel(tf, graph);
    setWeights(model, randomWeights(graph, 1));
    const x = randomInput([2, h, w, graph.inputChannels]);
    const y = model.predict(x) as tf.Tensor;
    try {
      expect(y.shape).toEqual([2, expected.h, expected.w, expected.c]);
      const data = y.dataSync();
      expect(data.every(Number.isFinite)).toBe(true);
      if (graph.activation === 'softmax') {
        const sums = tf.tidy(() => y.sum(-1).dataSync());
        for (const s of sums) expect(s).toBeCloseTo(1, 5);
      }
      if (graph.activation === 'sigmoid') expect(data.every((v) => v >= 0 && v <= 1)).toBe(true);
      // Random weights are not all-zero: a constant map would hide an unset weight.
      expect(Math.max(...data) - Math.min(...data)).toBeGreaterThan(0);
    } finally {
      tf.dispose([x, y]);
      model.dispose();
    }
  });

  it('valid padding: the skips go through UnetcCenterCrop layers named after the IR ops', () => {
    const graph = graphOf(unetYaml({ block: '{padding: valid}' }));
    const model = buildModel(tf, graph);
    const crops = model.layers.filter((l) => l.getClassName() === 'UnetcCenterCrop').map((l) => l.name);
    expect(crops).toEqual(graph.ops.filter((op) => op.kind === 'Crop').map((op) => op.name));
    expect(crops.length).toBe(2);
    model.dispose();
  });

  it('layer names are the IR op names (Output has no layer; the input layer is "input")', () => {
    const graph = graphOf(unetYaml());
    const model = buildModel(tf, graph);
    expect(model.layers.map((l) => l.name)).toEqual(
      graph.ops.filter((op) => op.kind !== 'Output').map((op) => op.name),
    );
    model.dispose();
  });

  it.each([
    ['a fixed size', [24, 40] as const, [null, 24, 40, 1]],
    ['any size', 'any' as const, [null, null, null, 1]],
  ])('options.inputSize: %s', (_name, inputSize, shape) => {
    const model = buildModel(tf, graphOf(unetYaml()), { inputSize, name: 'sized' });
    expect(model.inputs[0]!.shape).toEqual(shape);
    expect(model.name).toBe('sized');
    model.dispose();
  });
});
