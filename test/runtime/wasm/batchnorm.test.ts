import type { Tensor } from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Tf } from '../../../src/runtime/backend/index.js';
import { FUSED_BATCH_NORM_GRAD } from '../../../src/runtime/backend/wasm/index.js';
import { normal, on, perturbed, relError, wasmTf } from './helpers.js';

const TOLERANCE = 1e-4;

let tf: Tf;
beforeAll(async () => {
  tf = await wasmTf();
});

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Kernel names a function runs on `backend` (tf.profile lists every kernel call). */
async function kernelsOf(backend: 'wasm' | 'cpu', f: () => Tensor): Promise<string[]> {
  tf.setBackend(backend);
  const info = await tf.profile(() => f());
  tf.dispose(info.result as Tensor);
  return info.kernels.map((k) => k.name);
}

describe('the wasm FusedBatchNorm gradient matches the cpu backend (all five inputs)', () => {
  // Statistics of shape [C]: tfjs' own gradient (the reference) fails for [1, 1, 1, C] ones and
  // for a batchNorm without scale or offset, so those have no reference to compare with.
  const shapes: number[][] = [
    [2, 5, 6, 3], // fewer channels than one block of four
    [3, 7, 5, 17], // four-channel blocks and a remainder
    [4, 8, 8, 16],
    [40, 300, 2, 5], // more rows than one cache block
    [12, 6], // rank 2 (batchNorm reshapes it to 4-d)
  ];
  it.each(shapes.map((s) => [s] as const))('x %j', (shape) => {
    const c = shape[shape.length - 1]!;
    // Statistics that are not x's own (as in inference mode), so every partial is exercised.
    const x = normal(size(shape), 51).map((v) => v * 3 + 1);
    const dy = normal(size(shape), 52);
    const stats = [normal(c, 53), normal(c, 54).map((v) => v * v + 0.5), normal(c, 55), normal(c, 56)];
    const f = (g: Float32Array) => () => {
      const [mean, variance, scale, offset] = stats.map((s) => tf.tensor1d(s)) as [Tensor, Tensor, Tensor, Tensor];
      const grads = tf.grads((xt: Tensor, m: Tensor, v: Tensor, s: Tensor, o: Tensor) =>
        tf.sum(tf.mul(tf.batchNorm(xt, m, v, o, s, 1e-3), tf.tensor(g, shape))),
      )([tf.tensor(x, shape), mean, variance, scale, offset]);
      return tf.concat(grads.map((t) => t.flatten()));
    };
    const ours = on(tf, 'wasm', f(dy));
    expect(relError(ours, on(tf, 'cpu', f(dy)))).toBeLessThan(TOLERANCE);
    // Negative control: the gradient of a 1%-perturbed dy must be told apart.
    expect(relError(ours, on(tf, 'cpu', f(perturbed(dy, 7))))).toBeGreaterThan(TOLERANCE);
  });

  it('runs as one fused kernel on wasm and leaves the cpu gradient as tfjs has it', async () => {
    const f = () =>
      tf.grad((t: Tensor) => tf.sum(tf.batchNorm(t, tf.zeros([4]), tf.ones([4]), tf.zeros([4]), tf.ones([4]))))(
        tf.ones([2, 3, 3, 4]),
      );
    const wasm = await kernelsOf('wasm', f);
    expect(wasm).toContain(FUSED_BATCH_NORM_GRAD);
    expect(wasm.filter((k) => k === 'Multiply')).toHaveLength(0);
    const cpu = await kernelsOf('cpu', f);
    expect(cpu).not.toContain(FUSED_BATCH_NORM_GRAD);
    expect(cpu.filter((k) => k === 'Multiply').length).toBeGreaterThan(5);
  });
});

describe('a training-mode BatchNormalization layer: gradients match the cpu backend', () => {
  // tfjs-layers 4.22 cannot train a BatchNormalization without gamma or beta (it reads both).
  const shapes: [number, number, number, number][] = [
    [4, 8, 8, 16],
    [2, 5, 7, 5],
    [3, 4, 4, 6],
  ];
  it.each(shapes.map((s) => [s] as const))('input %j', (shape) => {
    const x = normal(size(shape), 61).map((v) => Math.max(0, v) * 2 + 0.5);
    const weights = normal(size(shape), 62);
    const f = (w: Float32Array) => () => {
      const layer = tf.layers.batchNormalization({ axis: -1, epsilon: 1e-3 });
      layer.build(shape);
      // Same gamma and beta on both backends: randomNormal without a seed would differ.
      layer.setWeights(layer.getWeights().map((t, i) => tf.tensor(normal(t.size, 63 + i), t.shape)));
      const input = tf.variable(tf.tensor4d(x, shape));
      const { grads } = tf.variableGrads(
        () => tf.sum(tf.mul(layer.apply(input, { training: true }) as Tensor, tf.tensor4d(w, shape))) as never,
      );
      const out = tf.concat(Object.values(grads).map((t) => t.flatten()));
      for (const v of [input, ...layer.weights.map((w) => w.read())]) v.dispose();
      return out;
    };
    const ours = on(tf, 'wasm', f(weights));
    expect(relError(ours, on(tf, 'cpu', f(weights)))).toBeLessThan(TOLERANCE);
    expect(relError(ours, on(tf, 'cpu', f(perturbed(weights, 8))))).toBeGreaterThan(TOLERANCE);
  });
});

describe('the wasm Mean and Sum gradients (broadcast by Tile) match the cpu backend', () => {
  // [shape, axes, keepDims]
  const cases: [number[], number[], boolean][] = [
    [[4, 6, 6, 8], [0, 1, 2], false], // BatchNorm's statistics
    [[4, 6, 6, 8], [0, 1, 2], true],
    [[3, 5, 7], [1], false],
    [[3, 5, 7], [0, 2], true],
    [[6, 4], [1], false],
    [[2, 3, 4], [0, 1, 2], false],
  ];
  it.each(cases)('%j over axes %j, keepDims %s', (shape, axes, keepDims) => {
    const x = normal(size(shape), 71);
    const outSize = size(shape.filter((_, i) => !axes.includes(i)));
    const w = normal(outSize, 72);
    const f = (weights: Float32Array) => () => {
      const g = (reduce: typeof tf.mean) =>
        tf.grad((t: Tensor) => tf.sum(tf.mul(tf.reshape(reduce(t, axes, keepDims), [-1]), tf.tensor1d(weights))))(
          tf.tensor(x, shape),
        );
      return tf.concat([g(tf.mean).flatten(), g(tf.sum).flatten()]);
    };
    const ours = on(tf, 'wasm', f(w));
    expect(relError(ours, on(tf, 'cpu', f(w)))).toBeLessThan(TOLERANCE);
    expect(relError(ours, on(tf, 'cpu', f(perturbed(w, 9))))).toBeGreaterThan(TOLERANCE);
  });
});
