import type { GradConfig, Tensor } from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Tf } from '../../../src/runtime/backend/index.js';
import {
  CONV3D_BACKPROP_INPUT,
  isOurConv3dTransposeGrad,
  registerConv3dTransposeGrad,
  registerGrad3d,
} from '../../../src/runtime/backend/grad3d.js';
import { normal, relError, wasmTf } from '../wasm/helpers.js';
import * as R from './reference3d.js';

/**
 * The registered gradient of Conv3DBackpropInputV2 (conv3dTranspose's kernel) against central
 * differences of a float64 JavaScript conv3dTranspose (reference3d.ts, itself checked against
 * tfjs' forward pass here), for both of its inputs, on the cpu and wasm backends.
 */
const TOLERANCE = 1e-4;
const verbose = process.env.GRAD3D_VERBOSE === '1';

let tf: Tf;
beforeAll(async () => {
  tf = await wasmTf();
});

/** [output (= conv3dTranspose result) shape, input channels of the transpose, kernel, strides, padding] */
type Case = [R.Shape5, number, number | R.Triple, number | R.Triple, R.Pad];

const cases: Case[] = [
  [[1, 5, 7, 6, 2], 3, 2, 2, 'same'],
  [[2, 5, 5, 7, 2], 3, 3, 2, 'same'],
  [[1, 7, 6, 5, 3], 2, 2, 2, 'valid'],
  [[1, 6, 8, 8, 2], 4, 2, 2, 'valid'],
  [[2, 5, 6, 5, 2], 2, 3, 1, 'same'],
  [[1, 7, 5, 5, 2], 3, 3, 1, 'valid'],
  [[2, 5, 5, 5, 1], 2, 3, 2, 'valid'],
  [[1, 4, 6, 5, 2], 3, 2, 1, 'same'],
  [[2, 5, 7, 6, 2], 2, [3, 2, 3], [2, 1, 2], 'same'],
];

const label = ([xs, cin, k, s, pad]: Case) => `out[${xs}] cin ${cin} k${k} s${s} ${pad}`;

function setup([xs, cin, k0, s0, pad]: Case, seed: number) {
  const k = R.triple(k0);
  const s = R.triple(s0);
  const filterShape: R.Shape5 = [...k, xs[4], cin];
  const { out } = R.geometry(xs, k, s, pad);
  const dyShape: R.Shape5 = [xs[0], ...out, cin];
  return {
    xs,
    k,
    s,
    pad,
    filterShape,
    dyShape,
    dy: normal(R.size(dyShape), seed),
    filter: normal(R.size(filterShape), seed + 1),
    // The loss is sum(w * conv3dTranspose(dy, filter)): w is the gradient flowing in.
    w: normal(R.size(xs), seed + 2),
  };
}
type Setup = ReturnType<typeof setup>;

/** The float64 loss. */
function loss64(d: Setup, dy: ArrayLike<number>, filter: ArrayLike<number>): number {
  const y = R.conv3dBackpropInput(dy, filter, d.filterShape, d.xs, d.s, d.pad);
  let sum = 0;
  for (let i = 0; i < y.length; i++) sum += y[i]! * d.w[i]!;
  return sum;
}

/** Central differences of loss64 in every element of dy and of the filter (float64, h = 1e-3). */
function numericGrads(d: Setup): { dy: Float64Array; filter: Float64Array } {
  const h = 1e-3;
  const dy = Float64Array.from(d.dy);
  const filter = Float64Array.from(d.filter);
  const diff = (v: Float64Array) => {
    const g = new Float64Array(v.length);
    for (let i = 0; i < v.length; i++) {
      const v0 = v[i]!;
      v[i] = v0 + h;
      const up = loss64(d, dy, filter);
      v[i] = v0 - h;
      const down = loss64(d, dy, filter);
      v[i] = v0;
      g[i] = (up - down) / (2 * h);
    }
    return g;
  };
  return { dy: diff(dy), filter: diff(filter) };
}

/** tfjs' gradients of the same loss on one backend (through the registered gradient). */
function tfGrads(d: Setup, backend: 'cpu' | 'wasm'): { dy: Float32Array; filter: Float32Array; y: Float32Array } {
  const previous = tf.getBackend();
  tf.setBackend(backend);
  try {
    return tf.tidy(() => {
      const w = tf.tensor(d.w, d.xs);
      const f = (dy: Tensor, filter: Tensor) =>
        tf.sum(tf.mul(tf.conv3dTranspose(dy as never, filter as never, d.xs, d.s, d.pad), w));
      const [gDy, gFilter] = tf.grads(f as never)([tf.tensor(d.dy, d.dyShape), tf.tensor(d.filter, d.filterShape)]);
      const y = tf.conv3dTranspose(
        tf.tensor(d.dy, d.dyShape) as never,
        tf.tensor(d.filter, d.filterShape) as never,
        d.xs,
        d.s,
        d.pad,
      );
      return {
        dy: gDy!.dataSync() as Float32Array,
        filter: gFilter!.dataSync() as Float32Array,
        y: (y as Tensor).dataSync() as Float32Array,
      };
    });
  } finally {
    tf.setBackend(previous);
  }
}

const numeric = new Map<number, ReturnType<typeof numericGrads>>();
const numericFor = (i: number, d: Setup) => numeric.get(i) ?? numeric.set(i, numericGrads(d)).get(i)!;
const f32 = (a: Float64Array) => Float32Array.from(a);

describe.each(['cpu', 'wasm'] as const)('conv3dTranspose gradient on %s matches central differences', (backend) => {
  it.each(cases.map((c, i) => [label(c), c, i] as const))('%s', (_, c, i) => {
    const d = setup(c, 10 * i + 1);
    const num = numericFor(i, d);
    const ours = tfGrads(d, backend);
    // The function differentiated numerically is tfjs' forward pass.
    expect(relError(ours.y, f32(R.conv3dBackpropInput(d.dy, d.filter, d.filterShape, d.xs, d.s, d.pad)))).toBeLessThan(
      1e-5,
    );
    const eDy = relError(ours.dy, f32(num.dy));
    const eFilter = relError(ours.filter, f32(num.filter));
    if (verbose) console.log(`${backend} ${label(c)}: dy ${eDy.toExponential(2)} filter ${eFilter.toExponential(2)}`);
    expect(eDy).toBeLessThan(TOLERANCE);
    expect(eFilter).toBeLessThan(TOLERANCE);
  });
});

describe('negative controls: wrong gradients fail the same comparison', () => {
  /** Registers `wrong` as the gradient while f runs, then puts ours back. */
  function withGradient<T>(wrong: GradConfig, f: () => T): T {
    const ours = tf.getGradient(CONV3D_BACKPROP_INPUT)!;
    tf.registerGradient(wrong);
    try {
      return f();
    } finally {
      tf.registerGradient(ours);
    }
  }
  const flipped = (scale: number): GradConfig => ({
    kernelName: CONV3D_BACKPROP_INPUT,
    inputsToSave: ['dy', 'filter'],
    gradFunc: (ddx, saved, attrs) => {
      const [dy, filter] = saved as [Tensor, Tensor];
      const { strides, pad } = attrs as unknown as { strides: R.Triple; pad: R.Pad };
      // The classic slip: the spatially flipped filter (right for a full convolution, wrong here).
      const flip = (t: Tensor) => tf.reverse(t, [0, 1, 2]);
      return {
        dy: () => tf.mul(tf.conv3d(ddx as never, flip(filter) as never, strides, pad), scale),
        filter: () =>
          tf.mul(
            flip(
              tf.engine().runKernel('Conv3DBackpropFilterV2', { x: ddx as Tensor, dy }, {
                strides,
                pad,
                filterShape: filter.shape,
              } as never) as Tensor,
            ),
            scale,
          ),
      };
    },
  });
  const scaled = (scale: number): GradConfig => ({
    kernelName: CONV3D_BACKPROP_INPUT,
    inputsToSave: ['dy', 'filter'],
    // Right but for a dropped factor: a 0.1% error must already fail.
    gradFunc: (ddx, saved, attrs) => {
      const [dy, filter] = saved as [Tensor, Tensor];
      const { strides, pad } = attrs as unknown as { strides: R.Triple; pad: R.Pad };
      return {
        dy: () => tf.mul(tf.conv3d(ddx as never, filter as never, strides, pad), scale),
        filter: () =>
          tf.mul(
            tf.engine().runKernel('Conv3DBackpropFilterV2', { x: ddx as Tensor, dy }, {
              strides,
              pad,
              filterShape: filter.shape,
            } as never) as Tensor,
            scale,
          ),
      };
    },
  });

  it.each(['cpu', 'wasm'] as const)('a flipped filter fails (%s)', (backend) => {
    for (const i of [1, 4, 8]) {
      const d = setup(cases[i]!, 10 * i + 1);
      const num = numericFor(i, d);
      const wrong = withGradient(flipped(1), () => tfGrads(d, backend));
      expect(relError(wrong.dy, f32(num.dy))).toBeGreaterThan(TOLERANCE);
      expect(relError(wrong.filter, f32(num.filter))).toBeGreaterThan(TOLERANCE);
    }
  });

  it.each(['cpu', 'wasm'] as const)('a 0.1%% scale error fails (%s)', (backend) => {
    const d = setup(cases[0]!, 1);
    const num = numericFor(0, d);
    const wrong = withGradient(scaled(0.999), () => tfGrads(d, backend));
    expect(relError(wrong.dy, f32(num.dy))).toBeGreaterThan(TOLERANCE);
    expect(relError(wrong.filter, f32(num.filter))).toBeGreaterThan(TOLERANCE);
    // ...while the same harness with the factor put back passes (the control is not vacuous).
    const right = withGradient(scaled(1), () => tfGrads(d, backend));
    expect(relError(right.dy, f32(num.dy))).toBeLessThan(TOLERANCE);
  });
});

describe('registration', () => {
  it('is installed by selectEngine and idempotent', () => {
    expect(isOurConv3dTransposeGrad(tf)).toBe(true);
    const before = tf.getGradient(CONV3D_BACKPROP_INPUT);
    registerGrad3d(tf);
    registerConv3dTransposeGrad(tf);
    expect(tf.getGradient(CONV3D_BACKPROP_INPUT)).toBe(before);
  });

  it('never replaces a gradient that is already there (one tfjs might ship)', () => {
    const ours = tf.getGradient(CONV3D_BACKPROP_INPUT)!;
    const shipped: GradConfig = {
      kernelName: CONV3D_BACKPROP_INPUT,
      inputsToSave: ['dy', 'filter'],
      gradFunc: ours.gradFunc,
    };
    tf.registerGradient(shipped);
    try {
      registerConv3dTransposeGrad(tf);
      expect(tf.getGradient(CONV3D_BACKPROP_INPUT)).toBe(shipped);
      expect(isOurConv3dTransposeGrad(tf)).toBe(false);
    } finally {
      tf.registerGradient(ours);
    }
  });
});
