/**
 * `predict` over a list of inputs, images (PNG) and volumes (NIfTI, DICOM series) alike: every
 * output planned and claimed before the first is written (two inputs writing one file, or a file
 * unetc did not write in the way, stop the run with nothing written); then per input: read (a
 * corrupt file is reported and skipped, the others go on), segment, drop instances under the
 * minimum size, write the mask and what was asked for (probabilities, instance label map, a row
 * of instances.csv); at the end instances.csv and the output folder's record of what unetc wrote.
 * What differs between images and volumes (reading, naming, writing, the CSV's columns) is one
 * `Kind` each; the loop is one. Events say what happened, for the CLI to print.
 */
import { basename, extname, join, resolve } from 'node:path';
import type { SplitSettings } from '../../compiler/ir/index.js';
import {
  claimOutputs,
  DataError,
  outputClash,
  readImage,
  recordOutputs,
  toChannels,
  writeFileAtomicSync,
  writeGray,
  writeLabels,
  writeMask,
  type HWC,
} from '../data/index.js';
import { csvField } from '../eval/csv.js';
import { nonFiniteCount } from '../data/index.js';
import {
  readDicomSeries,
  readNifti,
  writeNiftiLabels,
  writeNiftiMask,
  writeNiftiVolume,
  type NiftiVolume,
} from '../volume/index.js';
import { areaSummary, removeSmall } from './instances.js';
import { connectedComponents3d } from './instances3d.js';
import { maskClasses, type SegmentationModel } from './model.js';
import {
  foregroundPlane,
  instancesOf,
  minInstanceSize,
  predictImage,
  probabilityPlane,
  type PredictOptions,
} from './predict.js';
import { UnetcError } from '../../util/error.js';
import { defined } from '../../util/object.js';
import type { VolumeSegmenter } from './segmenter.js';

/** What segments the inputs: a 2D model for images, a volume segmenter for volumes. */
export type PredictTarget =
  | { readonly kind: 'images'; readonly model: SegmentationModel }
  | { readonly kind: 'volumes'; readonly segmenter: VolumeSegmenter };

export interface PredictFilesOptions extends Omit<PredictOptions, 'onTile'> {
  /** The output folder (it exists). */
  readonly out: string;
  /** Also write instance label maps and instances.csv. */
  readonly instances?: boolean;
  /** Also write probability maps. */
  readonly probabilities?: boolean;
  /** Instances (connected pieces of the mask) under this many pixels or voxels are removed (default: the model's, see minInstanceSize; 0 for volumes). */
  readonly minSize?: number;
  /** Neighbourhood of instances: 4 or 8 for images (default 8), 6 or 26 for volumes (default 26). */
  readonly connectivity?: 4 | 8;
  readonly connectivity3d?: 6 | 26;
  /** Boundary models: split settings instead of the model's (`--split`). */
  readonly split?: SplitSettings;
  /** Replace files in `out` that unetc did not write. */
  readonly overwrite?: boolean;
  /** Progress through a large image's tiles (images only): the file, tiles done, tiles in all. */
  readonly onTile?: (file: string, done: number, total: number) => void;
}

export type PredictEvent =
  | {
      readonly kind: 'written';
      readonly index: number;
      readonly total: number;
      readonly file: string;
      /** WxH, or XxYxZ for a volume. */
      readonly size: string;
      readonly ms: number;
      /** The mask's file name. */
      readonly mask: string;
      /** Volumes: voxels of any foreground class. */
      readonly foreground?: number;
      /** With `instances`: how many, and their mean area (pixels or voxels). */
      readonly instances?: { readonly count: number; readonly meanArea: number };
    }
  | {
      readonly kind: 'skipped';
      readonly index: number;
      readonly total: number;
      readonly file: string;
      readonly error: DataError;
    }
  | { readonly kind: 'done'; readonly written: number; readonly failed: readonly string[] };

/** The part of a `written` event a kind fills in. */
type Written = Pick<Extract<PredictEvent, { kind: 'written' }>, 'size' | 'mask' | 'foreground' | 'instances'>;

/** What images and volumes each do their own way. */
interface Kind<T> {
  /** Every file `predict` writes for `file`, by name. */
  names(file: string): string[];
  readonly csvHeader: string;
  /** Reads an input; a DataError for a bad file (which is then skipped). */
  read(file: string): Promise<T>;
  /** Segments and writes; returns what to report and its instances.csv row. */
  run(
    input: T,
    file: string,
  ): Promise<{ readonly written: Written; readonly files: readonly string[]; readonly csvRow?: string }>;
}

/** Segments each file and writes its outputs into `o.out`, as `unetc predict` does (see the top of this file). */
export async function* predictFiles(
  target: PredictTarget,
  files: readonly string[],
  o: PredictFilesOptions,
): AsyncGenerator<PredictEvent> {
  const kind: Kind<unknown> = (
    target.kind === 'images' ? imageKind(target.model, o) : volumeKind(target.segmenter, o)
  ) as Kind<unknown>;
  const clash = outputClash(files, (f) => kind.names(f));
  if (clash)
    throw new UnetcError(
      undefined,
      `${clash.file} and ${clash.other} would both write ${join(o.out, clash.name)}: rename one of them, or predict them into separate folders`,
      { exitCode: 2 },
    );
  claimOutputs(
    [...files.flatMap((f) => kind.names(f)), ...(o.instances ? ['instances.csv'] : [])].map((n) => join(o.out, n)),
    { overwrite: o.overwrite, what: 'masks' },
  );
  const failed: string[] = [];
  const written: string[] = [];
  const csv: string[] = [kind.csvHeader];
  for (const [index, file] of files.entries()) {
    let input: unknown;
    try {
      input = await kind.read(file);
    } catch (e) {
      if (!(e instanceof DataError)) throw e;
      failed.push(file);
      yield { kind: 'skipped', index, total: files.length, file, error: e };
      continue;
    }
    const start = performance.now();
    const result = await kind.run(input, file);
    const ms = performance.now() - start;
    written.push(...result.files);
    if (result.csvRow !== undefined) csv.push(result.csvRow);
    yield { kind: 'written', index, total: files.length, file, ms, ...result.written };
  }
  if (o.instances) {
    writeFileAtomicSync(join(o.out, 'instances.csv'), csv.join(''));
    written.push(join(o.out, 'instances.csv'));
  }
  recordOutputs(written);
  yield { kind: 'done', written: files.length - failed.length, failed };
}

const stemOf = (file: string) => basename(file, extname(file));

function imageKind(model: SegmentationModel, o: PredictFilesOptions): Kind<HWC<Float32Array>> {
  const { classes, inputChannels } = model.info;
  const binary = maskClasses(model.info) === 2;
  const probNames = (stem: string) =>
    binary ? [`${stem}_prob.png`] : Array.from({ length: classes - 1 }, (_, k) => `${stem}_prob_${k + 1}.png`);
  const minSize = minInstanceSize(model.info, o.minSize);
  return {
    names: (file) => {
      const stem = stemOf(file);
      return [
        `${stem}.png`,
        ...(o.probabilities ? probNames(stem) : []),
        ...(o.instances ? [`${stem}_labels.png`] : []),
      ];
    },
    csvHeader: 'file,count,mean_area,median_area,min_area,max_area\n',
    async read(file) {
      const png = await readImage(file);
      return {
        height: png.height,
        width: png.width,
        channels: inputChannels,
        data: toChannels(png, inputChannels, file),
      };
    },
    async run(image, file) {
      const stem = stemOf(file);
      const onTile = o.onTile && ((done: number, total: number) => o.onTile!(file, done, total));
      const p = await predictImage(
        model,
        image,
        defined({ tile: o.tile, overlap: o.overlap, threshold: o.threshold, tta: o.tta, onTile }),
      );
      const { height, width } = p;
      const found =
        o.instances || minSize > 0
          ? instancesOf(p, model.info, {
              connectivity: o.connectivity ?? 8,
              minSize,
              ...defined({ threshold: o.threshold, split: o.split }),
            })
          : undefined;
      const mask = found && minSize > 0 ? removeSmall(p.classMap, found) : p.classMap;
      const files = [join(o.out, `${stem}.png`)];
      await writeMask(files[0]!, { width, height, data: mask }, { binary });
      if (o.probabilities) {
        const planes = binary
          ? [foregroundPlane(p, model.info)]
          : Array.from({ length: classes - 1 }, (_, k) => probabilityPlane(p, k + 1));
        for (const [k, name] of probNames(stem).entries()) {
          await writeGray(join(o.out, name), { width, height, data: planes[k]! }, 16);
          files.push(join(o.out, name));
        }
      }
      const size = `${width}x${height}`;
      if (!(o.instances && found)) return { written: { size, mask: `${stem}.png` }, files };
      await writeLabels(join(o.out, `${stem}_labels.png`), { width, height, data: found.labels });
      files.push(join(o.out, `${stem}_labels.png`));
      const a = areaSummary(found.components);
      const csvRow = `${csvField(basename(file))},${a.count},${a.mean.toFixed(1)},${a.median},${a.min},${a.max}\n`;
      return { written: { size, mask: `${stem}.png`, instances: { count: a.count, meanArea: a.mean } }, files, csvRow };
    },
  };
}

/** NIfTI file names: `case_001.nii.gz`. */
export const NIFTI_NAME = /\.nii(\.gz)?$/i;

/** `case_001.nii.gz` -> `case_001`. */
export const niftiStem = (file: string) => basename(file).replace(NIFTI_NAME, '');

/** A volume's mask name: the stem with the input's own extension (.nii or .nii.gz); a DICOM series folder's name + .nii.gz. */
const volumeName = (file: string) =>
  NIFTI_NAME.test(file)
    ? `${niftiStem(file)}${/\.gz$/i.test(file) ? '.nii.gz' : '.nii'}`
    : `${basename(resolve(file))}.nii.gz`;

/** The volume's mask name with a suffix before the extension: `case_001_labels.nii.gz`. */
const suffixed = (file: string, suffix: string) => volumeName(file).replace(/(\.nii(\.gz)?)$/i, `${suffix}$1`);

/** Millimetres per spatial unit of the header's xyzt_units (metres, microns; mm or unset: 1). */
export function mmPerUnit(v: NiftiVolume): number {
  const view = new DataView(v.header.buffer, v.header.byteOffset, v.header.byteLength);
  const code = (v.version === 1 ? (v.header[123] ?? 0) : view.getInt32(500, v.littleEndian)) & 0x07;
  return code === 1 ? 1000 : code === 3 ? 0.001 : 1;
}

/**
 * Volumes: each mask is NIfTI with the input's header (affine, qform/sform, spacing, units,
 * description; for DICOM, the series' geometry in RAS), uint8 labels; instances are 3D
 * connected components.
 */
function volumeKind(segmenter: VolumeSegmenter, o: PredictFilesOptions): Kind<NiftiVolume> {
  const minSize = o.minSize ?? 0;
  const connectivity = o.connectivity3d ?? 26;
  return {
    names: (file) => [
      volumeName(file),
      ...(o.instances ? [suffixed(file, '_labels')] : []),
      ...(o.probabilities ? [suffixed(file, '_prob')] : []),
    ],
    csvHeader: 'file,count,mean_voxels,median_voxels,min_voxels,max_voxels,mean_mm3\n',
    async read(file) {
      const v = NIFTI_NAME.test(file) ? await readNifti(file) : await readDicomSeries(file);
      const bad = nonFiniteCount(v.data);
      if (bad > 0)
        throw new DataError(
          file,
          `${bad} voxel${bad === 1 ? ' is' : 's are'} NaN or infinite; fix or mask them before segmenting`,
        );
      return v;
    },
    async run(volume, file) {
      const result = await segmenter.segment(volume);
      const [nx, ny, nz] = volume.dims;
      const found =
        o.instances || minSize > 0
          ? connectedComponents3d(result.labels, [nz, ny, nx], { connectivity, minSize })
          : undefined;
      const labels = found && minSize > 0 ? result.labels.map((v, p) => (found.labels[p] ? v : 0)) : result.labels;
      const files = [join(o.out, volumeName(file))];
      await writeNiftiMask(files[0]!, volume, labels);
      let foreground = 0;
      for (const v of labels) if (v > 0) foreground++;
      let instances: Written['instances'];
      let csvRow: string | undefined;
      if (o.instances && found) {
        await writeNiftiLabels(join(o.out, suffixed(file, '_labels')), volume, found.labels);
        files.push(join(o.out, suffixed(file, '_labels')));
        const sizes = found.components.map((c) => c.volume).sort((a, b) => a - b);
        const mean = sizes.reduce((a, b) => a + b, 0) / Math.max(1, sizes.length);
        const mm3 = volume.spacing.reduce((a, b) => a * Math.abs(b) * mmPerUnit(volume), 1);
        csvRow = `${csvField(basename(file))},${sizes.length},${mean.toFixed(1)},${sizes[sizes.length >> 1] ?? 0},${sizes[0] ?? 0},${sizes[sizes.length - 1] ?? 0},${(mean * mm3).toFixed(3)}\n`;
        instances = { count: sizes.length, meanArea: mean };
      }
      if (o.probabilities) {
        const binary = result.probabilities.length === 1;
        for (const [k, plane] of result.probabilities.entries()) {
          if (!binary && k === 0) continue;
          const path = join(o.out, suffixed(file, binary ? '_prob' : `_prob_${k}`));
          // Per-class names are known only now (the planned name is the binary one).
          if (!binary) claimOutputs([path], { overwrite: o.overwrite, what: 'probabilities' });
          await writeNiftiVolume(path, volume, plane);
          files.push(path);
        }
      }
      return {
        written: { size: `${nx}x${ny}x${nz}`, mask: volumeName(file), foreground, ...(instances ? { instances } : {}) },
        files,
        ...(csvRow === undefined ? {} : { csvRow }),
      };
    },
  };
}
