/**
 * Volumes for 3D networks (input.dims: 3) and slices of volumes for 2D ones: NIfTI folders
 * (images/*.nii[.gz] with masks/ or labels/) or seeded synthetic nuclei volumes, as examples the
 * training loop draws patches from. Layout: [depth, height, width, channels] row-major, i.e. a
 * NIfTI volume's (k, j, i) order with i fastest, so no copy reorders voxels.
 */
import { seedFor } from '../../util/random.js';
import {
  formatProblems,
  nonFiniteCount,
  normalizationParams,
  type NormalizationMode,
  type NormalizationParams,
} from '../data/index.js';
import { readNifti, scanVolumeDataset, sliceVolume, syntheticVolume, type SliceAxis } from '../volume/index.js';
import { join } from 'node:path';
import { listFiles } from '../data/entries.js';
import { DataProblems, splitFolders, type Example } from './data.js';
import type { VolumeData, VolumeExample } from './volume-types.js';

export type { VolumeData, VolumeExample } from './volume-types.js';

function volumeExample(
  name: string,
  dims: readonly [number, number, number],
  image: Float32Array,
  mask: Uint16Array,
): VolumeExample {
  return { name, dims, channels: 1, image, mask, norm: volumeNormalization(dims, image, 'zscore') };
}

/** A volume's normalization: the whole volume is one "image" of D*H rows for the statistics. */
export function volumeNormalization(
  dims: readonly [number, number, number],
  image: Float32Array,
  mode: NormalizationMode,
): NormalizationParams {
  return normalizationParams({ height: dims[0] * dims[1], width: dims[2], channels: 1, data: image }, { mode });
}

/** Built-in volumes: seeded synthetic nuclei, [depth, height, width] = `dims` (train and validation never share a seed). */
export function syntheticVolumeData(
  seed: number,
  count = { train: 12, val: 3 },
  dims: readonly [number, number, number] = [32, 64, 64],
): VolumeData {
  const [d, h, w] = dims;
  const make = (split: string, n: number) =>
    Array.from({ length: n }, (_, i) => {
      const v = syntheticVolume(seedFor(seed, `volume:${split}:${i}`), [w, h, d]);
      return volumeExample(`synthetic-${split}-${i}`, dims, v.image, Uint16Array.from(v.mask));
    });
  return {
    train: make('train', count.train),
    val: make('val', count.val),
    source: `synthetic nuclei volumes (seed ${seed}, ${count.train} + ${count.val} volumes of ${d}x${h}x${w})`,
    fingerprint: `synthetic-volumes:${seed}:${count.train}:${count.val}:${d}x${h}x${w}`,
  };
}

/**
 * True when a folder's images/ holds NIfTI files (then it is read as volumes); DataProblems when
 * it holds both NIfTI volumes and PNG images (one kind per data folder).
 */
export async function isVolumeFolder(dir: string): Promise<boolean> {
  // The data scans' own listing: visible files and links to files.
  const names = await listFiles(join(dir, 'images'));
  if (names === undefined) return false;
  const nifti = names.filter((f) => /\.nii(\.gz)?$/i.test(f)).length;
  const png = names.filter((f) => /\.png$/i.test(f)).length;
  if (nifti > 0 && png > 0)
    throw new DataProblems([
      `${dir}/images: holds ${nifti} NIfTI volume${nifti === 1 ? '' : 's'} and ${png} PNG image${png === 1 ? '' : 's'}; a data folder holds one kind`,
    ]);
  return nifti > 0;
}

async function folderVolumes(
  dir: string,
  channels: number,
  classes: number,
): Promise<{ examples: VolumeExample[]; fingerprint: string }> {
  if (channels !== 1)
    throw new DataProblems([`${dir}: NIfTI volumes have one channel, but the spec's input.channels is ${channels}`]);
  const scan = await scanVolumeDataset(dir, { classes });
  if (scan.problems.length > 0) throw new DataProblems(formatProblems(scan.problems));
  const examples: VolumeExample[] = [];
  const problems: string[] = [];
  for (const s of scan.samples) {
    const image = await readNifti(s.image);
    const labels = await readNifti(s.mask);
    const bad = nonFiniteCount(image.data);
    if (bad > 0) problems.push(`${s.image}: ${bad} voxel${bad === 1 ? ' is' : 's are'} NaN or infinite`);
    const binary = s.maskEncoding !== 'ids';
    const mask = Uint16Array.from(labels.data, (v) => (binary ? (v > 0 ? 1 : 0) : Math.round(v)));
    const [nx, ny, nz] = image.dims;
    examples.push(volumeExample(s.name, [nz, ny, nx], image.data, mask));
  }
  if (problems.length > 0) throw new DataProblems(problems);
  return { examples, fingerprint: scan.fingerprint };
}

/** A NIfTI folder as training volumes; see splitFolders. */
export function volumeFolderData(
  dir: string,
  options: { valDir?: string; valSplit: number; seed: number; channels: number; classes: number },
): Promise<VolumeData> {
  return splitFolders(dir, options, 'volumes', (d) => folderVolumes(d, options.channels, options.classes));
}

/** NIfTI axis letters in tensor terms: z slices are [H, W] images, y slices [D, W], x slices [D, H]. */
export const SLICE_AXES: readonly SliceAxis[] = ['z', 'y', 'x'];

/** Every slice of every volume along `axis`, as 2D examples (each normalized on its own, as 2D inference does). */
export function sliceExamples(volumes: readonly VolumeExample[], axis: SliceAxis): Example[] {
  const out: Example[] = [];
  for (const v of volumes) {
    const nifti = [v.dims[2], v.dims[1], v.dims[0]] as const;
    const count = axis === 'z' ? v.dims[0] : axis === 'y' ? v.dims[1] : v.dims[2];
    for (let i = 0; i < count; i++) {
      const image = sliceVolume(v.image, nifti, axis, i);
      const mask = sliceVolume(v.mask, nifti, axis, i);
      const hwc = { height: image.height, width: image.width, channels: 1, data: image.data };
      out.push({
        name: `${v.name}:${axis}${i}`,
        image: hwc,
        mask: { height: mask.height, width: mask.width, channels: 1, data: mask.data },
        norm: normalizationParams(hwc, { mode: 'zscore' }),
      });
    }
  }
  return out;
}

/** The middle slice of each volume along `axis` (what a report shows of sliced volumes). */
export function middleSlices(volumes: readonly VolumeExample[], axis: SliceAxis): Example[] {
  return volumes.map((v) => {
    const count = axis === 'z' ? v.dims[0] : axis === 'y' ? v.dims[1] : v.dims[2];
    const mid = count >> 1;
    return sliceExamples([{ ...v, dims: v.dims }], axis).find((e) => e.name === `${v.name}:${axis}${mid}`)!;
  });
}
