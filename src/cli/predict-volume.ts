/**
 * `unetc predict` on NIfTI volumes (.nii, .nii.gz) and DICOM series (a folder of one series):
 * a 3D model segments each volume in 3D tiles; a 2D model slice by slice across --slice-axis.
 * Each mask is written as NIfTI with the input's header (affine, qform/sform, spacing, units,
 * description; for DICOM, the series' geometry in RAS), uint8 labels.
 */
import { basename, join, resolve } from 'node:path';
import { claimOutputs, DataError, outputClash, recordOutputs } from '../runtime/data/index.js';
import { predictImage, type SegmentationModel } from '../runtime/infer/index.js';
import { loadVolumeModel, predictVolume, type VolumeModel } from '../runtime/infer/volume.js';
import { closeSync, openSync, readdirSync, readSync } from 'node:fs';
import { placeSlice, readDicomSeries, readNifti, sliceVolume, writeNiftiLabels, writeNiftiMask, writeNiftiVolume, type NiftiVolume, type SliceAxis } from '../runtime/volume/index.js';
import { connectedComponents3d } from '../runtime/infer/instances3d.js';
import { csvField } from '../runtime/eval/index.js';
import { UsageError, writeFileAtomic, type CliIO } from './io.js';
import { nonFiniteCount } from '../runtime/train/volume-data.js';
import { isFileEntry } from '../runtime/data/entries.js';

export const NIFTI_NAME = /\.nii(\.gz)?$/i;

/** `case_001.nii.gz` -> `case_001`. */
export const niftiStem = (file: string) => basename(file).replace(NIFTI_NAME, '');

/** The output name: the stem with the input's own extension (.nii or .nii.gz); a DICOM series folder's name + .nii.gz. */
const outputName = (file: string) => (NIFTI_NAME.test(file) ? `${niftiStem(file)}${/\.gz$/i.test(file) ? '.nii.gz' : '.nii'}` : `${basename(resolve(file))}.nii.gz`);

/**
 * Reads one input for predict: a DataError (a corrupt or unreadable file) is reported and the
 * file recorded as failed (undefined comes back; the others go on, the exit code says so);
 * anything else is a bug and is rethrown.
 */
export async function readOrSkip<T>(io: CliIO, file: string, failed: string[], read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (e) {
    if (!(e instanceof DataError)) throw e;
    io.stderr(`error: ${e.message}\n`);
    failed.push(file);
    return undefined;
  }
}

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

/** One volume's segmentation, in NIfTI voxel order. */
export interface VolumeSegmentation {
  /** A class id per voxel. */
  readonly labels: Uint8Array;
  /** Per output channel (one for a sigmoid mask, one per class for softmax), a probability per voxel. */
  readonly probabilities: readonly Float32Array[];
}

/** Segments volumes with a loaded model. */
export interface VolumeSegmenter {
  readonly classes: number;
  readonly threshold: number;
  segment(v: NiftiVolume): Promise<VolumeSegmentation>;
  close(): Promise<void>;
}

/** Channel-interleaved probabilities (voxel-major) as one array per channel. */
function planes(probabilities: Float32Array, channels: number): Float32Array[] {
  const voxels = probabilities.length / channels;
  return Array.from({ length: channels }, (_, k) => {
    const out = new Float32Array(voxels);
    for (let p = 0; p < voxels; p++) out[p] = probabilities[p * channels + k]!;
    return out;
  });
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
    io.stderr(`model: ${i.path} (${i.name}: 3D, ${i.inputChannels} channel -> ${i.classes === 1 ? `1 class (${i.activation})` : `${i.classes} classes`}, input ${i.normalization}, sides ${i.sizes.every((r) => r.text === i.sizes[0]!.text) ? i.sizes[0]!.text : i.sizes.map((r, a) => `${['depth', 'height', 'width'][a]} ${r.text}`).join(', ')}${i.margin.some((m) => m > 0) ? `, output ${i.margin.join('x')} smaller on each side` : ''})\n`);
    if (i.inputChannels !== 1) {
      await model.close();
      throw new UsageError(`${i.path} takes ${i.inputChannels} channels; NIfTI volumes have one`);
    }
    return {
      classes: i.classes,
      threshold: o.threshold ?? i.threshold,
      async segment(v) {
        const [nx, ny, nz] = v.dims;
        const p = await predictVolume(model, v.data, [nz, ny, nx], { ...tiling, ...(o.overlap === undefined ? {} : { overlap: o.overlap }) });
        return { labels: p.classMap, probabilities: planes(p.probabilities, i.classes) };
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
      const channels = model.info.classes;
      const probabilities = Array.from({ length: channels }, () => new Float32Array(nx * ny * nz));
      for (let k = 0; k < count; k++) {
        const s = sliceVolume(v.data, v.dims, o.sliceAxis, k);
        const p = await predictImage(model, { height: s.height, width: s.width, channels: 1, data: s.data }, { ...tiling, ...(o.overlap === undefined ? {} : { overlap: o.overlap }) });
        placeSlice(labels, v.dims, o.sliceAxis, k, { height: s.height, width: s.width, data: p.classMap });
        planes(p.probabilities, channels).forEach((plane, c) => placeSlice(probabilities[c]!, v.dims, o.sliceAxis, k, { height: s.height, width: s.width, data: plane }));
      }
      return { labels, probabilities };
    },
    close: () => model.close(),
  };
}

/** Millimetres per spatial unit of the header's xyzt_units (metres, microns; mm or unset: 1). */
export function mmPerUnit(v: NiftiVolume): number {
  const view = new DataView(v.header.buffer, v.header.byteOffset, v.header.byteLength);
  const code = (v.version === 1 ? (v.header[123] ?? 0) : view.getInt32(500, v.littleEndian)) & 0x07;
  return code === 1 ? 1000 : code === 3 ? 0.001 : 1;
}

/** What `predict` writes besides each volume's mask. */
export interface VolumeOutputs {
  /** `<name>_labels.nii.gz` (uint16 instance ids) and instances.csv. */
  readonly instances?: boolean;
  /** `<name>_prob.nii.gz` (float32; `_prob_<k>` per class k >= 1 for softmax models). */
  readonly probabilities?: boolean;
  /** Components of fewer voxels are removed from the mask (and the label map). */
  readonly minSize: number;
  readonly connectivity: 6 | 26;
  /** Replace files in the output folder that unetc did not write. */
  readonly overwrite?: boolean;
}

/**
 * Plans every output of a predict run before the first is written: two inputs writing one file
 * are a usage error, and a file in `out` that unetc did not write stops the run (unless
 * `overwrite`); the rest are claimed. Images and volumes alike.
 */
export function claimPredictOutputs(out: string, files: readonly string[], namesOf: (file: string) => readonly string[], instances: boolean, overwrite: boolean | undefined): void {
  const clash = outputClash(files, namesOf);
  if (clash) throw new UsageError(`${clash.file} and ${clash.other} would both write ${join(out, clash.name)}: rename one of them, or predict them into separate folders`);
  claimOutputs([...files.flatMap(namesOf), ...(instances ? ['instances.csv'] : [])].map((n) => join(out, n)), { overwrite, what: 'masks' });
}

/** The output name with a suffix before the extension: `case_001_labels.nii.gz`. */
const suffixed = (file: string, suffix: string) => outputName(file).replace(/(\.nii(\.gz)?)$/i, `${suffix}$1`);

/**
 * Segments each volume and writes its mask with the input's header (and, as asked, instance
 * label maps, instances.csv and probability maps); a corrupt file is named and skipped.
 */
export async function predictVolumes(io: CliIO, segmenter: VolumeSegmenter, files: readonly string[], out: string, extra: VolumeOutputs = { minSize: 0, connectivity: 26 }): Promise<number> {
  const namesOf = (file: string) => [outputName(file), ...(extra.instances ? [suffixed(file, '_labels')] : []), ...(extra.probabilities ? [suffixed(file, '_prob')] : [])];
  claimPredictOutputs(out, files, namesOf, extra.instances === true, extra.overwrite);
  const failed: string[] = [];
  const written: string[] = [];
  const csv: string[] = ['file,count,mean_voxels,median_voxels,min_voxels,max_voxels,mean_mm3\n'];
  for (const [index, file] of files.entries()) {
    const volume = await readOrSkip(io, file, failed, async () => {
      const v = NIFTI_NAME.test(file) ? await readNifti(file) : await readDicomSeries(file);
      const bad = nonFiniteCount(v.data);
      if (bad > 0) throw new DataError(file, `${bad} voxel${bad === 1 ? ' is' : 's are'} NaN or infinite; fix or mask them before segmenting`);
      return v;
    });
    if (volume === undefined) continue;
    const start = performance.now();
    const result = await segmenter.segment(volume);
    const ms = performance.now() - start;
    const [nx, ny, nz] = volume.dims;
    const found = extra.instances || extra.minSize > 0 ? connectedComponents3d(result.labels, [nz, ny, nx], { connectivity: extra.connectivity, minSize: extra.minSize }) : undefined;
    const labels = found && extra.minSize > 0 ? result.labels.map((v, p) => (found.labels[p] ? v : 0)) : result.labels;
    await writeNiftiMask(join(out, outputName(file)), volume, labels);
    written.push(join(out, outputName(file)));
    let foreground = 0;
    for (const v of labels) if (v > 0) foreground++;
    let detail = '';
    if (extra.instances && found) {
      await writeNiftiLabels(join(out, suffixed(file, '_labels')), volume, found.labels);
      written.push(join(out, suffixed(file, '_labels')));
      const sizes = found.components.map((c) => c.volume).sort((a, b) => a - b);
      const mean = sizes.reduce((a, b) => a + b, 0) / Math.max(1, sizes.length);
      const mm3 = volume.spacing.reduce((a, b) => a * Math.abs(b) * mmPerUnit(volume), 1);
      csv.push(`${csvField(basename(file))},${sizes.length},${mean.toFixed(1)},${sizes[sizes.length >> 1] ?? 0},${sizes[0] ?? 0},${sizes[sizes.length - 1] ?? 0},${(mean * mm3).toFixed(3)}\n`);
      detail = `, ${sizes.length} instance${sizes.length === 1 ? '' : 's'}`;
    }
    if (extra.probabilities) {
      const binary = result.probabilities.length === 1;
      for (const [k, plane] of result.probabilities.entries()) {
        if (!binary && k === 0) continue;
        const path = join(out, suffixed(file, binary ? '_prob' : `_prob_${k}`));
        if (!binary) claimOutputs([path], { overwrite: extra.overwrite, what: 'probabilities' });
        await writeNiftiVolume(path, volume, plane);
        written.push(path);
      }
    }
    io.stdout(`[${index + 1}/${files.length}] ${basename(file)} ${nx}x${ny}x${nz} ${Math.round(ms)} ms, ${foreground} foreground voxel${foreground === 1 ? '' : 's'}${detail} -> ${outputName(file)}\n`);
  }
  if (extra.instances) {
    writeFileAtomic(join(out, 'instances.csv'), csv.join(''));
    written.push(join(out, 'instances.csv'));
  }
  recordOutputs(written);
  const masks = files.length - failed.length;
  io.stdout(`wrote ${masks} NIfTI mask${masks === 1 ? '' : 's'} to ${out} (headers copied from the inputs)\n`);
  if (failed.length === 0) return 0;
  io.stderr(`error: ${failed.length} of ${files.length} volume${files.length === 1 ? '' : 's'} were skipped (listed above); the others were written\n`);
  return 1;
}
