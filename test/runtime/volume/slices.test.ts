import { describe, expect, it } from 'vitest';
import { Random } from '../../../src/util/random.js';
import {
  extractPatch,
  placePatch,
  placeSlice,
  randomPatchOrigin,
  sliceVolume,
  type PatchVector,
  type SliceAxis,
  type VolumeDims,
} from '../../../src/runtime/volume/index.js';

const dims: VolumeDims = [4, 3, 5];
const [nx, ny, nz] = dims;
/** Each voxel holds its own coordinates: i + 10 j + 100 k (all distinct, never 0 except the first). */
const code = (i: number, j: number, k: number) => i + 10 * j + 100 * k;
const volume = Float32Array.from({ length: nx * ny * nz }, (_, p) =>
  code(p % nx, Math.floor(p / nx) % ny, Math.floor(p / (nx * ny))),
);

describe('sliceVolume and placeSlice', () => {
  // [axis, index, height, width, the voxel at (row, col)]
  it.each<[SliceAxis, number, number, number, (r: number, c: number) => number]>([
    ['z', 0, ny, nx, (r, c) => code(c, r, 0)],
    ['z', 4, ny, nx, (r, c) => code(c, r, 4)],
    ['y', 2, nz, nx, (r, c) => code(c, 2, r)],
    ['x', 1, nz, ny, (r, c) => code(1, c, r)],
    ['x', 3, nz, ny, (r, c) => code(3, c, r)],
  ])('axis %s index %i is %ix%i', (axis, index, height, width, at) => {
    const s = sliceVolume(volume, dims, axis, index);
    expect([s.height, s.width]).toEqual([height, width]);
    expect(s.data).toBeInstanceOf(Float32Array);
    expect([...s.data]).toEqual(Array.from({ length: height * width }, (_, p) => at(Math.floor(p / width), p % width)));
  });

  it.each<[SliceAxis, number]>([
    ['x', nx],
    ['y', ny],
    ['z', nz],
  ])('placing every %s slice rebuilds the volume', (axis, count) => {
    const rebuilt = new Float32Array(volume.length);
    for (let index = 0; index < count; index++)
      placeSlice(rebuilt, dims, axis, index, sliceVolume(volume, dims, axis, index));
    expect([...rebuilt]).toEqual([...volume]);
    placeSlice(rebuilt, dims, axis, 0, {
      ...sliceVolume(volume, dims, axis, 0),
      data: new Float32Array(sliceVolume(volume, dims, axis, 0).data.length).fill(-1),
    });
    expect([...rebuilt]).not.toEqual([...volume]);
  });

  it('keeps the array type (uint8 masks)', () => {
    const mask = Uint8Array.from(volume, (v) => v % 2);
    const s = sliceVolume(mask, dims, 'z', 2);
    expect(s.data).toBeInstanceOf(Uint8Array);
    expect(s.data[5]).toBe(code(1, 1, 2) % 2);
  });

  it.each<[string, () => unknown, string]>([
    ['index out of range', () => sliceVolume(volume, dims, 'z', 5), 'sliceVolume: z index 5 outside 0..4'],
    [
      'wrong length',
      () => sliceVolume(volume.subarray(1), dims, 'z', 0),
      'sliceVolume: 59 values for a 4x3x5 volume (expected 60)',
    ],
    [
      'slice of the wrong size',
      () => placeSlice(new Float32Array(60), dims, 'x', 0, { data: new Float32Array(12), height: 3, width: 4 }),
      'placeSlice: a x slice of a 4x3x5 volume is 5x3, got 3x4',
    ],
  ])('%s', (_, f, message) => {
    expect(f).toThrow(message);
  });
});

describe('extractPatch and placePatch', () => {
  /** The expected patch: the volume's value, or 0 outside. */
  const expected = (origin: PatchVector, size: PatchVector) => {
    const [k0, j0, i0] = origin;
    const [d, h, w] = size;
    return Array.from({ length: d * h * w }, (_, p) => {
      const [i, j, k] = [i0 + (p % w), j0 + (Math.floor(p / w) % h), k0 + Math.floor(p / (w * h))];
      return i >= 0 && i < nx && j >= 0 && j < ny && k >= 0 && k < nz ? code(i, j, k) : 0;
    });
  };
  it.each<[string, PatchVector, PatchVector]>([
    ['inside', [1, 0, 1], [3, 2, 2]],
    ['the whole volume', [0, 0, 0], [5, 3, 4]],
    ['over the low edges', [-1, -2, -1], [3, 3, 3]],
    ['over the high edges', [3, 2, 3], [4, 4, 4]],
    ['larger than the volume', [-2, -1, -3], [9, 6, 10]],
    ['entirely outside', [10, 0, 0], [2, 2, 2]],
    ['one voxel', [4, 2, 3], [1, 1, 1]],
  ])('%s', (_, origin, size) => {
    const patch = extractPatch(volume, dims, origin, size);
    expect([...patch]).toEqual(expected(origin, size));
    // Placing it back into zeros restores exactly the covered voxels.
    const back = new Float32Array(volume.length);
    placePatch(back, dims, origin, size, patch);
    const [k0, j0, i0] = origin;
    const covered = (p: number) => {
      const [i, j, k] = [p % nx, Math.floor(p / nx) % ny, Math.floor(p / (nx * ny))];
      return i >= i0 && i < i0 + size[2] && j >= j0 && j < j0 + size[1] && k >= k0 && k < k0 + size[0];
    };
    expect([...back]).toEqual([...volume].map((v, p) => (covered(p) ? v : 0)));
  });

  it('refuses a patch of the wrong length', () => {
    expect(() => placePatch(new Float32Array(60), dims, [0, 0, 0], [2, 2, 2], new Float32Array(7))).toThrow(
      'placePatch: 7 values for a 2x2x2 patch (expected 8)',
    );
  });
});

describe('randomPatchOrigin', () => {
  const fixed = (u: number) => ({ next: () => u });
  it.each<[string, number, PatchVector, [number, number, number]]>([
    ['lowest draw', 0, [2, 2, 2], [0, 0, 0]],
    ['highest draw', 0.999999, [2, 2, 2], [nz - 2, ny - 2, nx - 2]],
    ['patch larger than the volume, lowest', 0, [7, 3, 6], [-2, 0, -2]],
    ['patch larger than the volume, highest', 0.999999, [7, 3, 6], [0, 0, 0]],
  ])('%s', (_, u, size, origin) => {
    expect(randomPatchOrigin(fixed(u), dims, size)).toEqual(origin);
  });

  it('draws every allowed origin and nothing else', () => {
    const rng = new Random(1);
    const seen = new Set<string>();
    for (let t = 0; t < 2000; t++) seen.add(randomPatchOrigin(rng, dims, [4, 2, 6]).join(','));
    // k in 0..1, j in 0..1, i in -2..0
    const all = [0, 1].flatMap((k) => [0, 1].flatMap((j) => [-2, -1, 0].map((i) => `${k},${j},${i}`)));
    expect([...seen].sort()).toEqual(all.sort());
  });
});
