import { describe, expect, it } from 'vitest';
import { makeVolumeBatch, rotatePlanes, syntheticVolumeData } from '../../../src/runtime/train/volume-data.js';

describe('3D patches', () => {
  const cube = Float32Array.from({ length: 2 * 3 * 3 }, (_, i) => i);
  it('rotatePlanes: quarter turns in each depth slice; four make the identity, three undo one', () => {
    const one = rotatePlanes(cube, [2, 3, 3], 1);
    expect(Array.from(one.slice(0, 9))).toEqual([6, 3, 0, 7, 4, 1, 8, 5, 2]);
    expect(Array.from(rotatePlanes(rotatePlanes(one, [2, 3, 3], 1), [2, 3, 3], 2))).toEqual(Array.from(cube));
    expect(Array.from(rotatePlanes(one, [2, 3, 3], 3))).toEqual(Array.from(cube));
    expect(Array.from(rotatePlanes(Float32Array.from([1, 2, 3, 4, 5, 6]), [1, 2, 3], 2))).toEqual([6, 5, 4, 3, 2, 1]);
    expect(() => rotatePlanes(Float32Array.from([1, 2, 3, 4, 5, 6]), [1, 2, 3], 1)).toThrow(RangeError);
  });

  it('batches are seeded by step; rotations move image and mask together; intensity changes the image only', () => {
    const data = syntheticVolumeData(1, { train: 2, val: 0 }, [8, 16, 16]).train;
    const plain = makeVolumeBatch(data, 3, 2, [8, 16, 16], 1, 7, {});
    expect(Array.from(makeVolumeBatch(data, 3, 2, [8, 16, 16], 1, 7, {}).images)).toEqual(Array.from(plain.images));
    const bright = makeVolumeBatch(data, 3, 2, [8, 16, 16], 1, 7, { intensity: 0.5, gamma: 0.3, noise: 0.05 });
    expect(Array.from(bright.targets)).toEqual(Array.from(plain.targets));
    expect(Array.from(bright.images)).not.toEqual(Array.from(plain.images));
    // Rotations: the foreground voxel count is kept, and masks still mark the bright voxels.
    for (let step = 0; step < 4; step++) {
      const a = makeVolumeBatch(data, step, 1, [8, 16, 16], 1, 7, {});
      const r = makeVolumeBatch(data, step, 1, [8, 16, 16], 1, 7, { rotate90: true });
      expect(r.targets.reduce((s, v) => s + v, 0)).toBe(a.targets.reduce((s, v) => s + v, 0));
      const meanIn = (b: typeof a, inside: boolean) => {
        let s = 0;
        let n = 0;
        b.images.forEach((v, i) => {
          if ((b.targets[i] === 1) === inside) {
            s += v;
            n++;
          }
        });
        return s / Math.max(1, n);
      };
      if (r.targets.some((v) => v === 1)) expect(meanIn(r, true)).toBeGreaterThan(meanIn(r, false));
    }
  });
});
