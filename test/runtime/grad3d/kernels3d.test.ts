import type { Tensor } from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Tf } from '../../../src/runtime/backend/index.js';
import { batchNorm3dInstalled, isKernel3d, kernels3d, registerGrad3d } from '../../../src/runtime/backend/grad3d.js';
import { normal, on, perturbed, relError, wasmTf } from '../wasm/helpers.js';
import * as R from './reference3d.js';

/**
 * Every kernel a 3D U-Net training step runs, on wasm and on cpu, against float64 references
 * (reference3d.ts) and against each other (max |a - b| / max |b| < 1e-4, as shared/FACTS.md).
 */
const TOLERANCE = 1e-4;
/** float32 results against a float64 reference. */
const EXACT = 1e-5;

let tf: Tf;
beforeAll(async () => {
  tf = await wasmTf();
});

const run = (name: string, inputs: Record<string, Tensor>, attrs: object) =>
  tf.engine().runKernel(name, inputs, attrs as never) as Tensor;
const f32 = (a: ArrayLike<number>) => Float32Array.from(a);
const backends = ['wasm', 'cpu'] as const;

/** Both backends within EXACT of the reference, and within TOLERANCE of each other. */
function expectBoth(f: () => Tensor, reference: ArrayLike<number>): Float32Array {
  const [wasm, cpu] = backends.map((b) => on(tf, b, f)) as [Float32Array, Float32Array];
  expect(relError(wasm, f32(reference))).toBeLessThan(EXACT);
  expect(relError(cpu, f32(reference))).toBeLessThan(EXACT);
  expect(relError(wasm, cpu)).toBeLessThan(TOLERANCE);
  return wasm;
}

/** [x shape, filter shape, strides, padding] */
type ConvCase = [R.Shape5, R.Shape5, number | R.Triple, R.Pad];
const convCases: ConvCase[] = [
  [[1, 5, 6, 7, 3], [3, 3, 3, 3, 4], 1, 'same'],
  [[2, 6, 8, 8, 2], [2, 2, 2, 2, 3], 2, 'same'],
  [[1, 7, 7, 5, 2], [2, 2, 2, 2, 3], 2, 'same'],
  [[1, 7, 6, 5, 2], [3, 3, 3, 2, 3], 2, 'same'],
  [[2, 7, 6, 5, 2], [3, 3, 3, 2, 3], 2, 'valid'],
  [[1, 6, 6, 6, 2], [2, 2, 2, 2, 3], 1, 'same'],
  [[1, 8, 9, 7, 3], [4, 4, 4, 3, 2], 2, 'same'],
  [[1, 5, 7, 6, 2], [1, 3, 2, 2, 3], [1, 2, 2], 'same'],
  [[1, 5, 7, 6, 3], [1, 1, 1, 3, 5], 1, 'valid'],
  [[2, 8, 8, 8, 4], [2, 2, 2, 4, 4], 2, 'valid'],
];
const convLabel = ([xs, fs, s, pad]: ConvCase) => `x[${xs}] f[${fs}] s${s} ${pad}`;

function convData([xs, fs, s0, pad]: ConvCase, seed: number) {
  const s = R.triple(s0);
  const { out } = R.geometry(xs, [fs[0], fs[1], fs[2]], s, pad);
  const ys: R.Shape5 = [xs[0], ...out, fs[4]];
  return {
    xs,
    fs,
    ys,
    s,
    pad,
    x: normal(R.size(xs), seed),
    filter: normal(R.size(fs), seed + 1),
    dy: normal(R.size(ys), seed + 2),
  };
}

describe('Conv3D and its gradient kernels', () => {
  it.each(convCases.map((c, i) => [convLabel(c), c, i] as const))('%s', (_, c, i) => {
    const d = convData(c, 100 + 7 * i);
    const conv =
      (x = d.x) =>
      () =>
        tf.conv3d(tf.tensor(x, d.xs) as never, tf.tensor(d.filter, d.fs) as never, d.s, d.pad);
    const bFilter =
      (x = d.x) =>
      () =>
        run(
          'Conv3DBackpropFilterV2',
          { x: tf.tensor(x, d.xs), dy: tf.tensor(d.dy, d.ys) },
          { strides: d.s, pad: d.pad, filterShape: d.fs },
        );
    const bInput =
      (filter = d.filter) =>
      () =>
        run(
          'Conv3DBackpropInputV2',
          { dy: tf.tensor(d.dy, d.ys), filter: tf.tensor(filter, d.fs) },
          { strides: d.s, pad: d.pad, inputShape: d.xs },
        );
    const y = expectBoth(conv(), R.conv3d(d.x, d.xs, d.filter, d.fs, d.s, d.pad).y);
    const df = expectBoth(bFilter(), R.conv3dBackpropFilter(d.x, d.xs, d.dy, d.fs, d.s, d.pad));
    const dx = expectBoth(bInput(), R.conv3dBackpropInput(d.dy, d.filter, d.fs, d.xs, d.s, d.pad));
    // Negative controls: results from 1%-perturbed inputs are told apart.
    expect(relError(y, on(tf, 'cpu', conv(perturbed(d.x, i))))).toBeGreaterThan(TOLERANCE);
    expect(relError(df, on(tf, 'cpu', bFilter(perturbed(d.x, i))))).toBeGreaterThan(TOLERANCE);
    expect(relError(dx, on(tf, 'cpu', bInput(perturbed(d.filter, i))))).toBeGreaterThan(TOLERANCE);
  });

  it('tf.grads of conv3d agrees between the backends (stride 2, same, even kernel)', () => {
    const d = convData([[2, 7, 8, 6, 3], [2, 2, 2, 3, 4], 2, 'same'], 7);
    const f = () => {
      const [gx, gf] = tf.grads((x: Tensor, w: Tensor) =>
        tf.sum(tf.mul(tf.conv3d(x as never, w as never, d.s, d.pad), tf.tensor(d.dy, d.ys))),
      )([tf.tensor(d.x, d.xs), tf.tensor(d.filter, d.fs)]);
      return tf.concat([tf.reshape(gx!, [-1]), tf.reshape(gf!, [-1])]);
    };
    expectBoth(f, [
      ...R.conv3dBackpropInput(d.dy, d.filter, d.fs, d.xs, d.s, d.pad),
      ...R.conv3dBackpropFilter(d.x, d.xs, d.dy, d.fs, d.s, d.pad),
    ]);
  });
});

/** [x shape, pool size, strides, padding] */
type PoolCase = [R.Shape5, number | R.Triple, number | R.Triple, R.Pad];
const poolCases: PoolCase[] = [
  [[2, 6, 8, 8, 3], 2, 2, 'valid'],
  [[1, 7, 9, 5, 2], 2, 2, 'same'],
  [[1, 7, 9, 5, 2], 3, 2, 'same'],
  [[1, 6, 6, 6, 2], [1, 2, 2], [1, 2, 2], 'valid'],
  [[1, 6, 6, 6, 2], [2, 2, 1], [2, 2, 1], 'valid'],
  [[1, 6, 6, 6, 2], [2, 3, 2], [1, 2, 2], 'same'],
];
const poolLabel = ([xs, k, s, pad]: PoolCase) => `x[${xs}] k${k} s${s} ${pad}`;

/** Data of three kinds: random, ReLU-like with many ties (zeros and small integers), and all negative. */
function poolInputs(xs: R.Shape5, seed: number): [string, Float32Array][] {
  const x = normal(R.size(xs), seed);
  return [
    ['random', x],
    ['ties', x.map((v) => Math.max(0, Math.round(v * 2)))],
    ['negative', x.map((v) => -Math.abs(v) - 0.5)],
  ];
}

describe('MaxPool3D and MaxPool3DGrad (ties to the first maximum)', () => {
  it.each(poolCases.map((c, i) => [poolLabel(c), c, i] as const))('%s', (_, [xs, k0, s0, pad], i) => {
    const k = R.triple(k0);
    const s = R.triple(s0);
    for (const [kind, x] of poolInputs(xs, 200 + i)) {
      const ref = R.pool3d('max', x, xs, k, s, pad);
      const dy = normal(R.size(ref.shape), 300 + i);
      const dx = R.pool3d('max', x, xs, k, s, pad, dy, 'first').dx;
      expectBoth(() => tf.maxPool3d(tf.tensor(x, xs) as never, k, s, pad), ref.y);
      const grad = expectBoth(
        () =>
          run(
            'MaxPool3DGrad',
            { dy: tf.tensor(dy, ref.shape), input: tf.tensor(x, xs), output: tf.tensor(f32(ref.y), ref.shape) },
            { filterSize: k, strides: s, pad },
          ),
        dx,
      );
      // Through tf.grad as training reaches it.
      expectBoth(
        () =>
          tf.grad((t: Tensor) => tf.sum(tf.mul(tf.maxPool3d(t as never, k, s, pad), tf.tensor(dy, ref.shape))))(
            tf.tensor(x, xs),
          ),
        dx,
      );
      // Negative control: on tied data the other tie rule is told apart.
      if (kind === 'ties')
        expect(relError(grad, f32(R.pool3d('max', x, xs, k, s, pad, dy, 'last').dx))).toBeGreaterThan(TOLERANCE);
    }
  });
});

describe('AvgPool3D and AvgPool3DGrad (windows divided by their in-bounds count)', () => {
  it.each(poolCases.map((c, i) => [poolLabel(c), c, i] as const))('%s', (_, [xs, k0, s0, pad], i) => {
    const k = R.triple(k0);
    const s = R.triple(s0);
    const x = normal(R.size(xs), 400 + i);
    const ref = R.pool3d('avg', x, xs, k, s, pad);
    const dy = normal(R.size(ref.shape), 500 + i);
    const dx = R.pool3d('avg', x, xs, k, s, pad, dy).dx;
    const y = expectBoth(() => tf.avgPool3d(tf.tensor(x, xs) as never, k, s, pad), ref.y);
    expectBoth(
      () =>
        run(
          'AvgPool3DGrad',
          { dy: tf.tensor(dy, ref.shape), input: tf.tensor(x, xs) },
          { filterSize: k, strides: s, pad },
        ),
      dx,
    );
    expectBoth(
      () =>
        tf.grad((t: Tensor) => tf.sum(tf.mul(tf.avgPool3d(t as never, k, s, pad), tf.tensor(dy, ref.shape))))(
          tf.tensor(x, xs),
        ),
      dx,
    );
    expect(relError(y, f32(R.pool3d('avg', perturbed(x, i), xs, k, s, pad).y))).toBeGreaterThan(TOLERANCE);
  });
});

describe('FusedBatchNorm on rank-5 inputs, forward and gradient', () => {
  it.each([[[2, 4, 6, 5, 3]], [[1, 3, 4, 5, 8]], [[2, 3, 3, 3, 1]]] as [R.Shape5][])('x[%s]', (xs) => {
    const c = xs[4];
    const x = normal(R.size(xs), 600).map((v) => v * 3 + 1);
    const dy = normal(R.size(xs), 601);
    const gamma = normal(c, 602);
    const beta = normal(c, 603);
    /** Forward and all gradients, with x and dy laid out as `shape` and statistics shaped `stats`. */
    const f =
      (shape: number[], stats: number[], xData: Float32Array = x) =>
      () => {
        const rows = shape.length - 1;
        const axes = [...Array(rows).keys()];
        const loss = (xx: Tensor, g: Tensor, b: Tensor) => {
          const m = tf.moments(xx, axes, stats.length > 1);
          return tf.sum(
            tf.mul(
              tf.batchNorm(xx, m.mean, m.variance, tf.reshape(b, stats), tf.reshape(g, stats), 1e-3),
              tf.tensor(dy, shape),
            ),
          );
        };
        const [gx, gg, gb] = tf.grads(loss as never)([
          tf.tensor(xData, shape),
          tf.tensor(gamma, [c]),
          tf.tensor(beta, [c]),
        ]);
        const m = tf.moments(tf.tensor(xData, shape), axes);
        const y = tf.batchNorm(tf.tensor(xData, shape), m.mean, m.variance, tf.tensor(beta), tf.tensor(gamma), 1e-3);
        return tf.concat([y, gx!, gg!, gb!].map((t) => tf.reshape(t, [-1])));
      };
    // The reference: tfjs' own rank-4 path on cpu (x folded to [1, 1, rows, C]).
    const reference = on(tf, 'cpu', f([1, 1, R.size(xs) / c, c], [c]));
    for (const stats of [[c], [1, 1, 1, 1, c]]) {
      const [wasm, cpu] = backends.map((b) => on(tf, b, f(xs, stats))) as [Float32Array, Float32Array];
      expect(relError(wasm, reference)).toBeLessThan(TOLERANCE);
      expect(relError(cpu, reference)).toBeLessThan(TOLERANCE);
    }
    // Negative control: a 1%-perturbed x is told apart.
    expect(relError(on(tf, 'wasm', f(xs, [c], perturbed(x, 1))), reference)).toBeGreaterThan(TOLERANCE);
  });
});

describe('Concat, Add, Tile on rank 5', () => {
  it('agree between the backends', () => {
    const xs: R.Shape5 = [2, 3, 4, 5, 3];
    const a = normal(R.size(xs), 700);
    const b = normal(R.size(xs), 701);
    const v = normal(3, 702);
    const f = () =>
      tf.concat(
        [
          tf.concat([tf.tensor(a, xs), tf.tensor(b, xs)], -1),
          tf.tile(tf.tensor(a, xs), [1, 2, 1, 2, 3]),
          tf.tile(tf.tensor(v, [1, 1, 1, 1, 3]), [2, 3, 2, 2, 1]),
        ]
          .map((t) => tf.reshape(t, [-1]))
          .concat([
            tf.reshape(tf.add(tf.tensor(a, xs), tf.tensor(v, [3])), [-1]),
            tf.reshape(tf.add(tf.tensor(a, xs), tf.tensor(b, xs)), [-1]),
          ]),
      );
    const [wasm, cpu] = backends.map((bk) => on(tf, bk, f)) as [Float32Array, Float32Array];
    expect(relError(wasm, cpu)).toBe(0);
  });
});

describe('registration', () => {
  it('installs the replacements on both backends, idempotently', () => {
    for (const backend of backends)
      for (const name of kernels3d[backend]) expect(isKernel3d(tf, name, backend)).toBe(true);
    expect(batchNorm3dInstalled(tf)).toBe(true);
    const before = backends.flatMap((b) => kernels3d[b].map((n) => tf.getKernel(n, b)!.kernelFunc));
    const grad = tf.getGradient('FusedBatchNorm');
    registerGrad3d(tf);
    expect(backends.flatMap((b) => kernels3d[b].map((n) => tf.getKernel(n, b)!.kernelFunc))).toEqual(before);
    expect(tf.getGradient('FusedBatchNorm')).toBe(grad);
  });
});
