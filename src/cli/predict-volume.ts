/**
 * `unetc predict` on NIfTI volumes (.nii, .nii.gz): a 3D model segments each volume in 3D
 * tiles; a 2D model segments it slice by slice across --slice-axis. Each mask is written as
 * NIfTI with the input's header (affine, qform/sform, spacing, units, description), uint8 labels.
 */
import { basename, join } from 'node:path';
import { DataError } from '../runtime/data/index.js';
import { predictImage, type SegmentationModel } from '../runtime/infer/index.js';
import { loadVolumeModel, predictVolume, type VolumeModel } from '../runtime/infer/volume.js';
import type { ModelLocation } from '../runtime/infer/model.js';
import { placeSlice, readNifti, sliceVolume, writeNiftiMask, type NiftiVolume, type SliceAxis } from '../runtime/volume/index.js';
import { UsageError, type CliIO } from './io.js';

export const NIFTI_NAME = /\.nii(\.gz)?$/i;

/** `case_001.nii.gz` -> `case_001`. */
export const niftiStem = (file: string) => basename(file).replace(NIFTI_NAME, '');

/** The output name: the stem with the input's own extension (.nii or .nii.gz). */
const outputName = (file: string) => `${niftiStem(file)}${/\.gz$/i.test(file) ? '.nii.gz' : '.nii'}`;

export interface VolumePredictOptions {
  readonly out: string;
  readonly tile?: number;
  readonly overlap?: number;
  readonly threshold?: number;
  readonly sliceAxis: SliceAxis;
  readonly backend?: string;
}

async function eachVolume(io: CliIO, files: readonly string[], out: string, segment: (v: NiftiVolume) => Promise<Uint8Array>): Promise<number> {
  const failed: string[] = [];
  for (const [index, file] of files.entries()) {
    let volume: NiftiVolume;
    try {
      volume = await readNifti(file);
    } catch (e) {
      if (!(e instanceof DataError)) throw e;
      io.stderr(`error: ${e.message}\n`);
      failed.push(file);
      continue;
    }
    const start = performance.now();
    const labels = await segment(volume);
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

/** Segments NIfTI volumes with a 3D model. */
export async function predictVolumes3d(io: CliIO, where: ModelLocation, files: readonly string[], o: VolumePredictOptions): Promise<number> {
  let model: VolumeModel | undefined;
  try {
    model = await loadVolumeModel(where, o.backend === undefined ? {} : { backend: o.backend });
    const i = model.info;
    io.stderr(`engine: ${model.engine}\n`);
    io.stderr(`model: ${i.path} (${i.name}: 3D, ${i.inputChannels} channel -> ${i.classes === 1 ? `1 class (${i.activation})` : `${i.classes} classes`}, input ${i.normalization}, sides multiples of ${i.divisor.join('x')})\n`);
    if (i.inputChannels !== 1) throw new UsageError(`${i.path} takes ${i.inputChannels} channels; NIfTI volumes have one`);
    const m = model;
    return await eachVolume(io, files, o.out, async (v) => {
      const [nx, ny, nz] = v.dims;
      const p = await predictVolume(m, v.data, [nz, ny, nx], { ...(o.tile === undefined ? {} : { tile: o.tile }), ...(o.overlap === undefined ? {} : { overlap: o.overlap }), ...(o.threshold === undefined ? {} : { threshold: o.threshold }) });
      return p.classMap;
    });
  } finally {
    await model?.close();
  }
}

/** Segments NIfTI volumes with a 2D model, slice by slice across `sliceAxis`. */
export async function predictVolumes2d(io: CliIO, model: SegmentationModel, files: readonly string[], o: VolumePredictOptions): Promise<number> {
  if (model.info.inputChannels !== 1) throw new UsageError(`${model.info.path} takes ${model.info.inputChannels} channels; NIfTI volumes have one`);
  return eachVolume(io, files, o.out, async (v) => {
    const [nx, ny, nz] = v.dims;
    const count = o.sliceAxis === 'z' ? nz : o.sliceAxis === 'y' ? ny : nx;
    const labels = new Uint8Array(nx * ny * nz);
    for (let k = 0; k < count; k++) {
      const s = sliceVolume(v.data, v.dims, o.sliceAxis, k);
      const p = await predictImage(model, { height: s.height, width: s.width, channels: 1, data: s.data }, { ...(o.tile === undefined ? {} : { tile: o.tile }), ...(o.threshold === undefined ? {} : { threshold: o.threshold }) });
      placeSlice(labels, v.dims, o.sliceAxis, k, { height: s.height, width: s.width, data: p.classMap });
    }
    return labels;
  });
}
