/**
 * Evaluating a model on a scanned data set: predict every image as `unetc predict` would, then
 * score it against its mask (Dice, IoU, pixel accuracy, with the empty-mask rule of
 * `ConfusionCounts`) and, when `labels/` has its instance map, match instances at IoU 0.5.
 *
 * Two kinds of summary, because they answer different questions: the **mean per image** (each
 * image counts the same, whatever its size or how much foreground it has) and the **pooled**
 * scores (one set of counts over every pixel, or every instance, of the data set).
 */
import type { SplitSettings } from '../../compiler/ir/index.js';
import { defined } from '../../util/object.js';
import { loadSample, type DatasetSample } from '../data/index.js';
import { removeSmall } from '../infer/instances.js';
import { instancesOf, minInstanceSize, predictImage, type PredictOptions } from '../infer/predict.js';
import { maskClasses, type SegmentationModel } from '../infer/model.js';
import { ConfusionCounts, type ClassScores } from './metrics.js';
import { addCounts, instanceScores, matchInstances, type InstanceCounts, type InstanceScores } from './match.js';

/** Options of an evaluation: the prediction's, plus the instance post-processing. */
export interface EvalOptions extends PredictOptions {
  /** Connectivity of predicted instances (default 8). */
  readonly connectivity?: 4 | 8;
  /** Predicted instances below this many pixels are removed from the mask and the instances (default: minInstanceSize's). */
  readonly minSize?: number;
  /** Boundary models: split settings instead of the model's (`--split`). */
  readonly split?: SplitSettings;
}

/** One image's scores. */
export interface ImageEval {
  readonly stem: string;
  readonly image: string;
  readonly height: number;
  readonly width: number;
  /** Prediction time in milliseconds. */
  readonly ms: number;
  readonly dice: number;
  readonly iou: number;
  readonly pixelAccuracy: number;
  /** Per class id (0 is background). */
  readonly perClass: readonly ClassScores[];
  /** Present when the image has an instance label map. */
  readonly instances: (InstanceCounts & InstanceScores) | undefined;
}

/** Segmentation scores of a summary. */
export interface SummaryScores {
  readonly dice: number;
  readonly iou: number;
  readonly pixelAccuracy: number;
  readonly perClass: readonly ClassScores[];
}

/** The whole evaluation. */
export interface EvalReport {
  readonly images: readonly ImageEval[];
  /** Means of the per-image scores. */
  readonly mean: SummaryScores;
  /** Scores of one ConfusionCounts over all images' pixels. */
  readonly pooled: SummaryScores;
  /** Instance metrics over the images that have labels (undefined when none has). */
  readonly instances:
    | {
        readonly images: number;
        /** From the summed counts. */
        readonly pooled: InstanceCounts & InstanceScores;
        /** Means of the per-image precision, recall and F1. */
        readonly mean: InstanceScores;
      }
    | undefined;
}

const mean = (xs: readonly number[]): number => (xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length);

/**
 * Evaluates `model` on scanned samples (see `scanDataset`), calling `onImage` after each one (for
 * progress). Images and masks are read here; a file that changed since the scan throws its DataError.
 */
export async function evaluateDataset(
  model: SegmentationModel,
  samples: readonly DatasetSample[],
  options: EvalOptions = {},
  onImage?: (result: ImageEval, index: number) => void,
): Promise<EvalReport> {
  // A one-class sigmoid model is scored as two classes, background and foreground (see metrics.ts).
  const classes = maskClasses(model.info);
  const pooled = new ConfusionCounts(classes);
  const images: ImageEval[] = [];
  for (const [index, sample] of samples.entries()) {
    const loaded = await loadSample(sample, model.info.inputChannels);
    const start = performance.now();
    const prediction = await predictImage(
      model,
      { height: loaded.height, width: loaded.width, channels: loaded.channels, data: loaded.image },
      options,
    );
    const ms = performance.now() - start;
    const minSize = minInstanceSize(model.info, options.minSize);
    const found = instancesOf(prediction, model.info, {
      connectivity: options.connectivity ?? 8,
      minSize,
      ...defined({ threshold: options.threshold, split: options.split }),
    });
    const predicted = minSize > 0 ? removeSmall(prediction.classMap, found) : prediction.classMap;
    const scores = new ConfusionCounts(classes).add(predicted, loaded.mask).scores();
    pooled.add(predicted, loaded.mask);
    let instances: ImageEval['instances'];
    if (loaded.labels) {
      const counts = matchInstances(loaded.labels, found.labels);
      instances = { ...counts, ...instanceScores(counts) };
    }
    const result: ImageEval = {
      stem: sample.stem,
      image: sample.image,
      height: loaded.height,
      width: loaded.width,
      ms,
      dice: scores.dice,
      iou: scores.iou,
      pixelAccuracy: scores.pixelAccuracy,
      perClass: scores.perClass,
      instances,
    };
    images.push(result);
    onImage?.(result, index);
  }
  const all = pooled.scores();
  const withLabels = images.flatMap((r) => (r.instances ? [r.instances] : []));
  const sumCounts = addCounts(withLabels);
  return {
    images,
    mean: {
      dice: mean(images.map((r) => r.dice)),
      iou: mean(images.map((r) => r.iou)),
      pixelAccuracy: mean(images.map((r) => r.pixelAccuracy)),
      perClass: Array.from({ length: classes }, (_, c) => ({
        dice: mean(images.map((r) => r.perClass[c]!.dice)),
        iou: mean(images.map((r) => r.perClass[c]!.iou)),
      })),
    },
    pooled: { dice: all.dice, iou: all.iou, pixelAccuracy: all.pixelAccuracy, perClass: all.perClass },
    instances:
      withLabels.length === 0
        ? undefined
        : {
            images: withLabels.length,
            pooled: { ...sumCounts, ...instanceScores(sumCounts) },
            mean: {
              precision: mean(withLabels.map((s) => s.precision)),
              recall: mean(withLabels.map((s) => s.recall)),
              f1: mean(withLabels.map((s) => s.f1)),
            },
          },
  };
}
