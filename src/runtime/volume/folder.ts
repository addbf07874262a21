/**
 * A volume data set on disk: `images/NAME.nii[.gz]` paired with `masks/NAME.nii[.gz]` (or
 * `labels/NAME.nii[.gz]` when there is no `masks/`). Like `scanDataset` for PNGs, it reads every
 * file once, checks what training relies on (readable, same dims and geometry as the image,
 * integer mask values that fit the classes) and collects every problem, never just the first.
 */
import { join } from 'node:path';
import type { MaskEncoding } from '../data/png.js';
import {
  FolderReader,
  isFolder,
  listByStem,
  maskValueProblem,
  type DataProblem,
  type FolderFormat,
} from '../data/folder.js';
import { parseNifti, type NiftiVolume } from './nifti.js';

/** What the spec expects of the masks. */
export interface VolumeScanOptions {
  /** The spec's `output.classes`; without it, masks need only hold non-negative integers. */
  readonly classes?: number;
}

/** One usable image/mask pair. */
export interface VolumeSample {
  readonly name: string;
  readonly image: string;
  readonly mask: string;
  /** [nx, ny, nz]. */
  readonly dims: readonly [number, number, number];
  readonly spacing: readonly [number, number, number];
  /** How the mask values read (as for PNG masks: 0/1, 0/255 or ids). */
  readonly maskEncoding: MaskEncoding;
}

/** The usable pairs, every problem found, and a fingerprint of the files read. */
export interface VolumeScanResult {
  readonly samples: readonly VolumeSample[];
  readonly problems: readonly DataProblem[];
  /** sha256 over sorted `relative/path <TAB> size <TAB> sha256(content)` lines, as `scanDataset`'s. */
  readonly fingerprint: string;
}

const NIFTI: FolderFormat = {
  ext: /\.nii(\.gz)?$/i,
  other: /\.(hdr|img|mha|mhd|nrrd|nhdr|dcm|tiff?|npy|npz|h5)$/i,
  unsupported: (ext) => `unsupported format ${ext} (only .nii and .nii.gz are read; convert it to NIfTI)`,
};

/** Mask values: not integer or negative (a problem), else the distinct values and their encoding. */
function maskValues(mask: NiftiVolume): { problem: string } | { values: number[]; encoding: MaskEncoding } {
  const seen = new Set<number>();
  for (let p = 0; p < mask.data.length; p++) {
    const v = mask.data[p] ?? 0;
    if (!Number.isInteger(v) || v < 0) {
      const [nx, ny] = mask.dims;
      const at = `(${p % nx}, ${Math.floor(p / nx) % ny}, ${Math.floor(p / (nx * ny))})`;
      return { problem: `value ${v} at voxel ${at} is not a class id (expected non-negative integers)` };
    }
    if (seen.size <= 65536) seen.add(v);
  }
  const values = [...seen].sort((a, b) => a - b);
  const encoding: MaskEncoding = values.every((v) => v === 0 || v === 1)
    ? 'binary-01'
    : values.every((v) => v === 0 || v === 255)
      ? 'binary-max'
      : 'ids';
  return { values, encoding };
}

/** Why the mask's geometry differs from the image's, or undefined. */
function geometryProblem(image: NiftiVolume, mask: NiftiVolume, imageName: string): string | undefined {
  if (mask.dims.join('x') !== image.dims.join('x'))
    return `dims ${mask.dims.join('x')} differ from its image images/${imageName} (${image.dims.join('x')})`;
  const close = (a: number, b: number) => Math.abs(a - b) <= 1e-4 * Math.max(1, Math.abs(a), Math.abs(b));
  if (!mask.spacing.every((s, i) => close(s, image.spacing[i]!))) {
    return `voxel spacing ${mask.spacing.join(', ')} differs from its image images/${imageName} (${image.spacing.join(', ')})`;
  }
  if (!mask.affine.every((row, r) => row.every((v, c) => close(v, image.affine[r]?.[c] ?? NaN)))) {
    return `affine (voxel to world) differs from its image images/${imageName}, so the mask is not aligned with it`;
  }
  return undefined;
}

/** Scans a volume data folder; see the module comment. Never throws for problems in the data. */
export async function scanVolumeDataset(dir: string, options: VolumeScanOptions = {}): Promise<VolumeScanResult> {
  const { classes } = options;
  if (classes !== undefined && !(Number.isInteger(classes) && classes >= 1))
    throw new RangeError(`scanVolumeDataset: classes must be a positive integer, got ${classes}`);
  const r = new FolderReader(dir);
  const problems = r.problems;
  const samples: VolumeSample[] = [];
  const done = (): VolumeScanResult => r.finish(samples);
  if (!(await isFolder(dir))) {
    problems.push({ path: dir, message: 'no such folder' });
    return done();
  }
  const images = await listByStem(dir, 'images', NIFTI, problems);
  const masks = await listByStem(dir, 'masks', NIFTI, problems);
  const labels = await listByStem(dir, 'labels', NIFTI, problems);
  if (masks && labels && masks.size > 0 && labels.size > 0) {
    problems.push({ path: dir, message: 'both masks/ and labels/ hold NIfTI files; keep one mask folder' });
    return done();
  }
  const [maskSub, maskFiles] =
    masks && (masks.size > 0 || !labels || labels.size === 0) ? ['masks', masks] : ['labels', labels];
  if (!images)
    problems.push({
      path: dir,
      message: 'no images/ folder (expected images/ and masks/ with .nii or .nii.gz files matched by name)',
    });
  if (!maskFiles)
    problems.push({
      path: dir,
      message: 'no masks/ or labels/ folder (expected images/ and masks/ with .nii or .nii.gz files matched by name)',
    });
  if (!images || !maskFiles) return done();
  if (images.size === 0) {
    problems.push({ path: join(dir, 'images'), message: 'no .nii or .nii.gz images' });
    return done();
  }
  for (const [name, file] of maskFiles) {
    if (!images.has(name))
      problems.push({
        path: join(dir, maskSub, file),
        message: `no image for this mask (looked for images/${name}.nii and images/${name}.nii.gz)`,
      });
  }
  for (const [name, file] of [...images].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const before = problems.length;
    const image = await r.read('images', file, parseNifti);
    const maskFile = maskFiles.get(name);
    if (maskFile === undefined) {
      problems.push({
        path: join(dir, 'images', file),
        message: `no mask (looked for ${maskSub}/${name}.nii and ${maskSub}/${name}.nii.gz)`,
      });
      continue;
    }
    const maskPath = join(dir, maskSub, maskFile);
    const mask = await r.read(maskSub, maskFile, parseNifti);
    if (!mask) continue;
    // Mask values are checked even when the image is unreadable, so one pass reports both.
    const values = maskValues(mask);
    const valueProblem =
      'problem' in values
        ? values.problem
        : classes === undefined
          ? undefined
          : maskValueProblem(values.values, values.encoding, classes);
    if (valueProblem) problems.push({ path: maskPath, message: valueProblem });
    const geometry = image && geometryProblem(image, mask, file);
    if (geometry) problems.push({ path: maskPath, message: geometry });
    if (!image || problems.length > before || 'problem' in values) continue;
    samples.push({
      name,
      image: image.path,
      mask: maskPath,
      dims: image.dims,
      spacing: image.spacing,
      maskEncoding: values.encoding,
    });
  }
  return done();
}
