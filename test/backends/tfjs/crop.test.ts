import { beforeAll, describe, expect, it } from 'vitest';
import { buildModel, cropLayerClass, setWeights } from '../../../src/compiler/backends/tfjs/index.js';
import { graphOf, outputShape, tf, useCpu } from './helpers.js';

beforeAll(useCpu);

/** 0, 1, 2, ... in an [1, h, w, c] tensor: every value says where it came from. */
const arange = (h: number, w: number, c = 1) =>
  tf.tensor(
    Array.from({ length: h * w * c }, (_, i) => i),
    [1, h, w, c],
  );

/** Crops through the layer (called on concrete tensors, as in predict). */
function crop(src: tf.Tensor, ref: tf.Tensor): number[] {
  const layer = new (cropLayerClass(tf))({ name: 'crop' });
  return Array.from((layer.apply([src, ref]) as tf.Tensor).dataSync());
}

/** A deliberately wrong crop (ceil instead of floor) for the negative control. */
function ceilCrop(src: tf.Tensor, ref: tf.Tensor): number[] {
  const [, sh = 0, sw = 0] = src.shape;
  const [, rh = 0, rw = 0] = ref.shape;
  return Array.from(
    tf.slice(src, [0, Math.ceil((sh - rh) / 2), Math.ceil((sw - rw) / 2), 0], [-1, rh, rw, -1]).dataSync(),
  );
}

describe('UnetcCenterCrop', () => {
  // src 4x5 holds 0..19 row by row; the expected values are worked out by hand.
  it.each([
    ['4x5 to 1x2: drop floor(3/2)=1 row and floor(3/2)=1 column at the top/left', [4, 5, 1], [1, 2], [6, 7]],
    ['4x5 to 2x3: offsets 1, 1', [4, 5, 1], [2, 3], [6, 7, 8, 11, 12, 13]],
    ['4x5 to 4x5: unchanged', [4, 5, 1], [4, 5], Array.from({ length: 20 }, (_, i) => i)],
    ['4x5x2 to 1x1: channels kept', [4, 5, 2], [1, 1], [2 * (1 * 5 + 2), 2 * (1 * 5 + 2) + 1]],
  ] as const)('%s', (_name, [h, w, c], [rh, rw], expected) => {
    expect(crop(arange(h, w, c), tf.zeros([1, rh, rw, 3]))).toEqual(expected);
  });

  it('negative control: the same check rejects a crop that rounds the offset up', () => {
    const src = arange(4, 5);
    const ref = tf.zeros([1, 1, 2, 1]);
    expect(ceilCrop(src, ref)).not.toEqual([6, 7]);
    expect(crop(src, ref)).toEqual([6, 7]);
  });

  it('works with unknown H and W at build time', () => {
    const a = tf.input({ shape: [null, null, 2] });
    const b = tf.input({ shape: [null, null, 1] });
    const out = new (cropLayerClass(tf))({ name: 'crop_sym' }).apply([a, b]) as tf.SymbolicTensor;
    expect(out.shape).toEqual([null, null, null, 2]);
  });

  it('in a model: crops a conv branch to a 4x4 valid conv branch (odd difference 3)', () => {
    const graph = graphOf(
      [
        'name: crop-test',
        'input: {channels: 1}',
        'output: {classes: 1, activation: none}',
        'graph:',
        '  - {name: id, op: conv, inputs: [input], filters: 1, kernel: 1}',
        '  - {name: small, op: conv, inputs: [input], filters: 1, kernel: 4, padding: valid}',
        '  - {name: crop, op: crop, inputs: [id, small]}',
        '',
      ].join('\n'),
    );
    const model = buildModel(tf, graph);
    const zero = (shape: number[]) => ({ shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) });
    setWeights(
      model,
      new Map([
        ['id/kernel', { shape: [1, 1, 1, 1], data: new Float32Array([1]) }],
        ['id/bias', zero([1])],
        ['small/kernel', zero([4, 4, 1, 1])],
        ['small/bias', zero([1])],
      ]),
    );
    // 5x6 -> 2x3: offsets floor(3/2) = 1 row, 1 column.
    const y = model.predict(arange(5, 6)) as tf.Tensor;
    const s = outputShape(graph, 5, 6);
    expect(y.shape).toEqual([1, s.h, s.w, s.c]);
    expect(Array.from(y.dataSync())).toEqual([7, 8, 9, 13, 14, 15]);
    model.dispose();
  });
});

describe("'valid' conv-transpose with kernel < stride", () => {
  it('has size n * stride in tfjs and in the IR (Keras convention)', () => {
    const graph = graphOf(
      [
        'name: up-test',
        'input: {channels: 1}',
        'output: {classes: 1, activation: none}',
        'graph:',
        '  - {name: up, op: conv-transpose, inputs: [input], filters: 1, kernel: 1, stride: 2, padding: valid}',
        '',
      ].join('\n'),
    );
    const model = buildModel(tf, graph);
    setWeights(
      model,
      new Map([
        ['up/kernel', { shape: [1, 1, 1, 1], data: new Float32Array([1]) }],
        ['up/bias', { shape: [1], data: new Float32Array([0.5]) }],
      ]),
    );
    const y = model.predict(tf.tensor([1, 2, 3, 4], [1, 2, 2, 1])) as tf.Tensor;
    const s = outputShape(graph, 2, 2);
    expect([s.h, s.w]).toEqual([4, 4]);
    expect(y.shape).toEqual([1, 4, 4, 1]);
    // Inputs land on even positions; odd positions hold only the bias.
    expect(Array.from(y.dataSync())).toEqual([
      1.5, 0.5, 2.5, 0.5, 0.5, 0.5, 0.5, 0.5, 3.5, 0.5, 4.5, 0.5, 0.5, 0.5, 0.5, 0.5,
    ]);
    model.dispose();
  });
});
