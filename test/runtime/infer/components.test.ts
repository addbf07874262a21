import { describe, expect, it } from 'vitest';
import { labelComponents, previousOffsets } from '../../../src/runtime/infer/components.js';
import { Random } from '../../../src/util/random.js';

/** Reference labelling: a breadth-first flood from each unlabelled element, in raster order. */
function floodLabels(map: ArrayLike<number>, shape: readonly number[], full: boolean): Uint32Array {
  const n = map.length;
  const coords = (p: number) => {
    const c: number[] = [];
    for (let a = shape.length - 1; a >= 0; a--) {
      c.unshift(p % shape[a]!);
      p = Math.floor(p / shape[a]!);
    }
    return c;
  };
  const index = (c: readonly number[]) => c.reduce((acc, v, a) => acc * shape[a]! + v, 0);
  const near = (c: readonly number[]): number[][] => {
    const out: number[][] = [];
    const step = (prefix: number[]) => {
      if (prefix.length === shape.length) {
        const moved = prefix.filter((d) => d !== 0).length;
        if (moved > 0 && (full || moved === 1)) out.push(prefix.map((d, a) => c[a]! + d));
        return;
      }
      for (const d of [-1, 0, 1]) step([...prefix, d]);
    };
    step([]);
    return out.filter((q) => q.every((v, a) => v >= 0 && v < shape[a]!));
  };
  const labels = new Uint32Array(n);
  let next = 1;
  for (let p = 0; p < n; p++) {
    if (map[p] === 0 || labels[p]) continue;
    const queue = [p];
    labels[p] = next;
    while (queue.length > 0) {
      const q = queue.shift()!;
      for (const r of near(coords(q)).map(index)) {
        if (!labels[r] && map[r] === map[p]) {
          labels[r] = next;
          queue.push(r);
        }
      }
    }
    next++;
  }
  return labels;
}

describe('labelComponents (any number of axes)', () => {
  it('has 1, 4, 13, 40 previous neighbours in 1D to 4D with all around, and one per axis with faces', () => {
    expect([1, 2, 3, 4].map((d) => previousOffsets(d, true).length)).toEqual([1, 4, 13, 40]);
    expect([1, 2, 3].map((d) => previousOffsets(d, false).length)).toEqual([1, 2, 3]);
  });

  for (const shape of [[40], [17, 23], [6, 9, 11], [3, 4, 5, 6]]) {
    for (const full of [false, true]) {
      it(`matches a flood fill on random ${shape.join('x')} class maps (${full ? 'all' : 'face'} neighbours)`, () => {
        const rng = new Random(shape.length * 10 + (full ? 1 : 0));
        const n = shape.reduce((a, b) => a * b, 1);
        const map = Uint8Array.from({ length: n }, () => (rng.next() < 0.45 ? 0 : rng.next() < 0.7 ? 1 : 2));
        const got = labelComponents(map, shape, { full });
        // Both number in raster order of first element: the labellings are equal, not just alike.
        expect([...got.labels]).toEqual([...floodLabels(map, shape, full)]);
        for (const c of got.components) {
          const members = [...got.labels.keys()].filter((p) => got.labels[p] === c.label);
          expect(c.size).toBe(members.length);
          expect(map[members[0]!]).toBe(c.classId);
        }
      });
    }
  }

  it('minSize removes small components before numbering; negative control: faces split a diagonal that all-around joins', () => {
    // 1 1 0 0
    // 0 0 1 0
    // 0 0 0 0
    const map = [1, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0];
    expect(labelComponents(map, [3, 4], { full: true }).components.map((c) => c.size)).toEqual([3]);
    expect(labelComponents(map, [3, 4], { full: false }).components.map((c) => c.size)).toEqual([2, 1]);
    const pruned = labelComponents(map, [3, 4], { full: false, minSize: 2 });
    expect([...pruned.labels]).toEqual([1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(pruned.components[0]).toMatchObject({ label: 1, lo: [0, 0], hi: [1, 2] });
  });
});
