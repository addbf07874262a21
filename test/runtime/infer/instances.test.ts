import { describe, expect, it } from 'vitest';
import { Random } from '../../../src/util/random.js';
import { areaSummary, connectedComponents, removeSmall } from '../../../src/runtime/infer/index.js';

/** Rows of digits -> [map, height, width]. */
function grid(...rows: string[]): [Uint8Array, number, number] {
  const h = rows.length;
  const w = rows[0]!.length;
  return [Uint8Array.from(rows.join(''), (ch) => Number(ch)), h, w];
}

/** Labels as rows of digits, for readable expectations. */
function show(labels: Uint32Array, w: number): string[] {
  const rows: string[] = [];
  for (let i = 0; i < labels.length; i += w) rows.push([...labels.subarray(i, i + w)].join(''));
  return rows;
}

describe('connected components', () => {
  it.each([
    // [name, mask rows, connectivity, expected label rows]
    ['a diagonal line is one component with 8-connectivity', ['100', '010', '001'], 8, ['100', '010', '001']],
    ['... and three with 4-connectivity', ['100', '010', '001'], 4, ['100', '020', '003']],
    ['an anti-diagonal (north-east neighbour)', ['001', '010', '100'], 8, ['001', '010', '100']],
    ['a U joins its two arms (union of two provisional labels)', ['101', '101', '111'], 4, ['101', '101', '111']],
    ['labels follow the raster order of first pixels', ['0011', '1000', '1000'], 8, ['0011', '2000', '2000']],
    ['different classes never join, even when touching', ['1122', '1122', '0000'], 8, ['1122', '1122', '0000']],
    ['a W shape merging three arms late', ['10101', '10101', '11111'], 4, ['10101', '10101', '11111']],
    ['an empty mask has no components', ['000', '000'], 8, ['000', '000']],
  ] as const)('%s', (_name, rows, connectivity, expected) => {
    const [map, h, w] = grid(...rows);
    const r = connectedComponents(map, h, w, { connectivity });
    expect(show(r.labels, w)).toEqual(expected);
    expect(r.components.length).toBe(Math.max(0, ...expected.join('').split('').map(Number)));
  });

  it('reports area, class and bounding box ([top, bottom) x [left, right))', () => {
    const [map, h, w] = grid('0000', '0220', '0200', '0001');
    const r = connectedComponents(map, h, w);
    expect(r.components).toEqual([
      { label: 1, classId: 2, area: 3, top: 1, left: 1, bottom: 3, right: 3 },
      { label: 2, classId: 1, area: 1, top: 3, left: 3, bottom: 4, right: 4 },
    ]);
  });

  it('--min-size removes small components and numbers the rest from 1', () => {
    const [map, h, w] = grid('1001', '1000', '0011', '1011');
    const all = connectedComponents(map, h, w, { connectivity: 4 });
    expect(all.components.map((c) => c.area)).toEqual([2, 1, 4, 1]);
    const big = connectedComponents(map, h, w, { connectivity: 4, minSize: 2 });
    expect(show(big.labels, w)).toEqual(['1000', '1000', '0022', '0022']);
    expect(show(Uint32Array.from(removeSmall(map, big)), w)).toEqual(['1000', '1000', '0011', '0011']);
    expect(areaSummary(big.components)).toEqual({ count: 2, mean: 3, median: 3, min: 2, max: 4 });
    expect(areaSummary([])).toEqual({ count: 0, mean: 0, median: 0, min: 0, max: 0 });
  });

  it.each([4, 8] as const)('agrees with a flood fill on random masks (%i-connectivity)', (connectivity) => {
    const rng = new Random(connectivity);
    for (let trial = 0; trial < 20; trial++) {
      const h = 5 + Math.floor(rng.next() * 30);
      const w = 5 + Math.floor(rng.next() * 30);
      const map = Uint8Array.from({ length: h * w }, () => (rng.next() < 0.45 ? 1 + Math.floor(rng.next() * 2) : 0));
      expect(show(connectedComponents(map, h, w, { connectivity }).labels, w)).toEqual(
        show(floodFill(map, h, w, connectivity), w),
      );
    }
  });
});

/** The obvious algorithm, for comparison: flood from each unlabelled pixel in raster order. */
function floodFill(map: Uint8Array, h: number, w: number, connectivity: 4 | 8): Uint32Array {
  const labels = new Uint32Array(h * w);
  const steps =
    connectivity === 8
      ? [-1, 0, 1].flatMap((dy) => [-1, 0, 1].map((dx) => [dy, dx])).filter(([a, b]) => a || b)
      : [
          [-1, 0],
          [1, 0],
          [0, -1],
          [0, 1],
        ];
  let next = 0;
  for (let p = 0; p < h * w; p++) {
    if (!map[p] || labels[p]) continue;
    labels[p] = ++next;
    const stack = [p];
    while (stack.length) {
      const q = stack.pop()!;
      const y = Math.floor(q / w);
      const x = q % w;
      for (const [dy, dx] of steps) {
        const yy = y + dy!;
        const xx = x + dx!;
        const r = yy * w + xx;
        if (yy < 0 || yy >= h || xx < 0 || xx >= w || labels[r] || map[r] !== map[p]) continue;
        labels[r] = next;
        stack.push(r);
      }
    }
  }
  return labels;
}
