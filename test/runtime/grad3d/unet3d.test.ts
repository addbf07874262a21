import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Tf } from '../../../src/runtime/backend/index.js';
import { asRank4 } from '../../../src/runtime/backend/grad3d.js';
import { normal, relError, wasmTf } from '../wasm/helpers.js';

/**
 * A 3D U-Net built from tf.layers trains on wasm and on cpu, and both engines take the same
 * steps: BatchNormalization on rank-5 inputs (against its definition), then a tiny U-Net
 * (conv3d, BN, relu, maxPooling3d + averagePooling3d, add, dropout 0, conv3dTranspose,
 * concatenate, sigmoid or softmax head) for three Adam steps from the same initial weights.
 */
let tf: Tf;
beforeAll(async () => {
  tf = await wasmTf();
});

const backends = ['wasm', 'cpu'] as const;

function onBackend<T>(backend: 'wasm' | 'cpu', f: () => T): T {
  const previous = tf.getBackend();
  tf.setBackend(backend);
  try {
    return f();
  } finally {
    tf.setBackend(previous);
  }
}

async function onBackendAsync<T>(backend: 'wasm' | 'cpu', f: () => Promise<T>): Promise<T> {
  const previous = tf.getBackend();
  tf.setBackend(backend);
  try {
    return await f();
  } finally {
    tf.setBackend(previous);
  }
}

describe('BatchNormalization on rank-5 inputs', () => {
  it('folds every axis into a rank-4 shape that keeps it whole', () => {
    const shape: [number, number, number, number, number] = [2, 3, 4, 5, 6];
    for (let axis = 0; axis < 5; axis++) {
      const folded = asRank4(shape, axis);
      expect(folded.shape.reduce((a, b) => a * b, 1)).toBe(720);
      expect(folded.shape[folded.axis]).toBe(shape[axis]);
    }
  });

  // Axis -1 (and 4) only: for any other axis tfjs 4.22 computes a wrong result at rank 4 already
  // (its FusedBatchNorm kernels index [1, C, 1, 1] statistics as if C were the last axis).
  it.each(
    backends.flatMap(
      (b) =>
        [
          [b, -1],
          [b, 4],
        ] as const,
    ),
  )('%s, axis %s: training and inference as defined', (backend, axisArg) => {
    onBackend(backend, () => {
      const shape = [2, 3, 4, 5, 3];
      const axis = axisArg < 0 ? axisArg + 5 : axisArg;
      const c = shape[axis]!;
      const x = normal(
        shape.reduce((a, b) => a * b, 1),
        11,
      ).map((v) => 2 * v + 0.5);
      const layer = tf.layers.batchNormalization({
        axis: axisArg,
        momentum: 0.9,
        epsilon: 1e-3,
        gammaInitializer: 'randomNormal',
        betaInitializer: 'randomNormal',
      });
      const input = tf.tensor(x, shape);
      const trained = (layer.apply(input, { training: true }) as Tensor).dataSync();
      const [gamma, beta, movingMean, movingVariance] = layer.getWeights().map((w) => w.dataSync());
      expect((layer as unknown as { axis: number }).axis).toBe(axisArg);
      // float64 statistics per channel over all other axes.
      const strideAfter = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
      const channel = (i: number) => Math.floor(i / strideAfter) % c;
      const sum = new Float64Array(c);
      const sq = new Float64Array(c);
      const count = x.length / c;
      x.forEach((v, i) => (sum[channel(i)] = sum[channel(i)]! + v));
      const mean = Array.from(sum, (s) => s / count);
      x.forEach((v, i) => (sq[channel(i)] = sq[channel(i)]! + (v - mean[channel(i)]!) ** 2));
      const variance = Array.from(sq, (s) => s / count);
      const expectTrained = Float32Array.from(
        x,
        (v, i) =>
          ((v - mean[channel(i)]!) / Math.sqrt(variance[channel(i)]! + 1e-3)) * gamma![channel(i)]! +
          beta![channel(i)]!,
      );
      expect(relError(trained as Float32Array, expectTrained)).toBeLessThan(1e-5);
      // Moving statistics: 0.9 * initial (0 and 1) + 0.1 * batch statistics (tfjs-layers uses the biased variance).
      expect(
        relError(
          movingMean as Float32Array,
          Float32Array.from(mean, (m) => 0.1 * m),
        ),
      ).toBeLessThan(1e-5);
      expect(
        relError(
          movingVariance as Float32Array,
          Float32Array.from(variance, (v) => 0.9 + 0.1 * v),
        ),
      ).toBeLessThan(1e-5);
      const inferred = (layer.apply(input, { training: false }) as Tensor).dataSync();
      const expectInferred = Float32Array.from(
        x,
        (v, i) =>
          ((v - movingMean![channel(i)]!) / Math.sqrt(movingVariance![channel(i)]! + 1e-3)) * gamma![channel(i)]! +
          beta![channel(i)]!,
      );
      expect(relError(inferred as Float32Array, expectInferred)).toBeLessThan(1e-5);
      // Negative control: normalizing over the wrong axis is told apart.
      const wrongChannel = (i: number) => Math.floor(i / (strideAfter * c)) % c;
      expect(
        relError(
          trained as Float32Array,
          Float32Array.from(
            x,
            (v, i) =>
              ((v - mean[wrongChannel(i)]!) / Math.sqrt(variance[wrongChannel(i)]! + 1e-3)) * gamma![wrongChannel(i)]! +
              beta![wrongChannel(i)]!,
          ),
        ),
      ).toBeGreaterThan(1e-3);
    });
  });
});

/**
 * Input [8, 16, 16, 1], two levels, 4 filters. Convolutions that feed a BatchNormalization
 * (directly or through the up path) have no bias: its gradient would be exactly zero, leaving
 * only rounding noise that Adam's normalized step blows up to +-learning rate on either engine.
 * Adam does the same, less often, to any weight whose gradient is near zero; with random initial
 * weights the largest weight difference between the engines ranged from 1e-6 to 1.4e-3 (learning
 * rate 1e-2) and from 7e-7 to 1.4e-5 (1e-3, used here), over six runs each.
 */
function tinyUNet(head: 'sigmoid' | 'softmax'): LayersModel {
  const L = tf.layers;
  // Seeded initial weights: the test is deterministic.
  let seed = 1;
  const init = () => tf.initializers.heNormal({ seed: seed++ });
  const block = (x: ReturnType<typeof L.input>, filters: number) => {
    let y = x;
    for (let i = 0; i < 2; i++) {
      y = L.conv3d({ filters, kernelSize: 3, padding: 'same', useBias: false, kernelInitializer: init() }).apply(
        y,
      ) as typeof x;
      y = L.batchNormalization({ axis: -1 }).apply(y) as typeof x;
      y = L.activation({ activation: 'relu' }).apply(y) as typeof x;
    }
    return y;
  };
  const input = L.input({ shape: [8, 16, 16, 1] });
  const skip = block(input, 4);
  const pooled = [
    L.maxPooling3d({ poolSize: 2 }).apply(skip),
    L.averagePooling3d({ poolSize: 2 }).apply(skip),
  ] as (typeof input)[];
  const down = L.add().apply(pooled) as typeof input;
  const bottom = L.dropout({ rate: 0 }).apply(block(down, 8)) as typeof input;
  const up = L.conv3dTranspose({
    filters: 4,
    kernelSize: 2,
    strides: 2,
    padding: 'same',
    useBias: false,
    kernelInitializer: init(),
  }).apply(bottom) as typeof input;
  const merged = L.concatenate({ axis: -1 }).apply([up, skip]) as typeof input;
  const out = L.conv3d({
    filters: head === 'sigmoid' ? 1 : 2,
    kernelSize: 1,
    activation: head,
    kernelInitializer: init(),
  }).apply(block(merged, 4)) as typeof input;
  return tf.model({ inputs: input, outputs: out });
}

describe('tiny 3D U-Net: three Adam steps agree between wasm and cpu', () => {
  it.each(['sigmoid', 'softmax'] as const)('%s head', async (head) => {
    const model = onBackend('cpu', () => tinyUNet(head));
    const initial = model.getWeights().map((w) => ({ shape: w.shape, values: Float32Array.from(w.dataSync()) }));
    const n = 2;
    const xData = normal(n * 8 * 16 * 16, 21);
    const labels = Float32Array.from(xData, (v) => (v > 0.3 ? 1 : 0));
    const run = (backend: 'wasm' | 'cpu') =>
      onBackendAsync(backend, async () => {
        model.setWeights(initial.map((w) => tf.tensor(w.values, w.shape)));
        model.compile({
          optimizer: tf.train.adam(1e-3),
          loss: head === 'sigmoid' ? 'binaryCrossentropy' : 'categoricalCrossentropy',
        });
        const x = tf.tensor(xData, [n, 8, 16, 16, 1]);
        const y =
          head === 'sigmoid'
            ? tf.tensor(labels, [n, 8, 16, 16, 1])
            : tf.oneHot(tf.tensor(labels, [n, 8, 16, 16], 'int32'), 2);
        const losses: number[] = [];
        for (let step = 0; step < 3; step++) losses.push((await model.trainOnBatch(x, y)) as number);
        tf.dispose([x, y]);
        return { losses, weights: model.getWeights().map((w) => Float32Array.from(w.dataSync())) };
      });
    const wasm = await run('wasm');
    const cpu = await run('cpu');
    expect(wasm.losses.every(Number.isFinite)).toBe(true);
    expect(relError(Float32Array.from(wasm.losses), Float32Array.from(cpu.losses))).toBeLessThan(1e-3);
    expect(wasm.weights.length).toBe(initial.length);
    wasm.weights.forEach((w, i) => expect(relError(w, cpu.weights[i]!), model.weights[i]!.name).toBeLessThan(1e-3));
    // The steps moved the weights (the comparison is not between two untouched copies).
    expect(wasm.weights.some((w, i) => relError(w, initial[i]!.values) > 1e-3)).toBe(true);
    if (head === 'sigmoid') {
      // Negative control: the same run with a wrong conv3dTranspose gradient (spatially flipped
      // filter) on wasm is caught by the same comparison.
      const ours = tf.getGradient('Conv3DBackpropInputV2')!;
      tf.registerGradient({
        ...ours,
        gradFunc: (ddx, saved, attrs) => {
          const right = ours.gradFunc(ddx, saved, attrs);
          return { dy: () => right.dy!(), filter: () => tf.reverse(right.filter!(), [0, 1, 2]) };
        },
      });
      try {
        const wrong = await run('wasm');
        expect(Math.max(...wrong.weights.map((w, i) => relError(w, cpu.weights[i]!)))).toBeGreaterThan(1e-3);
      } finally {
        tf.registerGradient(ours);
      }
    }
    if (process.env.GRAD3D_VERBOSE === '1')
      console.log(
        head,
        'losses wasm',
        wasm.losses,
        'cpu',
        cpu.losses,
        'max weight rel',
        Math.max(...wasm.weights.map((w, i) => relError(w, cpu.weights[i]!))),
      );
  });
});
