/**
 * How `predict` and `eval` (and `eval --tune-split`) take a model: the flags they share, checked
 * once; the MODEL argument (a path, or a model shipped with unetc); opening it for images or for
 * volumes (a 3D model segments in 3D tiles, a 2D model slice by slice across --slice-axis,
 * runtime/infer/segmenter.ts), printing what it is and refusing flags it cannot take.
 */
import { existsSync } from 'node:fs';
import type { SplitSettings } from '../compiler/index.js';
import { resolveModel, shippedModels } from '../runtime/checkpoint/models.js';
import {
  DEFAULT_TILE,
  loadModel,
  locateModel,
  maskClasses,
  ModelError,
  planTiles,
  tileAdvice,
  type SegmentationModel,
} from '../runtime/infer/index.js';
import {
  sliceSegmenter,
  volumeSegmenter,
  type VolumeOptions,
  type VolumeSegmenter,
} from '../runtime/infer/segmenter.js';
import type { PredictTarget } from '../runtime/infer/folder.js';
import { isVolumeModel, loadVolumeModel } from '../runtime/infer/volume.js';
import type { SliceAxis } from '../runtime/volume/index.js';
import { outputText } from './check.js';
import { UsageError, type CliIO } from './io.js';

/** The flags `predict` and `eval` share, as Commander gives them (strings). */
export interface InferenceFlags {
  readonly tile?: string;
  readonly overlap?: string;
  readonly threshold?: string;
  readonly minSize?: string;
  readonly connectivity?: string;
  readonly backend?: string;
  readonly tta?: boolean;
  /** Boundary models: "SEED,WAIST" instead of the model's split settings. */
  readonly split?: string;
  /** Replace files in --out that unetc did not write. */
  readonly overwrite?: boolean;
}

const num = (flag: string, text: string, ok: (v: number) => boolean, expected: string): number => {
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v) || !ok(v))
    throw new UsageError(`${flag} takes ${expected}, found '${text}'`);
  return v;
};

/** Neighbourhoods for images and volumes from one --connectivity value (default 8 and 26). */
function connectivities(c: number | undefined): { connectivity: 4 | 8; connectivity3d: 6 | 26; given?: number } {
  if (c === undefined) return { connectivity: 8, connectivity3d: 26 };
  return { connectivity: c === 4 || c === 6 ? 4 : 8, connectivity3d: c === 4 || c === 6 ? 6 : 26, given: c };
}

/** The shared flags, parsed. */
export interface InferenceSettings {
  readonly tile?: number;
  readonly overlap?: number;
  readonly threshold?: number;
  readonly minSize?: number;
  readonly connectivity: 4 | 8;
  readonly connectivity3d: 6 | 26;
  readonly tta?: boolean;
  readonly split?: SplitSettings;
}

/** Parsed shared flags; a UsageError (exit 2) for a malformed one. */
export function parseInferenceFlags(o: InferenceFlags): InferenceSettings {
  const int = (v: number) => Number.isInteger(v);
  return {
    ...(o.tta ? { tta: true } : {}),
    ...(o.split === undefined ? {} : { split: parseSplit(o.split) }),
    ...(o.tile === undefined
      ? {}
      : { tile: num('--tile', o.tile, (v) => int(v) && v >= 1, 'a whole number of pixels (at least 1)') }),
    ...(o.overlap === undefined
      ? {}
      : {
          overlap: num(
            '--overlap',
            o.overlap,
            (v) => v >= 0 && v < 1,
            'a fraction of the tile from 0 to below 1 (e.g. 0.25)',
          ),
        }),
    ...(o.threshold === undefined
      ? {}
      : { threshold: num('--threshold', o.threshold, (v) => v > 0 && v < 1, 'a probability between 0 and 1') }),
    // Undefined when not given: the model's default then applies (see minInstanceSize).
    ...(o.minSize === undefined
      ? {}
      : { minSize: num('--min-size', o.minSize, (v) => int(v) && v >= 0, 'a whole number of pixels') }),
    // 4 or 8 for images, 6 or 26 for volumes (checked against the input kind by the caller).
    ...connectivities(
      o.connectivity === undefined
        ? undefined
        : num('--connectivity', o.connectivity, (v) => [4, 6, 8, 26].includes(v), '4 or 8 (images), 6 or 26 (volumes)'),
    ),
  };
}

/** `--split SEED,WAIST`: a seed threshold in (0, 1) and a waist depth in pixels (above 0, at most 20). */
function parseSplit(text: string): SplitSettings {
  const [seed, waist, ...rest] = text.split(',').map((p) => (p.trim() === '' ? NaN : Number(p)));
  if (rest.length > 0 || !(seed! > 0 && seed! < 1) || !(waist! > 0 && waist! <= 20))
    throw new UsageError(
      `--split takes SEED,WAIST: a seed threshold between 0 and 1 and a waist depth in pixels (above 0, at most 20), e.g. 0.6,0.75; found '${text}'`,
    );
  return { seedThreshold: seed!, waistDepth: waist! };
}

/**
 * A MODEL argument as a path: itself when it exists, else a model shipped with unetc of that name
 * (said on stderr), else a ModelError that lists the shipped models.
 */
export function modelPathOf(io: CliIO, arg: string): string {
  const resolved = resolveModel(arg);
  if (resolved.shipped) {
    io.stderr(
      `note: '${arg}' is the ${resolved.shipped} model shipped with unetc (${resolved.path}; see its MODEL.md)\n`,
    );
    return resolved.path;
  }
  if (!existsSync(arg)) {
    const names = shippedModels();
    throw new ModelError(
      arg,
      `no such file or folder${names.length ? ` (models shipped with unetc: ${names.join(', ')})` : ''}`,
    );
  }
  return arg;
}

/** Loads the model, prints what it is and what runs it, and checks the flags that depend on it. */
export async function openModel(
  io: CliIO,
  path: string,
  flags: InferenceSettings,
  backend: string | undefined,
): Promise<SegmentationModel> {
  const where = locateModel(path);
  if (where.note) io.stderr(`note: ${where.note}\n`);
  const model = await loadModel(where, backend === undefined ? {} : { backend });
  const i = model.info;
  try {
    io.stderr(`engine: ${model.engine}\n`);
    const out = outputText(i);
    io.stderr(
      `model: ${i.path} (${i.name}: ${i.inputChannels} channel${i.inputChannels === 1 ? '' : 's'} -> ${out}, input ${i.normalization}, sizes ${i.sizes.height.text === i.sizes.width.text ? i.sizes.height.text : `${i.sizes.height.text} x ${i.sizes.width.text}`})\n`,
    );
    if (flags.split && i.instances !== 'boundary')
      throw new UsageError(
        `--split sets how a boundary model (output.instances: boundary) splits touching objects; ${path} has no boundary head`,
      );
    if (flags.threshold !== undefined && maskClasses(i) !== 2)
      throw new UsageError(
        `--threshold applies to binary models; ${path} has ${i.classes} classes (each pixel gets the most probable one)`,
      );
    // A tile too small for a 'valid' network's margins fails on every image larger than one tile:
    // say so once, up front (planning an image of two tiles and more).
    const big = 2 * (flags.tile ?? DEFAULT_TILE) + 4 * Math.max(...i.margin) + 1;
    planTiles(big, big, {
      sizes: i.sizes,
      margin: i.margin,
      ...(flags.tile === undefined ? {} : { tile: flags.tile }),
    });
    const advice = flags.tile === undefined ? undefined : tileAdvice(flags.tile, i.sizes);
    if (advice) io.stderr(`warning: ${advice}\n`);
    return model;
  } catch (e) {
    await model.close();
    throw e;
  }
}

/** --connectivity for the kind of input: 4 or 8 for images, 6 or 26 for volumes (parseInferenceFlags took any of them). */
export function checkConnectivity(given: string | undefined, volumes: boolean): void {
  if (given === undefined) return;
  if (volumes && !['6', '26'].includes(given.trim()))
    throw new UsageError(`--connectivity for volumes is 6 (faces) or 26 (faces, edges and corners), found '${given}'`);
  if (!volumes && !['4', '8'].includes(given.trim()))
    throw new UsageError(`--connectivity for images is 4 (edges) or 8 (edges and corners), found '${given}'`);
}

/**
 * A segmenter for NIfTI volumes: a 3D model segments in 3D tiles; a 2D model (opened as
 * `predict` opens it, printing what it is) slice by slice across `o.sliceAxis`.
 */
async function openVolumeSegmenter(
  io: CliIO,
  modelPath: string,
  threeD: boolean,
  o: VolumeOptions & { readonly sliceAxis: SliceAxis; readonly backend?: string },
  open2d: () => Promise<SegmentationModel>,
): Promise<VolumeSegmenter> {
  const options: VolumeOptions = { tile: o.tile, overlap: o.overlap, threshold: o.threshold };
  if (threeD) {
    const model = await loadVolumeModel(modelPath, o.backend === undefined ? {} : { backend: o.backend });
    const i = model.info;
    io.stderr(`engine: ${model.engine}\n`);
    io.stderr(
      `model: ${i.path} (${i.name}: 3D, ${i.inputChannels} channel -> ${i.classes === 1 ? `1 class (${i.activation})` : `${i.classes} classes`}, input ${i.normalization}, sides ${i.sizes.every((r) => r.text === i.sizes[0]!.text) ? i.sizes[0]!.text : i.sizes.map((r, a) => `${['depth', 'height', 'width'][a]} ${r.text}`).join(', ')}${i.margin.some((m) => m > 0) ? `, output ${i.margin.join('x')} smaller on each side` : ''})\n`,
    );
    if (i.inputChannels !== 1) {
      await model.close();
      throw new UsageError(`${i.path} takes ${i.inputChannels} channels; NIfTI volumes have one`);
    }
    return volumeSegmenter(model, options);
  }
  const model = await open2d();
  if (model.info.inputChannels !== 1) {
    await model.close();
    throw new UsageError(`${model.info.path} takes ${model.info.inputChannels} channels; NIfTI volumes have one`);
  }
  return sliceSegmenter(model, o.sliceAxis, options);
}

/** --slice-axis: x, y or z (undefined when not given: z then); a UsageError otherwise. */
export function sliceAxisOf(text: string | undefined): SliceAxis | undefined {
  if (text === undefined) return undefined;
  if (text !== 'x' && text !== 'y' && text !== 'z')
    throw new UsageError(`--slice-axis takes x, y or z, found '${text}'`);
  return text;
}

/**
 * The model opened for the kind of input (`predict` and `eval` alike): for images; for volumes, a
 * 3D model's 3D tiles or a 2D model's slices across --slice-axis (checked by sliceAxisOf first).
 * The flags volumes cannot take (--tta, --split) are refused before the model is looked at.
 */
export async function openTarget(
  io: CliIO,
  modelPath: string,
  flags: InferenceSettings,
  o: { readonly volumes: boolean; readonly sliceAxis: SliceAxis | undefined; readonly backend?: string },
): Promise<PredictTarget> {
  const open2d = () => openModel(io, modelPath, flags, o.backend);
  if (!o.volumes) return { kind: 'images', model: await open2d() };
  if (flags.tta) throw new UsageError('--tta is for 2D images (PNG); volumes are segmented without it');
  if (flags.split) throw new UsageError('--split is for 2D boundary models on images (PNG), not volumes');
  const threeD = isVolumeModel(locateModel(modelPath));
  if (threeD && o.sliceAxis !== undefined)
    io.stderr(`note: --slice-axis applies to 2D models; ${modelPath} is 3D and segments whole volumes\n`);
  const options = {
    sliceAxis: o.sliceAxis ?? 'z',
    ...flags,
    ...(o.backend === undefined ? {} : { backend: o.backend }),
  };
  return { kind: 'volumes', segmenter: await openVolumeSegmenter(io, modelPath, threeD, options, open2d) };
}
