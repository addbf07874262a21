import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { seedFor } from '../../../src/util/random.js';
import { readNifti, syntheticVolume, writeSyntheticVolumes } from '../../../src/runtime/volume/index.js';

const dir = mkdtempSync(join(tmpdir(), 'unetc-synth-vol-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const mean = (a: Float32Array, keep: (p: number) => boolean) => {
  let [s, n] = [0, 0];
  for (let p = 0; p < a.length; p++) if (keep(p)) [s, n] = [s + (a[p] ?? 0), n + 1];
  return s / n;
};

describe('syntheticVolume', () => {
  const dims = [64, 64, 32] as const;
  const a = syntheticVolume(5, dims);

  it('is deterministic per seed, and seeds differ', () => {
    const b = syntheticVolume(5, dims);
    const c = syntheticVolume(6, dims);
    expect(Buffer.from(b.image.buffer).equals(Buffer.from(a.image.buffer))).toBe(true);
    expect(Buffer.from(b.mask).equals(Buffer.from(a.mask))).toBe(true);
    expect(Buffer.from(c.mask).equals(Buffer.from(a.mask))).toBe(false);
  });

  it('has blobs that are brighter than the background, a few percent of the volume', () => {
    expect(a.image.length).toBe(64 * 64 * 32);
    const fg = a.mask.reduce((s, v) => s + v, 0) / a.mask.length;
    expect(fg).toBeGreaterThan(0.02);
    expect(fg).toBeLessThan(0.2);
    expect(mean(a.image, (p) => a.mask[p] === 1) - mean(a.image, (p) => a.mask[p] === 0)).toBeGreaterThan(0.25);
    expect(new Set(a.mask).size).toBe(2);
  });

  it('has several separate blobs on a middle slice (blobs vary, not one big one)', () => {
    // Count 4-connected components on slice z = 16.
    const [nx, ny] = dims;
    const seen = new Uint8Array(nx * ny);
    let components = 0;
    for (let start = 0; start < nx * ny; start++) {
      if (seen[start] || !a.mask[start + nx * ny * 16]) continue;
      components++;
      const stack = [start];
      seen[start] = 1;
      while (stack.length) {
        const p = stack.pop()!;
        const [x, y] = [p % nx, Math.floor(p / nx)];
        for (const [qx, qy] of [
          [x + 1, y],
          [x - 1, y],
          [x, y + 1],
          [x, y - 1],
        ] as const) {
          const q = qx + nx * qy;
          if (qx >= 0 && qx < nx && qy >= 0 && qy < ny && !seen[q] && a.mask[q + nx * ny * 16]) {
            seen[q] = 1;
            stack.push(q);
          }
        }
      }
    }
    expect(components).toBeGreaterThanOrEqual(3);
  });
});

describe('writeSyntheticVolumes', () => {
  it('writes gzipped image/mask pairs with the affine it promises', async () => {
    const cases = await writeSyntheticVolumes(dir, { count: 2, seed: 9, dims: [20, 16, 8], spacing: [0.5, 0.6, 2.5] });
    expect(readdirSync(join(dir, 'images'))).toEqual(['case_000.nii.gz', 'case_001.nii.gz']);
    expect(readdirSync(join(dir, 'masks'))).toEqual(['case_000.nii.gz', 'case_001.nii.gz']);
    const image = await readNifti(cases[1]!.image);
    const mask = await readNifti(cases[1]!.mask);
    expect([image.datatype, mask.datatype]).toEqual([16, 2]);
    expect(image.dims).toEqual([20, 16, 8]);
    expect(image.spacing).toEqual([0.5, 0.6, 2.5].map(Math.fround));
    const expected = [
      [-0.5, 0, 0, (0.5 * 19) / 2 + 12.5],
      [0, -0.6, 0, (0.6 * 15) / 2 - 7.25],
      [0, 0, 2.5, (-2.5 * 7) / 2 + 40],
      [0, 0, 0, 1],
    ].map((row) => row.map(Math.fround));
    expect(image.affine).toEqual(expected);
    expect(mask.affine).toEqual(expected);
    const direct = syntheticVolume(seedFor(9, 'volume:1'), [20, 16, 8]);
    expect([...image.data]).toEqual([...direct.image]);
    expect([...mask.data]).toEqual([...direct.mask]);
    expect(mask.data.some((v) => v === 1)).toBe(true);
  });
});
