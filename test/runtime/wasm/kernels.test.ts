import type { Tensor } from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Tf } from '../../../src/runtime/backend/index.js';
import {
  conv2dBackpropFilter,
  conv2dBackpropInput,
  registerWasmTrainingKernels,
  wasmTrainingKernels,
} from '../../../src/runtime/backend/wasm/index.js';
import type { WasmBackend } from '../../../src/runtime/backend/wasm/heap.js';
import { normal, on, perturbed, relError, wasmTf } from './helpers.js';

const TOLERANCE = 1e-4;

let tf: Tf;
beforeAll(async () => {
  tf = await wasmTf();
});

type Pad = 'same' | 'valid';
/** [batch, height, width, in channels, out channels, kernel, stride, padding] */
type ConvCase = [number, number, number, number, number, [number, number], number, Pad];

const convCases: ConvCase[] = [
  [2, 8, 8, 3, 5, [3, 3], 1, 'same'],
  [1, 9, 7, 4, 6, [3, 3], 2, 'same'],
  [3, 10, 10, 2, 3, [3, 3], 1, 'valid'],
  [2, 11, 9, 17, 4, [3, 5], 1, 'same'],
  [2, 8, 8, 5, 3, [2, 2], 2, 'same'],
  [2, 9, 9, 5, 3, [2, 2], 2, 'valid'],
  [1, 7, 7, 1, 16, [1, 1], 1, 'same'],
  [2, 9, 11, 3, 2, [3, 3], 2, 'valid'],
  [1, 12, 13, 4, 4, [5, 5], 1, 'valid'],
  [3, 6, 6, 16, 1, [1, 1], 1, 'valid'],
  [1, 5, 5, 7, 9, [3, 3], 1, 'same'],
  // Stride 1 on maps large enough for the filter gradient's shifted-product path (padded grid at
  // most 1.3x the output grid): 3x3 and 5x5 'same', 'valid', an asymmetric kernel.
  [2, 16, 16, 3, 5, [3, 3], 1, 'same'],
  [1, 24, 20, 5, 4, [3, 3], 1, 'valid'],
  [2, 24, 28, 6, 3, [3, 5], 1, 'same'],
  [1, 32, 32, 2, 7, [5, 5], 1, 'same'],
  [3, 18, 17, 9, 11, [2, 2], 1, 'same'],
];

const label = ([n, h, w, c, o, k, s, pad]: ConvCase) => `x[${n},${h},${w},${c}] k${k.join('x')} s${s} ${pad} -> ${o}`;

/** Inputs of one case as plain data, shared by both backends. */
function convData([n, h, w, c, o, k, s, pad]: ConvCase, seed: number) {
  const xShape: [number, number, number, number] = [n, h, w, c];
  const filterShape: [number, number, number, number] = [k[0], k[1], c, o];
  const dyShape = tf.backend_util.computeConv2DInfo(xShape, filterShape, s, 1, pad).outShape;
  const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
  return {
    xShape,
    filterShape,
    dyShape,
    pad,
    s,
    x: normal(size(xShape), seed),
    dy: normal(size(dyShape), seed + 1),
    filter: normal(size(filterShape), seed + 2),
  };
}

const run = (name: string, inputs: Record<string, Tensor>, attrs: object) =>
  tf.engine().runKernel(name, inputs, attrs as never) as Tensor;

function backpropFilter(d: ReturnType<typeof convData>, x = d.x) {
  return () =>
    run(
      'Conv2DBackpropFilter',
      { x: tf.tensor4d(x, d.xShape), dy: tf.tensor4d(d.dy, d.dyShape) },
      { strides: d.s, pad: d.pad, dataFormat: 'NHWC', filterShape: d.filterShape },
    );
}

function backpropInput(d: ReturnType<typeof convData>, filter = d.filter) {
  return () =>
    run(
      'Conv2DBackpropInput',
      { dy: tf.tensor4d(d.dy, d.dyShape), filter: tf.tensor4d(filter, d.filterShape) },
      { strides: d.s, pad: d.pad, dataFormat: 'NHWC', inputShape: d.xShape },
    );
}

describe('wasm Conv2DBackpropFilter matches the cpu backend', () => {
  it.each(convCases.map((c, i) => [label(c), c, i] as const))('%s', (_, c, i) => {
    const d = convData(c, 100 + i);
    const ours = on(tf, 'wasm', backpropFilter(d));
    expect(relError(ours, on(tf, 'cpu', backpropFilter(d)))).toBeLessThan(TOLERANCE);
    // Negative control: a reference computed from a 1%-perturbed input must be told apart.
    expect(relError(ours, on(tf, 'cpu', backpropFilter(d, perturbed(d.x, i))))).toBeGreaterThan(TOLERANCE);
  });
});

describe('wasm Conv2DBackpropFilter split into blocks of filter taps (large layers)', () => {
  it.each(convCases.map((c, i) => [label(c), c, i] as const))('%s', (_, c, i) => {
    const d = convData(c, 300 + i);
    const attrs = { strides: d.s, pad: d.pad, dataFormat: 'NHWC', filterShape: d.filterShape } as const;
    const blocked = on(tf, 'wasm', () => {
      const [x, dy] = [tf.tensor4d(d.x, d.xShape), tf.tensor4d(d.dy, d.dyShape)];
      // A 1-float budget: one filter tap per block, the most splits there can be.
      const out = conv2dBackpropFilter(tf, tf.backend() as unknown as WasmBackend, x, dy, attrs, 1);
      return tf.engine().makeTensorFromTensorInfo(out);
    });
    expect(relError(blocked, on(tf, 'cpu', backpropFilter(d)))).toBeLessThan(TOLERANCE);
    expect(relError(blocked, on(tf, 'cpu', backpropFilter(d, perturbed(d.x, i))))).toBeGreaterThan(TOLERANCE);
  });
});

describe('wasm Conv2DBackpropInput matches the cpu backend', () => {
  it.each(convCases.map((c, i) => [label(c), c, i] as const))('%s', (_, c, i) => {
    const d = convData(c, 200 + i);
    const ours = on(tf, 'wasm', backpropInput(d));
    expect(relError(ours, on(tf, 'cpu', backpropInput(d)))).toBeLessThan(TOLERANCE);
    expect(relError(ours, on(tf, 'cpu', backpropInput(d, perturbed(d.filter, i))))).toBeGreaterThan(TOLERANCE);
  });

  it.each(convCases.map((c) => [label(c), c] as const))(
    '%s takes a fast path, not the built-in scalar loop',
    (_, c) => {
      const d = convData(c, 1);
      tf.setBackend('wasm');
      const [dy, filter] = [tf.tensor4d(d.dy, d.dyShape), tf.tensor4d(d.filter, d.filterShape)];
      const backend = tf.backend() as unknown as WasmBackend;
      const out = conv2dBackpropInput(tf, backend, dy, filter, {
        strides: d.s,
        pad: d.pad,
        dataFormat: 'NHWC',
        inputShape: d.xShape,
      });
      expect(out?.shape).toEqual(d.xShape);
      if (out) backend.disposeData(out.dataId);
      tf.dispose([dy, filter]);
    },
  );
});

describe('wasm conv2dTranspose (forward and both gradients) matches the cpu backend', () => {
  // [batch, height, width, in channels, out channels, kernel, stride, padding]
  const cases: [number, number, number, number, number, number, number, Pad][] = [
    [2, 4, 5, 3, 6, 2, 2, 'same'],
    [1, 3, 3, 8, 2, 2, 2, 'valid'],
    [3, 5, 4, 17, 1, 2, 2, 'same'],
    [2, 4, 4, 4, 5, 3, 2, 'same'],
  ];
  it.each(cases)('x[%i,%i,%i,%i] -> %i channels, k%i s%i %s', (n, h, w, c, o, k, s, pad) => {
    const x = normal(n * h * w * c, 7);
    const filter = normal(k * k * o * c, 8);
    const up = normal(n * h * s * w * s * o, 9);
    const f = (xs: Float32Array) => () => {
      const xt = tf.tensor4d(xs, [n, h, w, c]);
      const ft = tf.tensor4d(filter, [k, k, o, c]);
      // Forward, then the gradients of a weighted sum so every output element matters.
      const loss = (a: Tensor, b: Tensor) =>
        tf.sum(
          tf.mul(
            tf.conv2dTranspose(a as never, b as never, [n, h * s, w * s, o], s, pad),
            tf.tensor4d(up, [n, h * s, w * s, o]),
          ),
        );
      const [gx, gf] = tf.grads(loss)([xt, ft]);
      return tf.concat([
        tf.conv2dTranspose(xt, ft, [n, h * s, w * s, o], s, pad).flatten(),
        gx!.flatten(),
        gf!.flatten(),
      ]);
    };
    const ours = on(tf, 'wasm', f(x));
    expect(relError(ours, on(tf, 'cpu', f(x)))).toBeLessThan(TOLERANCE);
    expect(relError(ours, on(tf, 'cpu', f(perturbed(x, 3))))).toBeGreaterThan(TOLERANCE);
  });
});

describe('wasm MaxPoolGrad matches the cpu backend, ties included', () => {
  // [batch, height, width, channels, window, stride, padding, values rounded to halves (ties)]
  const cases: [number, number, number, number, number, number, Pad, boolean][] = [
    [2, 8, 8, 3, 2, 2, 'valid', false],
    [2, 8, 8, 3, 2, 2, 'valid', true],
    [1, 9, 7, 17, 2, 2, 'valid', true],
    [3, 7, 7, 2, 3, 2, 'same', true],
    [1, 6, 6, 4, 3, 1, 'same', false],
  ];
  it.each(cases)('x[%i,%i,%i,%i] window %i stride %i %s, ties %s', (n, h, w, c, k, s, pad, ties) => {
    const x = normal(n * h * w * c, 31).map((v) => (ties ? Math.max(0, Math.round(v * 2) / 2) : v));
    const outShape = tf.backend_util.computePool2DInfo([n, h, w, c], k, s, 1, pad).outShape;
    const dy = normal(
      outShape.reduce((a, b) => a * b, 1),
      32,
    );
    const f = (g: Float32Array) => () =>
      tf.grad((t: Tensor) => tf.sum(tf.mul(tf.maxPool(t as never, k, s, pad), tf.tensor(g, outShape))))(
        tf.tensor4d(x, [n, h, w, c]),
      );
    const ours = on(tf, 'wasm', f(dy));
    expect(relError(ours, on(tf, 'cpu', f(dy)))).toBeLessThan(TOLERANCE);
    expect(relError(ours, on(tf, 'cpu', f(perturbed(dy, 4))))).toBeGreaterThan(TOLERANCE);
  });
});

describe('wasm Tile matches the cpu backend', () => {
  const cases: [number[], number[]][] = [
    [
      [1, 1, 1, 5],
      [2, 3, 4, 1],
    ], // the BatchNorm gradient's broadcast
    [
      [2, 3],
      [3, 2],
    ],
    [
      [3, 1, 2],
      [1, 4, 3],
    ],
    [[4], [5]],
    [
      [2, 2, 2, 3],
      [2, 1, 3, 2],
    ],
    [
      [1, 1, 1, 17],
      [3, 7, 9, 1],
    ],
  ];
  it.each(cases)('%j x %j', (shape, reps) => {
    const x = normal(
      shape.reduce((a, b) => a * b, 1),
      11,
    );
    const f = (xs: Float32Array, dtype: 'float32' | 'int32') => () =>
      tf
        .tile(
          tf
            .tensor(xs, shape)
            .mul(dtype === 'int32' ? 100 : 1)
            .cast(dtype),
          reps,
        )
        .cast('float32');
    for (const dtype of ['float32', 'int32'] as const) {
      const ours = on(tf, 'wasm', f(x, dtype));
      expect(relError(ours, on(tf, 'cpu', f(x, dtype)))).toBe(0);
      expect(relError(ours, on(tf, 'cpu', f(perturbed(x, 5), dtype)))).toBeGreaterThan(TOLERANCE);
    }
  });
});

describe('ResizeNearestNeighborGrad (wasm and the fixed cpu kernel) is the transpose of the forward resize', () => {
  // [batch, height, width, channels, out height, out width, alignCorners, halfPixelCenters]
  const cases: [number, number, number, number, number, number, boolean, boolean][] = [
    [2, 8, 8, 3, 16, 16, false, false], // UpSampling2D x2, where the two backends disagreed
    [3, 5, 7, 2, 10, 21, false, false],
    [2, 5, 7, 4, 12, 9, false, false],
    [2, 6, 6, 2, 13, 11, true, false],
    [2, 6, 5, 3, 11, 12, false, true],
    [2, 9, 8, 2, 4, 3, false, true],
  ];
  it.each(cases)('x[%i,%i,%i,%i] -> %ix%i alignCorners %s halfPixelCenters %s', (n, h, w, c, oh, ow, corners, half) => {
    const dy = normal(n * oh * ow * c, 41);
    // Reference from the forward kernel alone: resize an image of pixel numbers to learn which
    // input pixel each output pixel copies, then add each dy pixel into that one.
    const source = on(tf, 'cpu', () =>
      tf.image.resizeNearestNeighbor(
        tf.tensor4d(
          Float32Array.from({ length: n * h * w }, (_, i) => i),
          [n, h, w, 1],
        ),
        [oh, ow],
        corners,
        half,
      ),
    );
    const reference = (g: Float32Array) => {
      const dx = new Float32Array(n * h * w * c);
      source.forEach((from, o) => {
        for (let ch = 0; ch < c; ch++) dx[from * c + ch] = dx[from * c + ch]! + g[o * c + ch]!;
      });
      return dx;
    };
    const f = () =>
      tf.grad((t: Tensor) =>
        tf.sum(
          tf.mul(tf.image.resizeNearestNeighbor(t as never, [oh, ow], corners, half), tf.tensor4d(dy, [n, oh, ow, c])),
        ),
      )(tf.tensor4d(new Float32Array(n * h * w * c), [n, h, w, c]));
    for (const backend of ['wasm', 'cpu'] as const) {
      const ours = on(tf, backend, f);
      expect(relError(ours, reference(dy))).toBeLessThan(1e-6);
      expect(relError(ours, reference(perturbed(dy, 6)))).toBeGreaterThan(TOLERANCE);
    }
  });

  it('gives each input pixel the sum of its 2x2 block of dy for a 2x upsampling (by hand)', () => {
    const [n, h, w, c] = [2, 3, 4, 2];
    const dy = normal(n * 2 * h * 2 * w * c, 42);
    const dx = on(tf, 'wasm', () =>
      tf.grad((t: Tensor) =>
        tf.sum(
          tf.mul(tf.image.resizeNearestNeighbor(t as never, [2 * h, 2 * w]), tf.tensor4d(dy, [n, 2 * h, 2 * w, c])),
        ),
      )(tf.zeros([n, h, w, c])),
    );
    const at = (b: number, y: number, x: number, ch: number) => dy[((b * 2 * h + y) * 2 * w + x) * c + ch]!;
    for (let b = 0; b < n; b++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++)
          for (let ch = 0; ch < c; ch++) {
            const block =
              at(b, 2 * y, 2 * x, ch) +
              at(b, 2 * y, 2 * x + 1, ch) +
              at(b, 2 * y + 1, 2 * x, ch) +
              at(b, 2 * y + 1, 2 * x + 1, ch);
            expect(dx[((b * h + y) * w + x) * c + ch]).toBeCloseTo(block, 5);
          }
  });
});

describe('registerWasmTrainingKernels', () => {
  it('is idempotent: a second call keeps the registered kernels', () => {
    const before = wasmTrainingKernels.map((k) => tf.getKernel(k, 'wasm')?.kernelFunc);
    registerWasmTrainingKernels(tf);
    expect(wasmTrainingKernels.map((k) => tf.getKernel(k, 'wasm')?.kernelFunc)).toEqual(before);
    expect(before.every((f) => f !== undefined)).toBe(true);
  });
});
