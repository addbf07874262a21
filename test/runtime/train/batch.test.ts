import { describe, expect, it } from 'vitest';
import type { AugmentOptions } from '../../../src/runtime/data/index.js';
import { makeBatch, rotatePlanes } from '../../../src/runtime/train/batch.js';
import { syntheticData } from '../../../src/runtime/train/data.js';
import { syntheticVolumeData, type VolumeExample } from '../../../src/runtime/train/volume-data.js';

/** The training batch of volumes alone (train/batch.ts makes images' and volumes' alike). */
function makeVolumeBatch(
  volumes: readonly VolumeExample[],
  step: number,
  batch: number,
  patch: readonly number[],
  classes: number,
  seed: number,
  augmentation: AugmentOptions,
) {
  const data = {
    train: [],
    val: [],
    volumes: { train: volumes, val: [], source: '', fingerprint: '' },
    source: '',
    fingerprint: '',
  };
  return makeBatch(data, step, { batch, patch, seed, augmentation }, { classes });
}

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
    // Relative to each volume's own levels: the same volume at a twentieth of its brightness gives
    // the same batch (noise, in the file's units, left out).
    const dim = data.map((e) => ({
      ...e,
      image: e.image.map((v) => 0.05 * v),
      norm: { ...e.norm, offset: e.norm.offset.map((v) => 0.05 * v), scale: e.norm.scale.map((v) => 0.05 * v) },
    }));
    const jitter = { intensity: 0.5, gamma: 0.3 };
    const a = makeVolumeBatch(data, 3, 2, [8, 16, 16], 1, 7, jitter).images;
    const b = makeVolumeBatch(dim, 3, 2, [8, 16, 16], 1, 7, jitter).images;
    expect(a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0)).toBeLessThan(1e-3);
    // Negative control: the intensity change itself moves the batch.
    const g = makeVolumeBatch(data, 3, 2, [8, 16, 16], 1, 7, { gamma: 0.3 }).images;
    expect(a.reduce((m, v, i) => Math.max(m, Math.abs(v - g[i]!)), 0)).toBeGreaterThan(0.05);
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

describe('training batches of images', () => {
  const images = syntheticData(3, 1, { train: 3, val: 0 }, 96, { instances: 'boundary' });
  const settings = {
    batch: 2,
    patch: [64, 64],
    seed: 9,
    augmentation: { flip: true, rotate90: true, scale: 1.5 },
  };

  it('a boundary head: one-hot background, interior and outline of the augmented labels, seeded by step', () => {
    const b = makeBatch(images, 4, settings, { classes: 3, instances: 'boundary' });
    expect(b.shape).toEqual([64, 64, 1]);
    expect(b.targets.length).toBe(2 * 64 * 64 * 3);
    const counts = [0, 0, 0];
    for (let p = 0; p < 2 * 64 * 64; p++) {
      const row = [b.targets[3 * p]!, b.targets[3 * p + 1]!, b.targets[3 * p + 2]!];
      expect(row.reduce((s, v) => s + v, 0)).toBe(1);
      counts[row.indexOf(1)]!++;
    }
    expect(counts.every((c) => c > 0)).toBe(true);
    const again = makeBatch(images, 4, settings, { classes: 3, instances: 'boundary' });
    expect(Array.from(again.images)).toEqual(Array.from(b.images));
    // Negative control: another step draws another batch.
    expect(Array.from(makeBatch(images, 5, settings, { classes: 3, instances: 'boundary' }).images)).not.toEqual(
      Array.from(b.images),
    );
  });

  it("brightness and contrast are the same share of a dim image's spread as of a bright one's", () => {
    // Each image recorded at a twentieth of its brightness: z-scoring makes it the same input, and
    // the intensity changes, relative to each image's own levels, keep it so.
    const dim = {
      ...images,
      train: images.train.map((e) => ({
        ...e,
        image: { ...e.image, data: e.image.data.map((v) => 0.05 * v) },
        norm: { ...e.norm, offset: e.norm.offset.map((v) => 0.05 * v), scale: e.norm.scale.map((v) => 0.05 * v) },
      })),
    };
    const jitter = { ...settings, augmentation: { ...settings.augmentation, intensity: 0.3, gamma: 0.3 } };
    const head = { classes: 3, instances: 'boundary' as const };
    const bright = makeBatch(images, 4, jitter, head).images;
    const faint = makeBatch(dim, 4, jitter, head).images;
    expect(bright.reduce((m, v, i) => Math.max(m, Math.abs(v - faint[i]!)), 0)).toBeLessThan(1e-3);
    // Negative control: the intensity change itself moves the batch (gamma alone gives another).
    const gammaOnly = { ...settings, augmentation: { ...settings.augmentation, gamma: 0.3 } };
    const still = makeBatch(images, 4, gammaOnly, head).images;
    expect(bright.reduce((m, v, i) => Math.max(m, Math.abs(v - still[i]!)), 0)).toBeGreaterThan(0.05);
  });

  it('a one-class head on the same labels: 0/1 foreground, where the boundary head has interior or outline', () => {
    const boundary = makeBatch(images, 4, settings, { classes: 3, instances: 'boundary' });
    const plain = makeBatch(images, 4, settings, { classes: 1 });
    expect(Array.from(plain.images)).toEqual(Array.from(boundary.images));
    for (let p = 0; p < plain.targets.length; p++) expect(plain.targets[p]).toBe(1 - boundary.targets[3 * p]!);
  });
});
