import { describe, expect, it } from 'vitest';
import { connectedComponents3d } from '../../../src/runtime/infer/instances3d.js';

/** A 3x3x3 volume from a list of set voxels [z, y, x] (value 1 unless given). */
function volume(voxels: readonly (readonly [number, number, number, number?])[]): Uint8Array {
  const v = new Uint8Array(27);
  for (const [z, y, x, c = 1] of voxels) v[(z * 3 + y) * 3 + x] = c;
  return v;
}

describe('connectedComponents3d', () => {
  it.each([
    [
      'face neighbours',
      [
        [0, 0, 0],
        [1, 0, 0],
      ],
      1,
      1,
    ],
    [
      'edge neighbours',
      [
        [0, 0, 0],
        [1, 1, 0],
      ],
      1,
      2,
    ],
    [
      'corner neighbours',
      [
        [0, 0, 0],
        [1, 1, 1],
      ],
      1,
      2,
    ],
    [
      'apart',
      [
        [0, 0, 0],
        [2, 2, 2],
      ],
      2,
      2,
    ],
    [
      'a U that joins late (union of two provisional labels)',
      [
        [0, 0, 0],
        [0, 0, 2],
        [1, 0, 0],
        [1, 0, 2],
        [2, 0, 0],
        [2, 0, 1],
        [2, 0, 2],
      ],
      1,
      1,
    ],
    [
      'different classes touching',
      [
        [0, 0, 0, 1],
        [0, 0, 1, 2],
      ],
      2,
      2,
    ],
  ] as const)('%s: %d components with 26-connectivity, %d with 6', (_name, voxels, n26, n6) => {
    const map = volume(voxels as never);
    expect(connectedComponents3d(map, [3, 3, 3]).components).toHaveLength(n26);
    expect(connectedComponents3d(map, [3, 3, 3], { connectivity: 6 }).components).toHaveLength(n6);
  });

  it('labels run 1..K in raster order, volumes are voxel counts, minSize removes small ones', () => {
    const map = volume([
      [0, 0, 2],
      [2, 2, 2],
      [2, 2, 1],
      [2, 1, 2],
    ]);
    const all = connectedComponents3d(map, [3, 3, 3]);
    expect(all.components.map((c) => c.volume)).toEqual([1, 3]);
    expect(all.labels[2]).toBe(1);
    expect(all.labels[26]).toBe(2);
    const big = connectedComponents3d(map, [3, 3, 3], { minSize: 2 });
    expect(big.components.map((c) => [c.label, c.volume])).toEqual([[1, 3]]);
    expect(big.labels[2]).toBe(0);
    expect(() => connectedComponents3d(new Uint8Array(5), [3, 3, 3])).toThrow(RangeError);
  });
});
