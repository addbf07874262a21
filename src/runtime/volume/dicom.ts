/**
 * DICOM series as volumes: a folder of single-frame files (one CT or MR series) becomes a
 * `NiftiVolume` with a fresh NIfTI-1 header, so it goes through `unetc predict` like a .nii and
 * `writeNiftiMask` writes a mask that lies over the scan.
 *
 * Slices are sorted by position along the slice normal (row cosine x column cosine of
 * ImageOrientationPatient), never by file name or InstanceNumber. Voxel (i, j, k) is column i,
 * row j of the k-th slice in that order: index `i + nx * (j + ny * k)`, dims [Columns, Rows,
 * slices], spacing [column spacing, row spacing, slice spacing] (PixelSpacing stores the row
 * spacing first). The affine maps voxels to RAS (NIfTI), from DICOM's LPS:
 * diag(-1, -1, 1) * [rowCos * dc, colCos * dr, (last - first position) / (n - 1), first position].
 *
 * Every folder that is not one regular series is refused with a `DataError` naming the folder or
 * file and what is wrong: files that should be slices but are not DICOM, more than one series, compressed or color pixels, differing orientation,
 * size or pixel spacing, duplicate positions, uneven slice spacing (a missing slice), gantry tilt.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DataError } from '../../util/error.js';
import { readBytes } from '../data/png.js';
import { createNiftiHeader } from './create.js';
import { checkSliceFormat, hasDicomPreamble, parseDicomSlice, slicePixels, type DicomSlice } from './dicom-file.js';
import type { NiftiVolume } from './nifti.js';

/** A file of a series folder. */
export interface DicomFileBytes {
  readonly path: string;
  readonly bytes: Uint8Array;
}

type Vec3 = [number, number, number];

const sub = (a: readonly number[], b: readonly number[]): Vec3 => [a[0]! - b[0]!, a[1]! - b[1]!, a[2]! - b[2]!];
const dot = (a: readonly number[], b: readonly number[]): number => a[0]! * b[0]! + a[1]! * b[1]! + a[2]! * b[2]!;
const cross = (a: readonly number[], b: readonly number[]): Vec3 => [
  a[1]! * b[2]! - a[2]! * b[1]!,
  a[2]! * b[0]! - a[0]! * b[2]!,
  a[0]! * b[1]! - a[1]! * b[0]!,
];
const norm = (a: readonly number[]): number => Math.hypot(a[0]!, a[1]!, a[2]!);
const scale = (a: readonly number[], s: number): Vec3 => [a[0]! * s, a[1]! * s, a[2]! * s];
const fmt = (v: number): string => String(Number(v.toPrecision(6)));
const fmtVec = (v: readonly number[]): string => `(${v.map(fmt).join(', ')})`;
const base = (path: string): string => path.slice(path.lastIndexOf('/') + 1);

/** Tolerances: orientation components, relative pixel spacing, slice gaps (mm, or relative). */
const orientationTol = 1e-4;
const spacingTol = 1e-4;
const gapTolMm = 0.01;
const gapTolRel = 0.01;

/**
 * Files a series folder may hold beside its slices: hidden files, and names no DICOM file has
 * (notes, thumbnails, converted volumes). Any other file that is not DICOM is a damaged slice
 * until shown otherwise: skipping it would shift or shorten the volume without a word.
 */
const NOT_A_SLICE = /^\.|\.(txt|md|json|xml|csv|html?|pdf|png|jpe?g|gif|bmp|tiff?|nii|nii\.gz|gz|zip|tar|sh|py|log)$/i;

/** The one image series in the files; refuses none or several, and files that should be slices but cannot be read. */
function oneSeries(files: readonly DicomFileBytes[], dir: string): DicomSlice[] {
  const bySeries = new Map<string, DicomSlice[]>();
  const unreadable: string[] = [];
  for (const f of files) {
    if (!hasDicomPreamble(f.bytes)) {
      if (!NOT_A_SLICE.test(base(f.path))) unreadable.push(base(f.path));
      continue;
    }
    const slice = parseDicomSlice(f.bytes, f.path);
    if (!slice) continue;
    const list = bySeries.get(slice.seriesUid) ?? [];
    list.push(slice);
    bySeries.set(slice.seriesUid, list);
  }
  if (bySeries.size === 0) {
    throw new DataError(
      dir,
      `no DICOM images among its ${files.length} files (a DICOM image file has 'DICM' after a 128-byte preamble, and pixel data)`,
    );
  }
  if (unreadable.length > 0) {
    const listed =
      unreadable.slice(0, 5).join(', ') + (unreadable.length > 5 ? `, ... (${unreadable.length} in all)` : '');
    throw new DataError(
      dir,
      `${unreadable.length} file${unreadable.length === 1 ? ' is' : 's are'} not DICOM (no 'DICM' after the 128-byte preamble): ${listed}; damaged slices would leave the volume short or shifted, so nothing is read: restore ${unreadable.length === 1 ? 'it' : 'them'}, or move out what is not part of the series`,
    );
  }
  if (bySeries.size > 1) {
    const list = [...bySeries.values()]
      .map(
        (s) =>
          `  ${s[0]!.seriesUid || '(no SeriesInstanceUID)'} '${s[0]!.seriesDescription}': ${s.length} file${s.length === 1 ? '' : 's'}`,
      )
      .join('\n');
    throw new DataError(
      dir,
      `${bySeries.size} DICOM series in one folder; put each series in a folder of its own:\n${list}`,
    );
  }
  return [...bySeries.values()][0]!;
}

/** Row and column cosines, unit length; checks every slice has the same ones, size and spacing. */
function commonGeometry(slices: readonly DicomSlice[], dir: string): { row: Vec3; col: Vec3 } {
  const first = slices[0]!;
  for (const s of slices.slice(1)) {
    const differs = (what: string, a: string, b: string) =>
      new DataError(
        dir,
        `${what} differs between slices: ${base(first.path)} has ${a}, ${base(s.path)} has ${b} (a localizer or a second acquisition in the series?)`,
      );
    const worst = Math.max(...s.orientation.map((v, i) => Math.abs(v - first.orientation[i]!)));
    if (worst > orientationTol)
      throw differs('ImageOrientationPatient', first.orientation.join('\\'), s.orientation.join('\\'));
    if (s.rows !== first.rows || s.columns !== first.columns) {
      throw differs('image size (Columns x Rows)', `${first.columns}x${first.rows}`, `${s.columns}x${s.rows}`);
    }
    if (s.pixelSpacing.some((v, i) => Math.abs(v - first.pixelSpacing[i]!) > spacingTol * first.pixelSpacing[i]!)) {
      throw differs('PixelSpacing', first.pixelSpacing.join('\\'), s.pixelSpacing.join('\\'));
    }
  }
  const [row, col] = [first.orientation.slice(0, 3), first.orientation.slice(3, 6)];
  const [lr, lc] = [norm(row), norm(col)];
  if (Math.abs(lr - 1) > 1e-2 || Math.abs(lc - 1) > 1e-2 || Math.abs(dot(row, col)) > 1e-2) {
    throw new DataError(
      first.path,
      `ImageOrientationPatient ${first.orientation.join('\\')} is not two perpendicular unit vectors`,
    );
  }
  return { row: scale(row, 1 / lr), col: scale(col, 1 / lc) };
}

/** The slices in order along the normal, and the step from one slice origin to the next (LPS). */
function sortSlices(slices: readonly DicomSlice[], normal: Vec3, dir: string): { sorted: DicomSlice[]; step: Vec3 } {
  const keyed = slices.map((s) => ({ s, key: dot(s.position, normal) })).sort((a, b) => a.key - b.key);
  const sorted = keyed.map((e) => e.s);
  const n = sorted.length;
  if (n === 1) {
    const thickness = sorted[0]!.sliceThickness;
    return { sorted, step: scale(normal, thickness !== undefined && thickness > 0 ? thickness : 1) };
  }
  const gaps = keyed.slice(1).map((e, k) => e.key - keyed[k]!.key);
  const dup = gaps.findIndex((g) => g < gapTolMm);
  if (dup >= 0) {
    const [a, b] = [sorted[dup]!, sorted[dup + 1]!];
    throw new DataError(
      dir,
      `two slices at the same position ${fmtVec(a.position)}: ${base(a.path)} and ${base(b.path)} (several echoes, phases or acquisitions in one series? put each in a folder of its own)`,
    );
  }
  const mean = (keyed[n - 1]!.key - keyed[0]!.key) / (n - 1);
  let worst = 0;
  for (let k = 1; k < n - 1; k++) if (Math.abs(gaps[k]! - mean) > Math.abs(gaps[worst]! - mean)) worst = k;
  const deviation = Math.abs(gaps[worst]! - mean);
  if (deviation > Math.max(gapTolMm, gapTolRel * mean)) {
    throw new DataError(
      dir,
      `slice spacing is not uniform: gaps along the slice normal range from ${fmt(Math.min(...gaps))} to ${fmt(Math.max(...gaps))} mm ` +
        `(mean ${fmt(mean)} mm; the largest deviation, ${fmt(deviation)} mm, is between ${base(sorted[worst]!.path)} and ${base(sorted[worst + 1]!.path)}); a missing slice?`,
    );
  }
  const step = scale(sub(sorted[n - 1]!.position, sorted[0]!.position), 1 / (n - 1));
  // Slice origins off the normal line: a tilted gantry (sheared grid) that a qform cannot hold.
  const off = norm(sub(step, scale(normal, dot(step, normal))));
  if (off > 1e-3 * norm(step)) {
    const degrees = (Math.atan2(off, dot(step, normal)) * 180) / Math.PI;
    throw new DataError(
      dir,
      `slice origins step ${fmt(off)} mm sideways per slice (${fmt(degrees)} degrees off the slice normal: gantry tilt?); only rectangular grids are read (resample the series first)`,
    );
  }
  return { sorted, step };
}

/**
 * The volume of one series from its files' bytes (`dir` names the folder in errors and becomes
 * the volume's path). Files that are not DICOM images are skipped.
 */
export function parseDicomSeries(files: readonly DicomFileBytes[], dir: string): NiftiVolume {
  const slices = oneSeries(files, dir);
  for (const s of slices) checkSliceFormat(s);
  const { row, col } = commonGeometry(slices, dir);
  const normal = cross(row, col);
  const { sorted, step } = sortSlices(slices, normal, dir);
  const first = sorted[0]!;
  const [nx, ny, nz] = [first.columns, first.rows, sorted.length];
  const [dr, dc] = first.pixelSpacing as [number, number];
  const origin = first.position;
  // Voxel to LPS, then RAS = diag(-1, -1, 1) * LPS.
  const lps = [scale(row, dc), scale(col, dr), step, origin];
  const affine = [0, 1, 2].map((r) => lps.map((c) => (r < 2 ? -c[r]! : c[r]!)));
  const spacing: [number, number, number] = [dc, dr, norm(step)];
  const header = createNiftiHeader({ dims: [nx, ny, nz], spacing, affine, description: first.seriesDescription });
  const data = new Float32Array(nx * ny * nz);
  sorted.forEach((s, k) => data.set(slicePixels(s), k * nx * ny));
  return {
    path: dir,
    version: 1,
    dims: [nx, ny, nz],
    spacing,
    affine: [...affine, [0, 0, 0, 1]],
    datatype: 16,
    data,
    header: header.header,
    littleEndian: true,
  };
}

/** Reads every file directly in `dir` (not subfolders) as one DICOM series (see `parseDicomSeries`). */
export async function readDicomSeries(dir: string): Promise<NiftiVolume> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such folder' : code === 'ENOTDIR' ? 'not a folder' : String(error);
    throw new DataError(dir, `cannot read: ${why}`, { cause: error });
  }
  const names = entries
    .filter((e) => e.isFile() || e.isSymbolicLink())
    .map((e) => e.name)
    .sort();
  const files: DicomFileBytes[] = [];
  for (const name of names) files.push({ path: join(dir, name), bytes: await readBytes(join(dir, name)) });
  return parseDicomSeries(files, dir);
}
