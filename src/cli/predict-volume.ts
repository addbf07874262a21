/**
 * `unetc predict` on NIfTI volumes (.nii, .nii.gz) and DICOM series (a folder of one series):
 * a 3D model segments each volume in 3D tiles; a 2D model slice by slice across --slice-axis.
 * Each mask is written as NIfTI with the input's header (affine, qform/sform, spacing, units,
 * description; for DICOM, the series' geometry in RAS), uint8 labels.
 */
import { basename, join } from 'node:path';
import { DataError } from '../runtime/data/index.js';
import { predictImage, type SegmentationModel } from '../runtime/infer/index.js';
import { loadVolumeModel, predictVolume, type VolumeModel } from '../runtime/infer/volume.js';
import { closeSync, openSync, readdirSync, readSync } from 'node:fs';
import { placeSlice, readDicomSeries, readNifti, sliceVolume, writeNiftiMask, type NiftiVolume, type SliceAxis } from '../runtime/volume/index.js';
import { UsageError, type CliIO } from './io.js';
import { nonFiniteCount } from '../runtime/train/volume-data.js';
import { isFileEntry } from '../runtime/data/entries.js';

export const NIFTI_NAME = /\.nii(\.gz)?$/i;

/** `case_001.nii.gz` -> `case_001`. */
export const niftiStem = (file: string) => basename(file).replace(NIFTI_NAME, '');

/** The output name: the stem with the input's own extension (.nii or .nii.gz); a DICOM series folder's name + .nii.gz. */
const outputName = (file: string) => (NIFTI_NAME.test(file) ? `${niftiStem(file)}${/\.gz$/i.test(file) ? '.nii.gz' : '.nii'}` : `${basename(file)}.nii.gz`);

/** Whether a folder holds DICOM files (a .dcm name, or the 'DICM' magic at byte 128 of its first regular files). */
export function isDicomFolder(dir: string): boolean {
  let names: string[];
  try {
    names = readdirSync(dir, { withFileTypes: true }).filter((e) => isFileEntry(dir, e)).map((e) => e.name);
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

export interface VolumePredictOptions {
  readonly out: string;
  readonly tile?: number;
  readonly overlap?: number;
  readonly threshold?: number;
  readonly sliceAxis: SliceAxis;
  readonly backend?: string;
}

/** Segments one volume into uint8 labels (NIfTI voxel order). */
export interface VolumeSegmenter {
  readonly classes: number;
  readonly threshold: number;
  segment(v: NiftiVolume): Promise<Uint8Array>;
  close(): Promise<void>;
}

/**
 * A segmenter for NIfTI volumes: a 3D model segments in 3D tiles; a 2D model (opened as
 * `predict` opens it, printing what it is) slice by slice across `o.sliceAxis`.
 */
export async function openVolumeSegmenter(io: CliIO, modelPath: string, threeD: boolean, o: Omit<VolumePredictOptions, 'out'>, open2d: () => Promise<SegmentationModel>): Promise<VolumeSegmenter> {
  const tiling = { ...(o.tile === undefined ? {} : { tile: o.tile }), ...(o.threshold === undefined ? {} : { threshold: o.threshold }) };
  if (threeD) {
    const model: VolumeModel = await loadVolumeModel(modelPath, o.backend === undefined ? {} : { backend: o.backend });
    const i = model.info;
    io.stderr(`engine: ${model.engine}\n`);
    io.stderr(`model: ${i.path} (${i.name}: 3D, ${i.inputChannels} channel -> ${i.classes === 1 ? `1 class (${i.activation})` : `${i.classes} classes`}, input ${i.normalization}, sides multiples of ${i.divisor.join('x')})\n`);
    if (i.inputChannels !== 1) {
      await model.close();
      throw new UsageError(`${i.path} takes ${i.inputChannels} channels; NIfTI volumes have one`);
    }
    return {
      classes: i.classes,
      threshold: o.threshold ?? i.threshold,
      async segment(v) {
        const [nx, ny, nz] = v.dims;
        return (await predictVolume(model, v.data, [nz, ny, nx], { ...tiling, ...(o.overlap === undefined ? {} : { overlap: o.overlap }) })).classMap;
      },
      close: () => model.close(),
    };
  }
  const model = await open2d();
  if (model.info.inputChannels !== 1) {
    await model.close();
    throw new UsageError(`${model.info.path} takes ${model.info.inputChannels} channels; NIfTI volumes have one`);
  }
  return {
    classes: model.info.classes,
    threshold: o.threshold ?? model.info.threshold,
    async segment(v) {
      const [nx, ny, nz] = v.dims;
      const count = o.sliceAxis === 'z' ? nz : o.sliceAxis === 'y' ? ny : nx;
      const labels = new Uint8Array(nx * ny * nz);
      for (let k = 0; k < count; k++) {
        const s = sliceVolume(v.data, v.dims, o.sliceAxis, k);
        const p = await predictImage(model, { height: s.height, width: s.width, channels: 1, data: s.data }, { ...tiling, ...(o.overlap === undefined ? {} : { overlap: o.overlap }) });
        placeSlice(labels, v.dims, o.sliceAxis, k, { height: s.height, width: s.width, data: p.classMap });
      }
      return labels;
    },
    close: () => model.close(),
  };
}

/** Segments each volume and writes its mask with the input's header; a corrupt file is named and skipped. */
export async function predictVolumes(io: CliIO, segmenter: VolumeSegmenter, files: readonly string[], out: string): Promise<number> {
  const failed: string[] = [];
  for (const [index, file] of files.entries()) {
    let volume: NiftiVolume;
    try {
      volume = NIFTI_NAME.test(file) ? await readNifti(file) : await readDicomSeries(file);
      const bad = nonFiniteCount(volume.data);
      if (bad > 0) throw new DataError(file, `${bad} voxel${bad === 1 ? ' is' : 's are'} NaN or infinite; fix or mask them before segmenting`);
    } catch (e) {
      if (!(e instanceof DataError)) throw e;
      io.stderr(`error: ${e.message}\n`);
      failed.push(file);
      continue;
    }
    const start = performance.now();
    const labels = await segmenter.segment(volume);
    const ms = performance.now() - start;
    await writeNiftiMask(join(out, outputName(file)), volume, labels);
    let foreground = 0;
    for (const v of labels) if (v > 0) foreground++;
    const [nx, ny, nz] = volume.dims;
    io.stdout(`[${index + 1}/${files.length}] ${basename(file)} ${nx}x${ny}x${nz} ${Math.round(ms)} ms, ${foreground} foreground voxel${foreground === 1 ? '' : 's'} -> ${outputName(file)}\n`);
  }
  const written = files.length - failed.length;
  io.stdout(`wrote ${written} NIfTI mask${written === 1 ? '' : 's'} to ${out} (headers copied from the inputs)\n`);
  if (failed.length === 0) return 0;
  io.stderr(`error: ${failed.length} of ${files.length} volume${files.length === 1 ? '' : 's'} were skipped (listed above); the others were written\n`);
  return 1;
}
