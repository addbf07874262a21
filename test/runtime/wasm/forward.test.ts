import { beforeAll, describe, expect, it } from 'vitest';
import type { Tf } from '../../../src/runtime/backend/index.js';
import { normal, on, perturbed, relError, wasmFootprint, wasmTf } from './helpers.js';

const TOLERANCE = 1e-4;

let tf: Tf;
beforeAll(async () => {
  tf = await wasmTf();
});

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

describe('wasm FusedBatchNorm (forward) matches the cpu backend', () => {
  // [x shape, statistics shape, with scale, with offset]
  const cases: [number[], number[], boolean, boolean][] = [
    [[2, 5, 6, 3], [3], true, true],
    [[3, 7, 5, 17], [17], true, true],
    [[40, 300, 2, 5], [5], true, true], // more rows than one cache block
    [[1, 4, 4, 8], [1, 1, 1, 8], true, true],
    [[2, 3, 4, 6], [6], false, true],
    [[2, 3, 4, 6], [6], true, false],
    [[2, 3, 4, 6], [2, 3, 4, 6], true, true], // full-size statistics: the built-in kernel
  ];
  it.each(cases)('x %j, statistics %j, scale %s, offset %s', (shape, statShape, withScale, withOffset) => {
    const x = normal(size(shape), 81).map((v) => v * 2 + 3);
    const n = size(statShape);
    const [mean, variance, scale, offset] = [
      normal(n, 82),
      normal(n, 83).map((v) => v * v + 0.1),
      normal(n, 84),
      normal(n, 85),
    ];
    const f = (xs: Float32Array) => () =>
      tf.batchNorm(
        tf.tensor(xs, shape),
        tf.tensor(mean, statShape),
        tf.tensor(variance, statShape),
        withOffset ? tf.tensor(offset, statShape) : undefined,
        withScale ? tf.tensor(scale, statShape) : undefined,
        1e-3,
      );
    const ours = on(tf, 'wasm', f(x));
    expect(relError(ours, on(tf, 'cpu', f(x)))).toBeLessThan(TOLERANCE);
    expect(relError(ours, on(tf, 'cpu', f(perturbed(x, 10))))).toBeGreaterThan(TOLERANCE);
  });
});

describe('wasm Sum and Mean match the cpu backend', () => {
  // [shape, axes, keepDims]: leading axes take the fast path, the others the built-in kernels.
  const cases: [number[], number | number[], boolean][] = [
    [[4, 6, 6, 8], [0, 1, 2], false],
    [[4, 6, 6, 8], [2, 0, 1], true],
    [[40, 300, 2, 5], [0, 1, 2], false],
    [[3, 5, 7], 0, false],
    [[3, 5, 7], [0, 1, 2], true],
    [[3, 5, 7], [-3, -2], false],
    [[3, 5, 7], [1, 2], false],
    [[3, 5, 7], [1], true],
  ];
  it.each(cases)('%j over axes %j, keepDims %s', (shape, axes, keepDims) => {
    const x = normal(size(shape), 91).map((v) => v + 0.5);
    for (const reduce of [tf.sum, tf.mean]) {
      const f = (xs: Float32Array) => () => reduce(tf.tensor(xs, shape), axes, keepDims);
      const ours = on(tf, 'wasm', f(x));
      const shapeOf = (backend: 'wasm' | 'cpu') => {
        tf.setBackend(backend);
        const t = f(x)();
        const s = t.shape;
        t.dispose();
        return s;
      };
      expect(shapeOf('wasm')).toEqual(shapeOf('cpu'));
      expect(relError(ours, on(tf, 'cpu', f(x)))).toBeLessThan(TOLERANCE);
      expect(relError(ours, on(tf, 'cpu', f(perturbed(x, 11))))).toBeGreaterThan(TOLERANCE);
    }
  });

  it('int32 sums keep their dtype (built-in kernel)', () => {
    tf.setBackend('wasm');
    const t = tf.sum(tf.tensor2d([1, 2, 3, 4], [2, 2], 'int32'), 0);
    expect(t.dtype).toBe('int32');
    expect(Array.from(t.dataSync())).toEqual([4, 6]);
    t.dispose();
  });
});

describe('wasm Identity and same-dtype Cast share data with reference counts', () => {
  it('a clone and a cast outlive their source, and every block is freed at the end', () => {
    tf.setBackend('wasm');
    const before = wasmFootprint(tf).dataIds;
    const a = tf.tensor1d([1, 2, 3]);
    const b = tf.clone(a);
    const c = tf.cast(a, 'float32');
    const d = tf.cast(a, 'int32'); // a real conversion: its own block
    expect(wasmFootprint(tf).dataIds).toBe(before + 2);
    a.dispose();
    expect(Array.from(b.dataSync())).toEqual([1, 2, 3]);
    b.dispose();
    expect(Array.from(c.dataSync())).toEqual([1, 2, 3]);
    expect(d.dtype).toBe('int32');
    tf.dispose([c, d]);
    expect(wasmFootprint(tf).dataIds).toBe(before);
  });
});
