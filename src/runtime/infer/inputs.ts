/**
 * What `predict --input` names: one file, a folder of one DICOM series (one volume), or a
 * folder (its images/ subfolder when there is one) of PNG images, NIfTI volumes and DICOM series
 * folders. Other image formats are listed as skipped, so the caller can say so.
 */
import { closeSync, existsSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DataError } from '../data/index.js';
import { isFileEntry } from '../data/entries.js';
import { NIFTI_NAME } from './folder.js';

const IMAGE_EXT = /\.(png|tiff?|jpe?g|bmp|gif|webp|nii|nii\.gz)$/i;

export interface PredictInputs {
  /** The inputs, sorted: PNG and NIfTI files, then DICOM series folders. */
  readonly files: readonly string[];
  /** The folder they are in (the masks must not go there). */
  readonly dir: string;
  /** Image files of other formats, not read. */
  readonly skipped: readonly string[];
  /** How many of `files` are volumes (NIfTI files and DICOM series). */
  readonly volumes: number;
}

/** The inputs `input` names; a DataError when there is none. */
export function listPredictInputs(input: string): PredictInputs {
  if (!existsSync(input)) throw new DataError(input, 'no such file or folder');
  if (!statSync(input).isDirectory())
    return { files: [input], dir: dirname(input), skipped: [], volumes: NIFTI_NAME.test(input) ? 1 : 0 };
  if (isDicomFolder(input)) return { files: [input], dir: input, skipped: [], volumes: 1 };
  const images = join(input, 'images');
  const dir = existsSync(images) && statSync(images).isDirectory() ? images : input;
  const entries = readdirSync(dir, { withFileTypes: true }).filter((e) => !e.name.startsWith('.'));
  const names = entries
    .filter((e) => isFileEntry(dir, e) && IMAGE_EXT.test(e.name))
    .map((e) => e.name)
    .sort();
  const read = (n: string) => /\.png$/i.test(n) || NIFTI_NAME.test(n);
  // Subfolders that each hold one DICOM series are volumes too (a study folder of series).
  const series = entries
    .filter((e) => (e.isDirectory() || e.isSymbolicLink()) && isDicomFolder(join(dir, e.name)))
    .map((e) => join(dir, e.name))
    .sort();
  const files = [...names.filter(read).map((n) => join(dir, n)), ...series];
  if (files.length === 0) throw new DataError(dir, 'no PNG images, NIfTI volumes or DICOM series folders');
  return {
    files,
    dir,
    skipped: names.filter((n) => !read(n)).map((n) => join(dir, n)),
    volumes: names.filter((n) => NIFTI_NAME.test(n)).length + series.length,
  };
}

/** Whether a folder holds DICOM files (a .dcm name, or the 'DICM' magic at byte 128 of its first regular files). */
export function isDicomFolder(dir: string): boolean {
  let names: string[];
  try {
    names = readdirSync(dir, { withFileTypes: true })
      .filter((e) => isFileEntry(dir, e))
      .map((e) => e.name);
  } catch {
    return false;
  }
  if (names.some((n) => /\.dcm$/i.test(n))) return true;
  for (const n of names.slice(0, 8)) {
    try {
      const fd = openSync(join(dir, n), 'r');
      try {
        const magic = Buffer.alloc(4);
        if (readSync(fd, magic, 0, 4, 128) === 4 && magic.toString('latin1') === 'DICM') return true;
      } finally {
        closeSync(fd);
      }
    } catch {
      // unreadable: not evidence either way
    }
  }
  return false;
}
