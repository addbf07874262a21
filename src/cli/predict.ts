import { existsSync, statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { DataError, makeFolder } from '../runtime/data/index.js';
import { predictFiles } from '../runtime/infer/folder.js';
import { locateModel } from '../runtime/infer/index.js';
import { isVolumeModel } from '../runtime/infer/volume.js';
import { listPredictInputs } from '../runtime/infer/inputs.js';
import { UsageError, type CliIO } from './io.js';
import {
  checkConnectivity,
  modelPathOf,
  openTarget,
  parseInferenceFlags,
  sliceAxisOf,
  type InferenceFlags,
} from './open.js';

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

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * `unetc predict MODEL --input DIR|FILE --out DIR`: writes a mask per image or volume (see
 * PREDICT_HELP; the work is runtime/infer/folder.ts's). Returns the exit code: 0, 1 when a model,
 * input or write failed, 2 for a usage error.
 */
export async function runPredict(io: CliIO, modelArg: string, options: PredictCommandOptions): Promise<number> {
  const modelPath = modelPathOf(io, modelArg);
  if (!options.input) throw new UsageError('give the images with --input DIR|FILE');
  if (!options.out) throw new UsageError('give the output folder with --out DIR');
  const out = options.out;
  const flags = parseInferenceFlags(options);
  const inputs = listPredictInputs(options.input);
  for (const f of inputs.skipped)
    io.stderr(`warning: ${f}: skipped (only PNG and NIfTI are read; convert it to PNG)\n`);
  if (resolve(inputs.dir) === resolve(out))
    throw new UsageError(`--out ${out} is the input folder: the masks would overwrite the images`);
  const sliceAxis = sliceAxisOf(options.sliceAxis);
  const volumes = inputs.volumes > 0;
  if (volumes && inputs.volumes < inputs.files.length)
    throw new UsageError(
      `${options.input} holds both PNG images and NIfTI volumes: give them to separate predict runs`,
    );
  if (!volumes && isVolumeModel(locateModel(modelPath)))
    throw new UsageError(
      `${modelPath} is a 3D model (input.dims: 3): give it NIfTI volumes (.nii, .nii.gz), not PNG images`,
    );
  checkConnectivity(options.connectivity, volumes);
  const target = await openTarget(io, modelPath, flags, { volumes, sliceAxis, backend: options.backend });
  try {
    if (existsSync(out) && !statSync(out).isDirectory()) throw new DataError(out, 'is a file; --out takes a folder');
    makeFolder(out);
    const progress = (file: string) => `[${inputs.files.indexOf(file) + 1}/${inputs.files.length}] ${basename(file)}`;
    const tiles = new Map<string, (done: number, total: number) => void>();
    const onTile = (file: string, done: number, total: number) => {
      if (!tiles.has(file)) tiles.set(file, tileProgress(io, progress(file)));
      tiles.get(file)!(done, total);
    };
    const events = predictFiles(target, inputs.files, {
      ...flags,
      out,
      instances: options.instances === true,
      probabilities: options.probabilities === true,
      overwrite: options.overwrite === true,
      onTile,
    });
    const noun = volumes ? 'volume' : 'image';
    for await (const e of events) {
      if (e.kind === 'skipped') io.stderr(`error: ${e.error.message}\n`);
      else if (e.kind === 'written' && !volumes) {
        const n = e.instances;
        const detail = n
          ? `, ${plural(n.count, 'instance')}${n.count ? ` (mean area ${n.meanArea.toFixed(0)} px)` : ''}`
          : '';
        io.stdout(`${progress(e.file)} ${e.size} ${Math.round(e.ms)} ms${detail}\n`);
      } else if (e.kind === 'written') {
        const detail = e.instances ? `, ${plural(e.instances.count, 'instance')}` : '';
        io.stdout(
          `${progress(e.file)} ${e.size} ${Math.round(e.ms)} ms, ${plural(e.foreground ?? 0, 'foreground voxel')}${detail} -> ${e.mask}\n`,
        );
      } else if (e.kind === 'done') {
        if (volumes) io.stdout(`wrote ${plural(e.written, 'NIfTI mask')} to ${out} (headers copied from the inputs)\n`);
        else
          io.stdout(
            `wrote ${plural(e.written, 'mask')} to ${out}${options.instances ? ' (with label maps and instances.csv)' : ''}\n`,
          );
        if (e.failed.length === 0) return 0;
        io.stderr(
          `error: ${e.failed.length} of ${plural(inputs.files.length, noun)} were skipped (listed above); the others were written\n`,
        );
        return 1;
      }
    }
    return 0;
  } finally {
    await (target.kind === 'images' ? target.model.close() : target.segmenter.close());
  }
}
