/**
 * Segmenting one image: normalize it as the model was trained (per image, over all pixels and
 * channels), run it tile by tile at any size, and turn the blended probabilities into a class map.
 */
import { normalize, type HWC } from '../data/index.js';
import { classMap } from '../train/metrics.js';
import { locateModel, ModelError, type ModelLocation, type SegmentationModel } from './model.js';
import { loadOnnxModel } from './onnx-model.js';
import { loadTfjsModel } from './tfjs-model.js';
import { runTiled } from './tiling.js';

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
  if (where.format === 'onnx') return loadOnnxModel(where.file, options.threads === undefined ? {} : { threads: options.threads });
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
}

/** One image's result. */
export interface Prediction {
  readonly height: number;
  readonly width: number;
  /** Probabilities, HWC with `classes` channels. */
  readonly probabilities: Float32Array;
  readonly classes: number;
  /** One class id per pixel: 0/1 for binary models (one sigmoid channel or two softmax classes). */
  readonly classMap: Uint8Array;
}

/** The model's input for an image in [0, 1]: normalized as `info.normalization` says. */
export function modelInput(model: SegmentationModel, image: HWC<Float32Array>): HWC<Float32Array> {
  const mode = model.info.normalization;
  if (mode === 'none') return image;
  return { ...image, data: normalize(image, { mode: mode === 'zscore-per-image' ? 'zscore' : 'minmax' }).data };
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

/**
 * Segments one image (HWC in [0, 1], already with the model's channel count). Throws a
 * ModelError when the channels do not match, a TilingError when the network cannot take it.
 */
export async function predictImage(model: SegmentationModel, image: HWC<Float32Array>, options: PredictOptions = {}): Promise<Prediction> {
  const { info } = model;
  if (image.channels !== info.inputChannels) throw new ModelError(info.path, `expects ${info.inputChannels} input channel(s), the image has ${image.channels}`);
  const out = await runTiled(modelInput(model, image), model.run, {
    sizes: info.sizes,
    margin: info.margin,
    ...(options.tile === undefined ? {} : { tile: options.tile }),
    ...(options.overlap === undefined ? {} : { overlap: options.overlap }),
  });
  const classes = out.channels;
  const threshold = options.threshold ?? info.threshold;
  const pred: Prediction = { height: image.height, width: image.width, probabilities: out.data, classes, classMap: new Uint8Array(0) };
  // Two softmax classes are thresholded on the foreground's probability (p1 > 0.5 is the argmax).
  const map = classes === 2 ? classMap(probabilityPlane(pred, 1), 1, threshold) : classMap(out.data, classes, threshold);
  return { ...pred, classMap: map };
}
