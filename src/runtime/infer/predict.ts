/**
 * Segmenting one image: normalize it as the model was trained (per image, over all pixels and
 * channels), run it tile by tile at any size, and turn the blended probabilities into a class map.
 */
import { flip, normalize, rotate90, type HWC } from '../data/index.js';
import { defaultSplit, type SplitSettings } from '../../compiler/ir/index.js';
import { classMap } from '../eval/metrics.js';
import { splitInstances } from './boundary.js';
import { connectedComponents, type InstanceOptions, type Instances } from './instances.js';
import {
  locateModel,
  ModelError,
  normalizationMode,
  type ModelInfo,
  type ModelLocation,
  type SegmentationModel,
} from './model.js';
import { loadOnnxModel } from './onnx-model.js';
import { loadTfjsModel } from './tfjs-model.js';
import { planTiles, runTiled } from './tiling.js';

/** How to load a model. */
export interface LoadOptions {
  /** tfjs engine for checkpoints (auto, gpu, node, wasm, cpu); ONNX models always run in onnxruntime-node. */
  readonly backend?: string;
  /** onnxruntime intra-op threads (default: every core). */
  readonly threads?: number;
}

/** Loads the model behind a MODEL argument (see `locateModel`). */
export async function loadModel(model: string | ModelLocation, options: LoadOptions = {}): Promise<SegmentationModel> {
  const where = typeof model === 'string' ? locateModel(model) : model;
  if (where.format === 'onnx')
    return loadOnnxModel(where.file, options.threads === undefined ? {} : { threads: options.threads });
  return loadTfjsModel(where.dir, options.backend === undefined ? {} : { backend: options.backend });
}

/** Options of one prediction. */
export interface PredictOptions {
  /** Largest tile side in input pixels (default 512). */
  readonly tile?: number;
  /** Tile overlap as a fraction of the tile (default 0.25). */
  readonly overlap?: number;
  /** Foreground threshold for binary models (default: the model's own, usually 0.5). */
  readonly threshold?: number;
  /** Test-time augmentation: the mean of the probabilities over the 8 flips and quarter turns. */
  readonly tta?: boolean;
  /** Called after each tile the network runs (large images take many): tiles done, tiles in all. */
  readonly onTile?: (done: number, total: number) => void;
}

/** One image's result. */
export interface Prediction {
  readonly height: number;
  readonly width: number;
  /** Probabilities, HWC with `classes` channels. */
  readonly probabilities: Float32Array;
  readonly classes: number;
  /** One class id per pixel: 0/1 for binary models (one sigmoid channel, two softmax classes, or a boundary head). */
  readonly classMap: Uint8Array;
}

/** The model's input for an image in [0, 1]: normalized as `info.normalization` says. */
export function modelInput(model: SegmentationModel, image: HWC<Float32Array>): HWC<Float32Array> {
  const mode = model.info.normalization;
  if (mode === 'none') return image;
  return { ...image, data: normalize(image, { mode: normalizationMode(mode) }).data };
}

/** Whether the model segments foreground against background (one sigmoid channel or two classes). */
export const isBinary = (classes: number): boolean => classes <= 2;

/** The foreground probability plane of a binary prediction, or class `k`'s plane. */
export function probabilityPlane(p: Prediction, k = p.classes === 1 ? 0 : 1): Float32Array {
  const n = p.height * p.width;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = p.probabilities[i * p.classes + k]!;
  return out;
}

/** The foreground's probability: 1 - P(background) for a boundary model, else `probabilityPlane`. */
export function foregroundPlane(p: Prediction, info: Pick<ModelInfo, 'instances'>): Float32Array {
  if (!info.instances) return probabilityPlane(p);
  const bg = probabilityPlane(p, 0);
  return bg.map((v) => 1 - v);
}

/**
 * Segments one image (HWC in [0, 1], already with the model's channel count). Throws a
 * ModelError when the channels do not match, a TilingError when the network cannot take it.
 */
export async function predictImage(
  model: SegmentationModel,
  image: HWC<Float32Array>,
  options: PredictOptions = {},
): Promise<Prediction> {
  const { info } = model;
  if (image.channels !== info.inputChannels)
    throw new ModelError(info.path, `expects ${info.inputChannels} input channel(s), the image has ${image.channels}`);
  const tiling = {
    sizes: info.sizes,
    margin: info.margin,
    ...(options.tile === undefined ? {} : { tile: options.tile }),
    ...(options.overlap === undefined ? {} : { overlap: options.overlap }),
  };
  const input = modelInput(model, image);
  // Quarter turns swap height and width, which may change the tile count of a non-square image.
  const count = (h: number, w: number) => {
    const plan = planTiles(h, w, tiling);
    return plan.rows.tiles.length * plan.cols.tiles.length;
  };
  const total = options.tta
    ? 4 * count(image.height, image.width) + 4 * count(image.width, image.height)
    : count(image.height, image.width);
  let done = 0;
  const onTile = options.onTile;
  const run = onTile
    ? async (tile: HWC<Float32Array>) => {
        const y = await model.run(tile);
        onTile(++done, total);
        return y;
      }
    : model.run;
  const out = options.tta
    ? await averageOverSymmetries(input, (x) => runTiled(x, run, tiling))
    : await runTiled(input, run, tiling);
  const classes = out.channels;
  const threshold = options.threshold ?? info.threshold;
  const pred: Prediction = {
    height: image.height,
    width: image.width,
    probabilities: out.data,
    classes,
    classMap: new Uint8Array(0),
  };
  return { ...pred, classMap: classMapOf(pred, info.instances !== undefined, threshold) };
}

/**
 * Test-time augmentation: `run` on each of the 8 symmetries of the square (4 quarter turns, each
 * also mirrored), every output turned back, and the mean. A network trained with flips and
 * quarter turns should not care which way up an image is; averaging over the ways cancels what
 * it does care about (Krizhevsky et al. 2012; nnU-Net mirrors at inference for the same reason).
 */
export async function averageOverSymmetries(
  image: HWC<Float32Array>,
  run: (x: HWC<Float32Array>) => Promise<HWC<Float32Array>>,
): Promise<HWC<Float32Array>> {
  let sum: Float32Array | undefined;
  let channels = 0;
  for (const mirror of [false, true]) {
    for (const turns of [0, 1, 2, 3]) {
      const seen = rotate90(mirror ? flip(image, 'horizontal') : image, turns);
      const out = await run(seen);
      // Undo in reverse order: turn back, then mirror back.
      const back = rotate90(out, (4 - turns) % 4);
      const upright = mirror ? flip(back, 'horizontal') : back;
      if (!sum) {
        sum = new Float32Array(upright.data.length);
        channels = upright.channels;
      }
      for (let i = 0; i < sum.length; i++) sum[i]! += upright.data[i]!;
    }
  }
  for (let i = 0; i < sum!.length; i++) sum![i]! /= 8;
  return { height: image.height, width: image.width, channels, data: sum! };
}

/**
 * The class map of probabilities: two softmax classes are thresholded on the foreground's
 * probability (p1 > 0.5 is the argmax), a boundary head on 1 - P(background) (interior and
 * boundary are both the object), more classes take the argmax.
 */
export function classMapOf(p: Omit<Prediction, 'classMap'>, boundary: boolean, threshold: number): Uint8Array {
  if (boundary) {
    const n = p.height * p.width;
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = 1 - p.probabilities[i * p.classes]! > threshold ? 1 : 0;
    return out;
  }
  if (p.classes === 2) return classMap(probabilityPlane({ ...p, classMap: new Uint8Array(0) }, 1), 1, threshold);
  return classMap(p.probabilities, p.classes, threshold);
}

/**
 * The smallest instance kept when the user did not say (`--min-size`): none for connected
 * components (as before boundary heads), 20 pixels for a boundary head, whose stray specks of
 * foreground are otherwise instances of their own (Cellpose drops under 15). 20 rather than 15:
 * pooled instance F1 equal or up to +0.011 on the DSB nuclei (four models) and the shipped
 * model's held-out images; the DSB nuclei's tenth percentile is 58 pixels.
 */
export function minInstanceSize(info: Pick<ModelInfo, 'instances'>, given: number | undefined): number {
  return given ?? (info.instances === 'boundary' ? BOUNDARY_MIN_SIZE : 0);
}

const BOUNDARY_MIN_SIZE = 20;

/**
 * The instances of a prediction: a boundary model's interiors grown over its outlines (touching
 * objects apart; `split` overrides the model's split settings), or the connected components of the
 * class map; with `minSize`, smaller ones are dropped. Labels 1..K in raster order of each
 * instance's first pixel.
 */
export function instancesOf(
  p: Prediction,
  info: Pick<ModelInfo, 'instances' | 'threshold' | 'split'>,
  options: InstanceOptions & { readonly threshold?: number; readonly split?: SplitSettings } = {},
): Instances {
  if (info.instances !== 'boundary') return connectedComponents(p.classMap, p.height, p.width, options);
  const settings = options.split ?? info.split ?? defaultSplit;
  const split = splitInstances(p.probabilities, [p.height, p.width], p.classes, {
    threshold: options.threshold ?? info.threshold,
    seedThreshold: settings.seedThreshold,
    neck: { depth: settings.waistDepth, area: WAIST_AREA },
    minSeed: MIN_SEED,
  });
  // Relabelled (raster order, areas, boxes, --min-size) as components of the label map: grown
  // instances are face-connected, and two of them never share a label.
  const found = connectedComponents(split, p.height, p.width, { connectivity: 4, minSize: options.minSize ?? 0 });
  return { ...found, components: found.components.map((c) => ({ ...c, classId: 1 })) };
}

/**
 * The split's fixed parts: each side of a waist at least 10 pixels large (a bump on one nucleus
 * is not a second one); blobs under 4 pixels are a network's stray blips, not nuclei.
 */
const WAIST_AREA = 10;
const MIN_SEED = 4;
