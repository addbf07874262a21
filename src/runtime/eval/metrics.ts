/**
 * Segmentation metrics per class, from class maps (one class id per pixel).
 *
 * The empty-mask rule: when a class is absent from both the truth and the prediction, its Dice
 * and IoU are 1 (a correct "nothing here"); absent from one only, they are 0.
 */
export interface ClassScores {
  readonly dice: number;
  readonly iou: number;
}

export interface Scores {
  /** Per class id: 0 is background (a one-class sigmoid spec is counted as two classes, 0 and 1). */
  readonly perClass: readonly ClassScores[];
  /** Mean over the foreground classes (all classes but 0 when there are several; the one class otherwise). */
  readonly dice: number;
  readonly iou: number;
  readonly pixelAccuracy: number;
}

/** Counts per class over one or more images: add images, then read the scores. */
export class ConfusionCounts {
  private readonly tp: Float64Array;
  private readonly fp: Float64Array;
  private readonly fn: Float64Array;
  private correct = 0;
  private pixels = 0;

  constructor(readonly classes: number) {
    this.tp = new Float64Array(classes);
    this.fp = new Float64Array(classes);
    this.fn = new Float64Array(classes);
  }

  /** Adds one image's predicted and true class maps (same length). */
  add(predicted: ArrayLike<number>, truth: ArrayLike<number>): this {
    if (predicted.length !== truth.length)
      throw new Error(`prediction has ${predicted.length} pixels, truth ${truth.length}`);
    for (let i = 0; i < truth.length; i++) {
      const p = predicted[i]!;
      const t = truth[i]!;
      if (p === t) {
        this.tp[t]!++;
        this.correct++;
      } else {
        this.fp[p]!++;
        this.fn[t]!++;
      }
    }
    this.pixels += truth.length;
    return this;
  }

  scores(): Scores {
    const perClass: ClassScores[] = [];
    for (let c = 0; c < this.classes; c++) {
      const tp = this.tp[c]!;
      const fp = this.fp[c]!;
      const fn = this.fn[c]!;
      const empty = tp + fp + fn === 0;
      perClass.push({ dice: empty ? 1 : (2 * tp) / (2 * tp + fp + fn), iou: empty ? 1 : tp / (tp + fp + fn) });
    }
    const fg = this.classes > 2 ? perClass.slice(1) : [perClass[this.classes - 1]!];
    const mean = (f: (s: ClassScores) => number) => fg.reduce((a, s) => a + f(s), 0) / fg.length;
    return {
      perClass,
      dice: mean((s) => s.dice),
      iou: mean((s) => s.iou),
      pixelAccuracy: this.pixels === 0 ? 1 : this.correct / this.pixels,
    };
  }
}

/** Class maps from probabilities [pixels x channels]: argmax for softmax, a threshold for one sigmoid channel. */
export function classMap(probabilities: ArrayLike<number>, channels: number, threshold = 0.5): Uint8Array {
  const pixels = probabilities.length / channels;
  const out = new Uint8Array(pixels);
  for (let i = 0; i < pixels; i++) {
    if (channels === 1) {
      out[i] = probabilities[i]! > threshold ? 1 : 0;
      continue;
    }
    let best = 0;
    for (let c = 1; c < channels; c++)
      if (probabilities[i * channels + c]! > probabilities[i * channels + best]!) best = c;
    out[i] = best;
  }
  return out;
}
