import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { EngineError } from '../runtime/backend/index.js';
import { CheckpointError } from '../runtime/checkpoint/index.js';
import { DataError, makeFolder, readImage, recordOutputs, toChannels, writeGray, writeLabels, writeMask, type HWC } from '../runtime/data/index.js';
import {
  areaSummary,
  instancesOf,
  loadModel,
  minInstanceSize,
  locateModel,
  maskClasses,
  ModelError,
  planTiles,
  predictImage,
  foregroundPlane,
  probabilityPlane,
  removeSmall,
  TilingError,
  tileAdvice,
  type SegmentationModel,
} from '../runtime/infer/index.js';
import { csvField } from '../runtime/eval/index.js';
import { UsageError, writeFailure, writeFileAtomic, type CliIO } from './io.js';
import { isFileEntry } from '../runtime/data/entries.js';
import { claimPredictOutputs, isDicomFolder, NIFTI_NAME, openVolumeSegmenter, predictVolumes, readOrSkip } from './predict-volume.js';
import { isVolumeModel } from '../runtime/infer/volume.js';
import { resolveModel, shippedModels } from './models.js';
import { outputText } from './check.js';
import type { SliceAxis } from '../runtime/volume/index.js';

/** The flags `predict` and `eval` share, as Commander gives them (strings). */
export interface InferenceFlags {
  readonly tile?: string;
  readonly overlap?: string;
  readonly threshold?: string;
  readonly minSize?: string;
  readonly connectivity?: string;
  readonly backend?: string;
  readonly tta?: boolean;
  /** Replace files in --out that unetc did not write. */
  readonly overwrite?: boolean;
}

/** `unetc predict` flags. */
export interface PredictCommandOptions extends InferenceFlags {
  readonly input?: string;
  readonly out?: string;
  readonly instances?: boolean;
  readonly probabilities?: boolean;
  readonly sliceAxis?: string;
}

/** Text for `--help` (the lead's main.ts adds it with `addHelpText('after', ...)`). */
export const PREDICT_HELP = `
MODEL is a run folder (its model.onnx is used), a .onnx file (run with onnxruntime-node), or a tfjs
checkpoint folder (model.json, weights.bin, unetc.json; run with --backend). Images of any size
work: they are reflection-padded to a size the network accepts, and images larger than --tile run
as overlapping tiles blended with a cosine window.

Writes, for each input PNG (a folder's *.png, or its images/ subfolder when there is one):
  <stem>.png          mask: 0/255 for a binary model, class ids for several classes
  <stem>_prob.png     with --probabilities: the foreground probability, 16-bit (0..65535)
                      (models with 3+ classes: <stem>_prob_<k>.png per class k >= 1)
  <stem>_labels.png   with --instances: 16-bit instance label map (0 background, 1..K); a model
                      trained with output.instances: boundary splits touching objects (each
                      interior grown over its outline), others give connected components
  instances.csv       with --instances: per image, the count and mean/median/min/max area
--tta averages the probabilities over the 8 flips and quarter turns of each image (8x the time;
usually a little better masks). An unreadable or corrupt PNG is reported (naming the file) and skipped; the others are still
written, and the exit code is 1 when any image failed.

NIfTI volumes (.nii, .nii.gz; a file, or a folder's / its images/ subfolder's) give <stem>.nii.gz
(or .nii): uint8 labels with the input's header (affine, spacing, orientation) copied. A 3D model
(input.dims: 3) segments them in overlapping 3D tiles of at most --tile voxels a side (default
64); a 2D model slice by slice across --slice-axis (x, y or z; default z). A folder holding one
DICOM series (uncompressed grayscale files) is one volume: its mask is <folder name>.nii.gz.
For volumes, --instances writes <stem>_labels.nii.gz (uint16 ids of 3D connected components;
--connectivity 26 or 6) and instances.csv, --min-size counts voxels, and --probabilities writes
<stem>_prob.nii.gz (float32).
`;

const num = (flag: string, text: string, ok: (v: number) => boolean, expected: string): number => {
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v) || !ok(v)) throw new UsageError(`${flag} takes ${expected}, found '${text}'`);
  return v;
};

/** Neighbourhoods for images and volumes from one --connectivity value (default 8 and 26). */
function connectivities(c: number | undefined): { connectivity: 4 | 8; connectivity3d: 6 | 26; given?: number } {
  if (c === undefined) return { connectivity: 8, connectivity3d: 26 };
  return { connectivity: c === 4 || c === 6 ? 4 : 8, connectivity3d: c === 4 || c === 6 ? 6 : 26, given: c };
}

/** Parsed shared flags; a UsageError (exit 2) for a malformed one. */
export function parseInferenceFlags(o: InferenceFlags): { tile?: number; overlap?: number; threshold?: number; minSize?: number; connectivity: 4 | 8; connectivity3d: 6 | 26; tta?: boolean } {
  const int = (v: number) => Number.isInteger(v);
  return {
    ...(o.tta ? { tta: true } : {}),
    ...(o.tile === undefined ? {} : { tile: num('--tile', o.tile, (v) => int(v) && v >= 1, 'a whole number of pixels (at least 1)') }),
    ...(o.overlap === undefined ? {} : { overlap: num('--overlap', o.overlap, (v) => v >= 0 && v < 1, 'a fraction of the tile from 0 to below 1 (e.g. 0.25)') }),
    ...(o.threshold === undefined ? {} : { threshold: num('--threshold', o.threshold, (v) => v > 0 && v < 1, 'a probability between 0 and 1') }),
    // Undefined when not given: the model's default then applies (see minInstanceSize).
    ...(o.minSize === undefined ? {} : { minSize: num('--min-size', o.minSize, (v) => int(v) && v >= 0, 'a whole number of pixels') }),
    // 4 or 8 for images, 6 or 26 for volumes (checked against the input kind by the caller).
    ...connectivities(o.connectivity === undefined ? undefined : num('--connectivity', o.connectivity, (v) => [4, 6, 8, 26].includes(v), '4 or 8 (images), 6 or 26 (volumes)')),
  };
}

/**
 * A MODEL argument as a path: itself when it exists, else a model shipped with unetc of that name
 * (said on stderr), else a ModelError that lists the shipped models.
 */
export function modelPathOf(io: CliIO, arg: string): string {
  const resolved = resolveModel(arg);
  if (resolved.shipped) {
    io.stderr(`note: '${arg}' is the ${resolved.shipped} model shipped with unetc (${resolved.path}; see its MODEL.md)\n`);
    return resolved.path;
  }
  if (!existsSync(arg)) {
    const names = shippedModels();
    throw new ModelError(arg, `no such file or folder${names.length ? ` (models shipped with unetc: ${names.join(', ')})` : ''}`);
  }
  return arg;
}

/** Loads the model, prints what it is and what runs it, and checks the flags that depend on it. */
export async function openModel(io: CliIO, path: string, flags: ReturnType<typeof parseInferenceFlags>, backend: string | undefined): Promise<SegmentationModel> {
  const where = locateModel(path);
  if (where.note) io.stderr(`note: ${where.note}\n`);
  const model = await loadModel(where, backend === undefined ? {} : { backend });
  const i = model.info;
  try {
    io.stderr(`engine: ${model.engine}\n`);
    const out = outputText(i);
    io.stderr(`model: ${i.path} (${i.name}: ${i.inputChannels} channel${i.inputChannels === 1 ? '' : 's'} -> ${out}, input ${i.normalization}, sizes ${i.sizes.height.text === i.sizes.width.text ? i.sizes.height.text : `${i.sizes.height.text} x ${i.sizes.width.text}`})\n`);
    if (flags.threshold !== undefined && maskClasses(i) !== 2) throw new UsageError(`--threshold applies to binary models; ${path} has ${i.classes} classes (each pixel gets the most probable one)`);
    // A tile too small for a 'valid' network's margins fails on every image larger than one tile:
    // say so once, up front (planning an image of two tiles and more).
    const big = 2 * (flags.tile ?? 512) + 4 * Math.max(...i.margin) + 1;
    planTiles(big, big, { sizes: i.sizes, margin: i.margin, ...(flags.tile === undefined ? {} : { tile: flags.tile }) });
    const advice = flags.tile === undefined ? undefined : tileAdvice(flags.tile, i.sizes);
    if (advice) io.stderr(`warning: ${advice}\n`);
    return model;
  } catch (e) {
    await model.close();
    throw e;
  }
}

/** Prints an error the user can act on and returns its exit code; rethrows anything else (a bug). */
export function reportError(io: CliIO, e: unknown): number {
  if (e instanceof UsageError) {
    io.stderr(`error: ${e.message}\n`);
    return 2;
  }
  if (e instanceof ModelError || e instanceof DataError || e instanceof CheckpointError || e instanceof EngineError || e instanceof TilingError) {
    io.stderr(`error: ${e.message}\n`);
    return 1;
  }
  const err = e as NodeJS.ErrnoException;
  if (err && typeof err.code === 'string' && typeof err.path === 'string') {
    io.stderr(`error: cannot write '${err.path}': ${writeFailure(err)}\n`);
    return 1;
  }
  throw e;
}

const IMAGE_EXT = /\.(png|tiff?|jpe?g|bmp|gif|webp|nii|nii\.gz)$/i;

/** The PNGs to segment and the folder they are in: the file, or a folder's (its images/ when present), sorted; other images are reported. */
function listInputs(io: CliIO, input: string): { files: string[]; dir: string } {
  if (!existsSync(input)) throw new DataError(input, 'no such file or folder');
  if (!statSync(input).isDirectory()) return { files: [input], dir: dirname(input) };
  // A folder of one DICOM series is one volume.
  if (isDicomFolder(input)) return { files: [input], dir: input };
  const images = join(input, 'images');
  const dir = existsSync(images) && statSync(images).isDirectory() ? images : input;
  const names = readdirSync(dir, { withFileTypes: true })
    .filter((e) => isFileEntry(dir, e) && !e.name.startsWith('.') && IMAGE_EXT.test(e.name))
    .map((e) => e.name)
    .sort();
  for (const n of names.filter((n) => !/\.png$/i.test(n) && !NIFTI_NAME.test(n))) io.stderr(`warning: ${join(dir, n)}: skipped (only PNG and NIfTI are read; convert it to PNG)\n`);
  // Subfolders that each hold one DICOM series are volumes too (a study folder of series).
  const series = readdirSync(dir, { withFileTypes: true })
    .filter((e) => !e.name.startsWith('.') && (e.isDirectory() || e.isSymbolicLink()) && isDicomFolder(join(dir, e.name)))
    .map((e) => join(dir, e.name))
    .sort();
  const files = [...names.filter((n) => /\.png$/i.test(n) || NIFTI_NAME.test(n)).map((n) => join(dir, n)), ...series];
  if (files.length === 0) throw new DataError(dir, 'no PNG images, NIfTI volumes or DICOM series folders');
  return { files, dir };
}

const stemOf = (file: string) => basename(file, extname(file));

/**
 * Progress through a large image's tiles (an 8000x8000 image is hundreds of them): on a terminal
 * one line rewritten, in a log a line at each quarter. Nothing for images of a few tiles.
 */
function tileProgress(io: CliIO, label: string): (done: number, total: number) => void {
  let shown = 0;
  return (done, total) => {
    if (total < 16) return;
    if (io.tty) {
      io.stdout(done < total ? `\r${label} tile ${done}/${total}` : '\r\x1b[2K');
      return;
    }
    const quarter = Math.floor((4 * done) / total);
    if (quarter > shown && done < total) io.stdout(`${label} tile ${done}/${total}\n`);
    shown = Math.max(shown, quarter);
  };
}

/**
 * `unetc predict MODEL --input DIR|FILE --out DIR`: writes a mask per image (see PREDICT_HELP).
 * Returns the exit code: 0, 1 when a model, image or write failed, 2 for a usage error.
 */
export async function runPredict(io: CliIO, modelArg: string, options: PredictCommandOptions): Promise<number> {
  let model: SegmentationModel | undefined;
  try {
    const modelPath = modelPathOf(io, modelArg);
    if (!options.input) throw new UsageError('give the images with --input DIR|FILE');
    if (!options.out) throw new UsageError('give the output folder with --out DIR');
    const flags = parseInferenceFlags(options);
    const { files, dir } = listInputs(io, options.input);
    if (resolve(dir) === resolve(options.out)) throw new UsageError(`--out ${options.out} is the input folder: the masks would overwrite the images`);
    const sliceAxis = options.sliceAxis ?? 'z';
    if (!['x', 'y', 'z'].includes(sliceAxis)) throw new UsageError(`--slice-axis takes x, y or z, found '${sliceAxis}'`);
    const volumes = files.filter((f) => NIFTI_NAME.test(f) || (statSync(f).isDirectory() && isDicomFolder(f)));
    if (volumes.length > 0 && volumes.length < files.length) throw new UsageError(`${options.input} holds both PNG images and NIfTI volumes: give them to separate predict runs`);
    const where = locateModel(modelPath);
    const threeD = isVolumeModel(where);
    if (threeD && volumes.length === 0) throw new UsageError(`${modelPath} is a 3D model (input.dims: 3): give it NIfTI volumes (.nii, .nii.gz), not PNG images`);
    const out = () => {
      if (existsSync(options.out!) && !statSync(options.out!).isDirectory()) throw new DataError(options.out!, 'is a file; --out takes a folder');
      makeFolder(options.out!);
    };
    const volumeOptions = { sliceAxis: sliceAxis as SliceAxis, ...flags, ...(options.backend === undefined ? {} : { backend: options.backend }) };
    if (volumes.length > 0) {
      if (flags.tta) throw new UsageError('--tta is for 2D images (PNG); volumes are segmented without it');
      if (threeD && options.sliceAxis !== undefined) io.stderr(`note: --slice-axis applies to 2D models; ${modelPath} is 3D and segments whole volumes\n`);
      if (options.connectivity !== undefined && !['6', '26'].includes(options.connectivity.trim())) throw new UsageError(`--connectivity for volumes is 6 (faces) or 26 (faces, edges and corners), found '${options.connectivity}'`);
      const segmenter = await openVolumeSegmenter(io, modelPath, threeD, volumeOptions, () => openModel(io, modelPath, flags, options.backend));
      try {
        out();
        return await predictVolumes(io, segmenter, volumes, options.out, { instances: options.instances === true, probabilities: options.probabilities === true, minSize: flags.minSize ?? 0, connectivity: flags.connectivity3d, overwrite: options.overwrite === true });
      } finally {
        await segmenter.close();
      }
    }
    if (options.connectivity !== undefined && !['4', '8'].includes(options.connectivity.trim())) throw new UsageError(`--connectivity for images is 4 (edges) or 8 (edges and corners), found '${options.connectivity}'`);
    model = await openModel(io, modelPath, flags, options.backend);
    out();
    return await predictAll(io, model, files, options, flags);
  } catch (e) {
    return reportError(io, e);
  } finally {
    await model?.close();
  }
}

async function predictAll(io: CliIO, model: SegmentationModel, files: readonly string[], options: PredictCommandOptions, flags: ReturnType<typeof parseInferenceFlags>): Promise<number> {
  const out = options.out!;
  const { classes, inputChannels } = model.info;
  const binary = maskClasses(model.info) === 2;
  const csv: string[] = ['file,count,mean_area,median_area,min_area,max_area\n'];
  const failed: string[] = [];
  const written: string[] = [];
  const probNames = (stem: string) => (binary ? [`${stem}_prob.png`] : Array.from({ length: classes - 1 }, (_, k) => `${stem}_prob_${k + 1}.png`));
  const namesOf = (file: string) => {
    const stem = stemOf(file);
    return [`${stem}.png`, ...(options.probabilities ? probNames(stem) : []), ...(options.instances ? [`${stem}_labels.png`] : [])];
  };
  // Every output is planned before the first is written: two inputs writing one file, or a file
  // in --out that unetc did not write (ground-truth masks, say), stop the run with nothing written.
  claimPredictOutputs(out, files, namesOf, options.instances === true, options.overwrite);
  for (const [index, file] of files.entries()) {
    const stem = stemOf(file);
    const progress = `[${index + 1}/${files.length}] ${basename(file)}`;
    // Read errors are per file: report, skip, go on (the exit code says something failed).
    const image: HWC<Float32Array> | undefined = await readOrSkip(io, file, failed, async () => {
      const png = await readImage(file);
      return { height: png.height, width: png.width, channels: inputChannels, data: toChannels(png, inputChannels, file) };
    });
    if (image === undefined) continue;
    const start = performance.now();
    const p = await predictImage(model, image, { ...flags, onTile: tileProgress(io, progress) });
    const ms = performance.now() - start;
    const { height, width } = p;
    const minSize = minInstanceSize(model.info, flags.minSize);
    const found = options.instances || minSize > 0 ? instancesOf(p, model.info, { ...flags, minSize }) : undefined;
    const mask = found && minSize > 0 ? removeSmall(p.classMap, found) : p.classMap;
    await writeMask(join(out, `${stem}.png`), { width, height, data: mask }, { binary });
    written.push(join(out, `${stem}.png`));
    if (options.probabilities) {
      const planes = binary ? [foregroundPlane(p, model.info)] : Array.from({ length: classes - 1 }, (_, k) => probabilityPlane(p, k + 1));
      for (const [k, name] of probNames(stem).entries()) {
        await writeGray(join(out, name), { width, height, data: planes[k]! }, 16);
        written.push(join(out, name));
      }
    }
    let detail = '';
    if (options.instances && found) {
      await writeLabels(join(out, `${stem}_labels.png`), { width, height, data: found.labels });
      written.push(join(out, `${stem}_labels.png`));
      const a = areaSummary(found.components);
      csv.push(`${csvField(basename(file))},${a.count},${a.mean.toFixed(1)},${a.median},${a.min},${a.max}\n`);
      detail = `, ${a.count} instance${a.count === 1 ? '' : 's'}${a.count ? ` (mean area ${a.mean.toFixed(0)} px)` : ''}`;
    }
    io.stdout(`${progress} ${width}x${height} ${Math.round(ms)} ms${detail}\n`);
  }
  if (options.instances) {
    writeFileAtomic(join(out, 'instances.csv'), csv.join(''));
    written.push(join(out, 'instances.csv'));
  }
  recordOutputs(written);
  const masks = files.length - failed.length;
  io.stdout(`wrote ${masks} mask${masks === 1 ? '' : 's'} to ${out}${options.instances ? ' (with label maps and instances.csv)' : ''}\n`);
  if (failed.length === 0) return 0;
  io.stderr(`error: ${failed.length} of ${files.length} image${files.length === 1 ? '' : 's'} were skipped (listed above); the others were written\n`);
  return 1;
}
