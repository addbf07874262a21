/**
 * Seeded synthetic 3D "nuclei": ellipsoids of varied size, orientation and brightness on a
 * smooth uneven background with Gaussian noise, and their binary mask. Volumes are anisotropic
 * like confocal or CT stacks (slices thicker than pixels), so blobs are flatter in voxels along z.
 * Each stage draws from its own stream (`seedFor`), so the same seed gives the same bytes.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Random, seedFor } from '../../util/random.js';
import { createNiftiHeader } from './create.js';
import { writeNiftiMask, writeNiftiVolume } from './nifti-write.js';
import type { VolumeDims } from './slices.js';

/** One generated volume, index i + nx * (j + ny * k). */
export interface SyntheticVolume {
  /** Intensities, about 0 to 1. */
  readonly image: Float32Array;
  /** 1 inside a blob, 0 elsewhere. */
  readonly mask: Uint8Array;
}

interface Blob {
  readonly c: readonly [number, number, number];
  /** Radii in voxels along the blob's own axes. */
  readonly r: readonly [number, number, number];
  /** Rotation about z (blobs lie in the slice plane, like nuclei on a coverslip). */
  readonly cos: number;
  readonly sin: number;
  readonly brightness: number;
}

/** Blob count from the volume: roughly 8% of it foreground, at least one. */
function drawBlobs(rng: Random, dims: VolumeDims): Blob[] {
  const [nx, ny, nz] = dims;
  const scale = Math.max(2, Math.min(nx, ny) / 16);
  const zRatio = nz >= Math.min(nx, ny) ? 1 : 0.5;
  const typical = (4 / 3) * Math.PI * scale ** 3 * zRatio;
  const count = Math.max(1, Math.round((0.08 * nx * ny * nz) / typical));
  return Array.from({ length: count }, () => {
    const rx = scale * rng.uniform(0.6, 1.4);
    const ry = rx * rng.uniform(0.6, 1);
    const rz = Math.max(1, rx * zRatio * rng.uniform(0.7, 1.2));
    const angle = rng.uniform(0, Math.PI);
    return {
      c: [rng.uniform(0, nx), rng.uniform(0, ny), rng.uniform(0, nz)],
      r: [rx, ry, rz],
      cos: Math.cos(angle),
      sin: Math.sin(angle),
      brightness: rng.uniform(0.35, 0.95),
    };
  });
}

/** A smooth background: a tilted plane plus one broad bump, 0.03 to about 0.2. */
function background(rng: Random, dims: VolumeDims): (i: number, j: number, k: number) => number {
  const [nx, ny, nz] = dims;
  const [base, gx, gy, gz] = [
    rng.uniform(0.03, 0.08),
    rng.uniform(-0.04, 0.04),
    rng.uniform(-0.04, 0.04),
    rng.uniform(-0.02, 0.02),
  ];
  const [bx, by, bz, amp] = [rng.uniform(0, nx), rng.uniform(0, ny), rng.uniform(0, nz), rng.uniform(0, 0.08)];
  const s2 = 2 * (0.4 * Math.max(nx, ny)) ** 2;
  return (i, j, k) =>
    base +
    0.04 +
    gx * (i / nx - 0.5) * 2 +
    gy * (j / ny - 0.5) * 2 +
    gz * (k / nz - 0.5) * 2 +
    amp * Math.exp(-((i - bx) ** 2 + (j - by) ** 2 + ((k - bz) * 2) ** 2) / s2);
}

/** One volume of `dims` = [nx, ny, nz]; the same seed and dims give identical bytes. */
export function syntheticVolume(seed: number, dims: VolumeDims): SyntheticVolume {
  if (!dims.every((d) => Number.isInteger(d) && d >= 1))
    throw new RangeError(`syntheticVolume: dims must be positive integers, got ${dims.join('x')}`);
  const [nx, ny, nz] = dims;
  const blobs = drawBlobs(new Random(seedFor(seed, 'blobs')), dims);
  const bg = background(new Random(seedFor(seed, 'background')), dims);
  const image = new Float32Array(nx * ny * nz);
  const mask = new Uint8Array(nx * ny * nz);
  for (let k = 0; k < nz; k++)
    for (let j = 0; j < ny; j++) for (let i = 0; i < nx; i++) image[i + nx * (j + ny * k)] = bg(i, j, k);
  for (const b of blobs) {
    const [cx, cy, cz] = b.c;
    const [rx, ry, rz] = b.r;
    const reach = Math.max(rx, ry);
    for (let k = Math.max(0, Math.floor(cz - rz)); k <= Math.min(nz - 1, cz + rz); k++) {
      for (let j = Math.max(0, Math.floor(cy - reach)); j <= Math.min(ny - 1, cy + reach); j++) {
        for (let i = Math.max(0, Math.floor(cx - reach)); i <= Math.min(nx - 1, cx + reach); i++) {
          const [dx, dy] = [i - cx, j - cy];
          const u = (b.cos * dx + b.sin * dy) / rx;
          const v = (-b.sin * dx + b.cos * dy) / ry;
          const w = (k - cz) / rz;
          const d2 = u * u + v * v + w * w;
          if (d2 >= 1) continue;
          const p = i + nx * (j + ny * k);
          mask[p] = 1;
          // Brighter in the middle; overlapping blobs keep the brighter value.
          image[p] = Math.max(image[p] ?? 0, bg(i, j, k) + b.brightness * (1 - 0.3 * d2));
        }
      }
    }
  }
  const noise = new Random(seedFor(seed, 'noise'));
  const sigma = noise.uniform(0.01, 0.04);
  for (let p = 0; p < image.length; p++) image[p] = (image[p] ?? 0) + sigma * noise.normal();
  return { image, mask };
}

/** How many volumes to write, and their geometry. */
export interface SyntheticVolumeOptions {
  readonly count: number;
  readonly seed: number;
  readonly dims: VolumeDims;
  /** Voxel size in mm (default [0.8, 0.8, 2.0]: thicker slices than pixels). */
  readonly spacing?: readonly [number, number, number];
}

/** One written case. */
export interface SyntheticCase {
  readonly name: string;
  readonly image: string;
  readonly mask: string;
}

/**
 * Writes `dir/images/case_000.nii.gz` (float32) and `dir/masks/case_000.nii.gz` (uint8), ... with
 * an affine that is not the identity (x and y flipped as in DICOM-derived files, origin centered
 * and shifted), so tests can tell whether a header was carried through.
 */
export async function writeSyntheticVolumes(dir: string, options: SyntheticVolumeOptions): Promise<SyntheticCase[]> {
  const { count, seed, dims } = options;
  if (!(Number.isInteger(count) && count >= 0))
    throw new RangeError(`writeSyntheticVolumes: count must be a whole number, got ${count}`);
  const spacing = options.spacing ?? [0.8, 0.8, 2.0];
  const [dx, dy, dz] = spacing;
  const [nx, ny, nz] = dims;
  const affine = [
    [-dx, 0, 0, (dx * (nx - 1)) / 2 + 12.5],
    [0, -dy, 0, (dy * (ny - 1)) / 2 - 7.25],
    [0, 0, dz, (-dz * (nz - 1)) / 2 + 40],
  ];
  const like = createNiftiHeader({ dims, spacing, affine, description: `unetc synthetic volumes, seed ${seed}` });
  await mkdir(join(dir, 'images'), { recursive: true });
  await mkdir(join(dir, 'masks'), { recursive: true });
  const cases: SyntheticCase[] = [];
  for (let c = 0; c < count; c++) {
    const name = `case_${String(c).padStart(3, '0')}`;
    const volume = syntheticVolume(seedFor(seed, `volume:${c}`), dims);
    const image = join(dir, 'images', `${name}.nii.gz`);
    const mask = join(dir, 'masks', `${name}.nii.gz`);
    await writeNiftiVolume(image, like, volume.image);
    await writeNiftiMask(mask, like, volume.mask);
    cases.push({ name, image, mask });
  }
  return cases;
}
