import type { Tensor, TensorInfo } from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Tf } from '../../../src/runtime/backend/index.js';
import { isKernel3d, registerGrad3d } from '../../../src/runtime/backend/grad3d.js';
import {
  conv3dBackpropFilterFast,
  conv3dBackpropInputFast,
  conv3dFast,
} from '../../../src/runtime/backend/wasm/conv3d-fast.js';
import type { WasmBackend } from '../../../src/runtime/backend/wasm/heap.js';
import { mergeSliceAxes } from '../../../src/runtime/backend/wasm/slice3d.js';
import { normal, on, perturbed, relError, wasmFootprint, wasmTf } from '../wasm/helpers.js';
import * as R from './reference3d.js';

/**
 * The fast wasm Conv3D, Conv3DBackpropFilterV2 and Conv3DBackpropInputV2 (wasm/conv3d-fast.ts:
 * 2D convolutions over depth-stacked slices on XNNPACK) against the float64 references of
 * reference3d.ts and against the cpu backend, over strides, kernels, paddings, batches, odd sizes
 * and channel counts; each case also checks that the fast path (not a fallback) computed it.
 */
const TOLERANCE = 1e-4;
/** float32 results against a float64 reference. */
const EXACT = 1e-5;

let tf: Tf;
let backend: WasmBackend;
beforeAll(async () => {
  tf = await wasmTf();
  backend = tf.findBackend('wasm') as unknown as WasmBackend;
});

const run = (name: string, inputs: Record<string, Tensor>, attrs: object) =>
  tf.engine().runKernel(name, inputs, attrs as never) as Tensor;
const f32 = (a: ArrayLike<number>) => Float32Array.from(a);

/** [x shape, filter shape, strides, padding] */
type ConvCase = [R.Shape5, R.Shape5, number | R.Triple, R.Pad];
const cases: ConvCase[] = [
  [[1, 5, 6, 7, 3], [3, 3, 3, 3, 8], 1, 'same'],
  [[2, 5, 7, 6, 1], [3, 3, 3, 1, 8], 1, 'valid'],
  [[1, 7, 6, 5, 8], [3, 3, 3, 8, 17], 2, 'same'],
  [[1, 7, 9, 5, 8], [3, 3, 3, 8, 3], 2, 'valid'],
  [[2, 6, 8, 8, 8], [2, 2, 2, 8, 3], 2, 'same'],
  [[1, 7, 7, 5, 17], [2, 2, 2, 17, 8], 2, 'same'],
  [[1, 8, 8, 8, 8], [2, 2, 2, 8, 8], 2, 'valid'],
  [[1, 6, 6, 6, 1], [2, 2, 2, 1, 8], 1, 'same'],
  [[2, 6, 5, 7, 17], [2, 2, 2, 17, 3], 1, 'valid'],
  [[1, 5, 7, 6, 3], [1, 3, 3, 3, 8], 1, 'same'],
  [[1, 5, 7, 6, 8], [1, 3, 3, 8, 3], [1, 2, 2], 'same'],
  [[2, 5, 7, 6, 3], [1, 1, 1, 3, 17], 1, 'valid'],
  [[1, 7, 5, 7, 3], [1, 1, 1, 3, 8], 2, 'same'],
  [[1, 5, 6, 7, 3], [3, 1, 3, 3, 8], [2, 1, 2], 'same'],
  [[1, 9, 8, 7, 3], [4, 4, 4, 3, 2], 2, 'same'],
  [[2, 7, 6, 9, 1], [3, 3, 3, 1, 1], [1, 2, 1], 'valid'],
  [[1, 4, 4, 4, 17], [3, 3, 3, 17, 17], 1, 'same'],
];
const label = ([xs, fs, s, pad]: ConvCase) => `x[${xs}] f[${fs}] s${s} ${pad}`;

function data([xs, fs, s0, pad]: ConvCase, seed: number) {
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

/** wasm within EXACT of the reference and within TOLERANCE of cpu; returns [wasm, error vs reference]. */
function check(f: () => Tensor, reference: ArrayLike<number>): Float32Array {
  const wasm = on(tf, 'wasm', f);
  const cpu = on(tf, 'cpu', f);
  expect(relError(wasm, f32(reference))).toBeLessThan(EXACT);
  expect(relError(wasm, cpu)).toBeLessThan(TOLERANCE);
  return wasm;
}

/** Whether the fast function handles these tensors (it returns a result; freed here). */
function fastCovers(
  make: (t: (values: Float32Array, shape: number[]) => TensorInfo) => TensorInfo | undefined,
): boolean {
  const previous = tf.getBackend();
  tf.setBackend('wasm');
  const made: Tensor[] = [];
  try {
    const out = make((values, shape) => {
      const t = tf.tensor(values, shape);
      made.push(t);
      return t;
    });
    if (out) backend.disposeData(out.dataId);
    return out !== undefined;
  } finally {
    tf.dispose(made);
    tf.setBackend(previous);
  }
}

describe('fast wasm Conv3D kernels against float64 references and the cpu backend', () => {
  it('are registered on wasm, idempotently', () => {
    for (const name of ['Conv3D', 'Conv3DBackpropInputV2', 'Conv3DBackpropFilterV2'])
      expect(isKernel3d(tf, name, 'wasm')).toBe(true);
    expect(isKernel3d(tf, 'Conv3D', 'cpu')).toBe(false);
    const before = tf.getKernel('Conv3D', 'wasm')!.kernelFunc;
    registerGrad3d(tf);
    expect(tf.getKernel('Conv3D', 'wasm')!.kernelFunc).toBe(before);
  });

  it.each(cases.map((c, i) => [label(c), c, i] as const))('%s', (_, c, i) => {
    const d = data(c, 1000 + 11 * i);
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

    expect(
      fastCovers((t) => conv3dFast(tf, backend, t(d.x, d.xs), t(d.filter, d.fs), { strides: d.s, pad: d.pad })),
    ).toBe(true);
    expect(
      fastCovers((t) =>
        conv3dBackpropFilterFast(tf, backend, t(d.x, d.xs), t(d.dy, d.ys), {
          strides: d.s,
          pad: d.pad,
          filterShape: d.fs,
        }),
      ),
    ).toBe(true);
    expect(
      fastCovers((t) =>
        conv3dBackpropInputFast(tf, backend, t(d.dy, d.ys), t(d.filter, d.fs), {
          strides: d.s,
          pad: d.pad,
          inputShape: d.xs,
        }),
      ),
    ).toBe(true);

    const y = check(conv(), R.conv3d(d.x, d.xs, d.filter, d.fs, d.s, d.pad).y);
    const df = check(bFilter(), R.conv3dBackpropFilter(d.x, d.xs, d.dy, d.fs, d.s, d.pad));
    const dx = check(bInput(), R.conv3dBackpropInput(d.dy, d.filter, d.fs, d.xs, d.s, d.pad));
    // Negative controls: results from 1%-perturbed inputs are told apart.
    expect(relError(y, on(tf, 'cpu', conv(perturbed(d.x, i))))).toBeGreaterThan(TOLERANCE);
    expect(relError(df, on(tf, 'cpu', bFilter(perturbed(d.x, i))))).toBeGreaterThan(TOLERANCE);
    expect(relError(dx, on(tf, 'cpu', bInput(perturbed(d.filter, i))))).toBeGreaterThan(TOLERANCE);
  });

  it('negative control: an unflipped filter in the input gradient is told apart', () => {
    const d = data([[1, 5, 6, 7, 3], [3, 3, 3, 3, 8], 1, 'same'], 77);
    const reference = f32(R.conv3dBackpropInput(d.dy, d.filter, d.fs, d.xs, d.s, d.pad));
    // The forward conv of dy with the merely in/out-swapped filter (no spatial flip): a plausible bug.
    const swapped = new Float32Array(d.filter.length);
    const [kd, kh, kw, ci, co] = d.fs;
    for (let t = 0; t < kd * kh * kw; t++)
      for (let c = 0; c < ci; c++)
        for (let m = 0; m < co; m++) swapped[t * ci * co + m * ci + c] = d.filter[t * ci * co + c * co + m]!;
    const wrong = on(tf, 'wasm', () =>
      tf.conv3d(tf.tensor(d.dy, d.ys) as never, tf.tensor(swapped, [kd, kh, kw, co, ci]) as never, 1, 'same'),
    );
    expect(relError(wrong, reference)).toBeGreaterThan(TOLERANCE);
  });

  it('falls back for dilations above 1 (built-in Conv3D) and still agrees with cpu', () => {
    const d = data([[1, 7, 7, 7, 3], [3, 3, 3, 3, 4], 1, 'same'], 91);
    expect(
      fastCovers((t) =>
        conv3dFast(tf, backend, t(d.x, d.xs), t(d.filter, d.fs), { strides: 1, pad: 'same', dilations: 2 }),
      ),
    ).toBe(false);
    const f = () => tf.conv3d(tf.tensor(d.x, d.xs) as never, tf.tensor(d.filter, d.fs) as never, 1, 'same', 'NDHWC', 2);
    expect(relError(on(tf, 'wasm', f), on(tf, 'cpu', f))).toBeLessThan(TOLERANCE);
  });

  it('falls back where tfjs pads negatively (kernel below stride, same) and agrees with cpu there', () => {
    // tfjs' computeConv3DInfo gives a top padding of -1 for height 6, kernel 1, stride 2, 'same'
    // (TensorFlow clamps it to 0): the fast kernels leave such cases to the kernels they replace.
    const d = data([[1, 7, 6, 5, 3], [1, 1, 1, 3, 8], 2, 'same'], 93);
    expect(
      fastCovers((t) => conv3dFast(tf, backend, t(d.x, d.xs), t(d.filter, d.fs), { strides: d.s, pad: d.pad })),
    ).toBe(false);
    expect(
      fastCovers((t) =>
        conv3dBackpropInputFast(tf, backend, t(d.dy, d.ys), t(d.filter, d.fs), {
          strides: d.s,
          pad: d.pad,
          inputShape: d.xs,
        }),
      ),
    ).toBe(false);
    expect(
      fastCovers((t) =>
        conv3dBackpropFilterFast(tf, backend, t(d.x, d.xs), t(d.dy, d.ys), {
          strides: d.s,
          pad: d.pad,
          filterShape: d.fs,
        }),
      ),
    ).toBe(false);
    const conv = () => tf.conv3d(tf.tensor(d.x, d.xs) as never, tf.tensor(d.filter, d.fs) as never, d.s, d.pad);
    const bInput = () =>
      run(
        'Conv3DBackpropInputV2',
        { dy: tf.tensor(d.dy, d.ys), filter: tf.tensor(d.filter, d.fs) },
        { strides: d.s, pad: d.pad, inputShape: d.xs },
      );
    expect(relError(on(tf, 'wasm', conv), on(tf, 'cpu', conv))).toBeLessThan(TOLERANCE);
    expect(relError(on(tf, 'wasm', bInput), on(tf, 'cpu', bInput))).toBeLessThan(TOLERANCE);
  });

  it('tf.grads through conv3d and conv3dTranspose agree with the references', () => {
    const d = data([[2, 6, 8, 6, 3], [2, 2, 2, 3, 8], 2, 'same'], 7);
    const f = () => {
      const [gx, gf] = tf.grads((x: Tensor, w: Tensor) =>
        tf.sum(tf.mul(tf.conv3d(x as never, w as never, d.s, d.pad), tf.tensor(d.dy, d.ys))),
      )([tf.tensor(d.x, d.xs), tf.tensor(d.filter, d.fs)]);
      const up = tf.conv3dTranspose(
        tf.tensor(d.dy, d.ys) as never,
        tf.tensor(d.filter, d.fs) as never,
        d.xs as never,
        d.s,
        d.pad,
      );
      return tf.concat([tf.reshape(gx!, [-1]), tf.reshape(gf!, [-1]), tf.reshape(up, [-1])]);
    };
    const dx = R.conv3dBackpropInput(d.dy, d.filter, d.fs, d.xs, d.s, d.pad);
    check(f, [...dx, ...R.conv3dBackpropFilter(d.x, d.xs, d.dy, d.fs, d.s, d.pad), ...dx]);
  });

  it('leaks nothing: tensors, wasm blocks and heap stay flat over repeated calls', () => {
    const c: ConvCase[] = [
      [[1, 6, 8, 8, 8], [3, 3, 3, 8, 8], 1, 'same'],
      [[1, 6, 8, 8, 8], [2, 2, 2, 8, 4], 2, 'same'],
      [[1, 5, 7, 6, 3], [3, 3, 3, 3, 2], 2, 'valid'],
    ];
    const previous = tf.getBackend();
    tf.setBackend('wasm');
    try {
      const inputs = c.map((k, i) => {
        const d = data(k, 300 + i);
        return { d, x: tf.tensor(d.x, d.xs), f: tf.tensor(d.filter, d.fs), dy: tf.tensor(d.dy, d.ys) };
      });
      const once = () => {
        for (const { d, x, f, dy } of inputs) {
          tf.dispose([
            tf.conv3d(x as never, f as never, d.s, d.pad),
            run('Conv3DBackpropFilterV2', { x, dy }, { strides: d.s, pad: d.pad, filterShape: d.fs }),
            run('Conv3DBackpropInputV2', { dy, filter: f }, { strides: d.s, pad: d.pad, inputShape: d.xs }),
          ]);
        }
      };
      once();
      const tensors = tf.memory().numTensors;
      const start = wasmFootprint(tf);
      for (let i = 0; i < 20; i++) {
        once();
        expect(tf.memory().numTensors).toBe(tensors);
        expect(wasmFootprint(tf).dataIds).toBe(start.dataIds);
      }
      expect(wasmFootprint(tf).heapBytes).toBe(start.heapBytes);
      tf.dispose(inputs.flatMap((t) => [t.x, t.f, t.dy]));
    } finally {
      tf.setBackend(previous);
    }
  });
});

describe('rank-5 Slice and SplitV on wasm (heap copies) against the cpu backend', () => {
  const xs = [2, 5, 6, 7, 10];
  const x = normal(R.size(xs), 4242);
  /** [begin, size] */
  const slices: [number[], number[]][] = [
    [
      [0, 0, 0, 0, 3],
      [2, 5, 6, 7, 4],
    ],
    [
      [1, 0, 0, 0, 0],
      [1, 5, 6, 7, 10],
    ],
    [
      [0, 1, 2, 3, 0],
      [2, 3, 4, 4, 10],
    ],
    [
      [1, 4, 0, 6, 9],
      [1, 1, 6, 1, 1],
    ],
    [
      [0, 2, 0, 0, 0],
      [-1, -1, 3, -1, 5],
    ],
    [
      [1, 1, 1, 1, 1],
      [1, 4, 5, 6, 9],
    ],
    [
      [0, 0, 0, 0, 0],
      [2, 5, 6, 7, 10],
    ],
  ];
  it.each(slices)('begin %j size %j', (begin, size) => {
    const f =
      (values = x) =>
      () =>
        tf.slice(tf.tensor(values, xs), begin, size);
    const wasm = on(tf, 'wasm', f());
    expect(wasm).toEqual(on(tf, 'cpu', f()));
    const ints = () =>
      tf.cast(
        tf.slice(
          tf.tensor(
            Int32Array.from(x, (v) => Math.round(v * 1000)),
            xs,
            'int32',
          ),
          begin,
          size,
        ),
        'float32',
      );
    expect(on(tf, 'wasm', ints)).toEqual(f32(on(tf, 'cpu', ints)));
    // Negative control: a slice one step off along the last sliced axis differs.
    const shifted = () =>
      tf.slice(
        tf.tensor(x, xs),
        begin.map((b, i) => (i === 4 && b > 0 ? b - 1 : b)),
        size,
      );
    if (begin[4]! > 0) expect(relError(wasm, on(tf, 'cpu', shifted))).toBeGreaterThan(TOLERANCE);
  });

  it('merges axes only where the layout allows', () => {
    expect(mergeSliceAxes([1, 32, 64, 64, 16], [0, 0, 0, 0, 8], [1, 32, 64, 64, 8])).toEqual({
      shape: [131072, 16],
      begin: [0, 8],
      size: [131072, 8],
    });
    expect(mergeSliceAxes([2, 3, 4], [1, 1, 0], [1, 2, 4])).toEqual({ shape: [24], begin: [16], size: [8] });
    expect(mergeSliceAxes([2, 3, 4], [0, 1, 1], [2, 2, 2])).toEqual({
      shape: [2, 3, 4],
      begin: [0, 1, 1],
      size: [2, 2, 2],
    });
  });

  it('SplitV and the concat gradient (rank 5, rank 6)', () => {
    for (const [shape, sizes, axis] of [
      [xs, [3, 7], 4],
      [xs, [2, -1, 1], 2],
      [[2, 3, 2, 2, 2, 4], [1, 3], 5],
      [xs, [1, 1], 0],
    ] as [number[], number[], number][]) {
      const v = normal(R.size(shape), 7 + axis);
      const f = () =>
        tf.concat(tf.split(tf.tensor(v, shape), sizes, axis).map((t, i) => tf.mul(tf.reshape(t, [-1]), i + 1)));
      expect(on(tf, 'wasm', f)).toEqual(on(tf, 'cpu', f));
    }
    const a = normal(R.size(xs), 1);
    const b = normal(2 * 5 * 6 * 7 * 3, 2);
    const w = normal(2 * 5 * 6 * 7 * 13, 3);
    const g = () => {
      const [ga, gb] = tf.grads((p: Tensor, q: Tensor) =>
        tf.sum(tf.mul(tf.concat([p, q], 4), tf.tensor(w, [2, 5, 6, 7, 13]))),
      )([tf.tensor(a, xs), tf.tensor(b, [2, 5, 6, 7, 3])]);
      return tf.concat([tf.reshape(ga!, [-1]), tf.reshape(gb!, [-1])]);
    };
    expect(on(tf, 'wasm', g)).toEqual(on(tf, 'cpu', g));
  });

  it('leaves lower ranks to the built-in Slice, and leaks nothing', () => {
    const f = () => tf.slice(tf.tensor(x, [10, 6, 7, 10]), [1, 2, 3, 4], [5, 3, 2, 6]);
    expect(on(tf, 'wasm', f)).toEqual(on(tf, 'cpu', f));
    const previous = tf.getBackend();
    tf.setBackend('wasm');
    try {
      const t = tf.tensor(x, xs);
      const once = () => tf.dispose([tf.slice(t, [0, 1, 0, 0, 2], [2, 3, 6, 7, 5]), ...tf.split(t, [4, 6], 4)]);
      once();
      const tensors = tf.memory().numTensors;
      const start = wasmFootprint(tf);
      for (let i = 0; i < 20; i++) once();
      expect(tf.memory().numTensors).toBe(tensors);
      expect(wasmFootprint(tf)).toEqual(start);
      t.dispose();
    } finally {
      tf.setBackend(previous);
    }
  });
});
