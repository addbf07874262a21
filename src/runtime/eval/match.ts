/**
 * Instance matching at IoU 0.5: a predicted instance matches a true one when their IoU is above
 * 0.5. Two instances of one map are disjoint, so a true instance can have IoU > 0.5 with at most
 * one predicted instance (and the other way round): matches are unique without any assignment step.
 */

/** Counts from matching one image (or the sums over several). */
export interface InstanceCounts {
  /** True instances (non-zero labels of the truth). */
  readonly truth: number;
  /** Predicted instances. */
  readonly predicted: number;
  /** Pairs with IoU > the threshold: true positives. */
  readonly matched: number;
}

/** Precision, recall and F1 of some counts. */
export interface InstanceScores {
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
}

/** Distinct non-zero labels and their areas. */
function areas(labels: ArrayLike<number>): Map<number, number> {
  const out = new Map<number, number>();
  for (let p = 0; p < labels.length; p++) {
    const v = labels[p]!;
    if (v !== 0) out.set(v, (out.get(v) ?? 0) + 1);
  }
  return out;
}

/**
 * Matches two label maps of the same size (0 background; any ids, not necessarily consecutive).
 * `iou` is the threshold (default 0.5; a pair needs IoU strictly above it).
 */
export function matchInstances(truth: ArrayLike<number>, predicted: ArrayLike<number>, iou = 0.5): InstanceCounts {
  if (truth.length !== predicted.length)
    throw new RangeError(`matchInstances: truth has ${truth.length} pixels, prediction ${predicted.length}`);
  if (!(iou >= 0.5 && iou < 1))
    throw new RangeError(`matchInstances: IoU threshold must be in [0.5, 1) for matches to be unique, got ${iou}`);
  const ta = areas(truth);
  const pa = areas(predicted);
  // Overlap of every (true, predicted) pair that shares a pixel, keyed by t * 2^32 + q: exact
  // in a double while t < 2^21 (truth comes from 16-bit label maps).
  const inter = new Map<number, number>();
  for (let p = 0; p < truth.length; p++) {
    const t = truth[p]!;
    const q = predicted[p]!;
    if (t === 0 || q === 0) continue;
    if (t >= 2 ** 21 || q >= 2 ** 32)
      throw new RangeError(`matchInstances: label ${t >= 2 ** 21 ? t : q} is too large`);
    const key = t * 2 ** 32 + q;
    inter.set(key, (inter.get(key) ?? 0) + 1);
  }
  let matched = 0;
  for (const [key, n] of inter) {
    const t = Math.floor(key / 2 ** 32);
    const q = key - t * 2 ** 32;
    if (n / (ta.get(t)! + pa.get(q)! - n) > iou) matched++;
  }
  return { truth: ta.size, predicted: pa.size, matched };
}

/**
 * Precision matched/predicted, recall matched/truth, F1 their harmonic mean (2 tp / (2 tp + fp + fn)).
 * With nothing true and nothing predicted all three are 1 (a correct "no instances", as the
 * empty-mask rule has it); a zero denominator otherwise gives 0.
 */
export function instanceScores(c: InstanceCounts): InstanceScores {
  if (c.truth === 0 && c.predicted === 0) return { precision: 1, recall: 1, f1: 1 };
  const fp = c.predicted - c.matched;
  const fn = c.truth - c.matched;
  return {
    precision: c.predicted === 0 ? 0 : c.matched / c.predicted,
    recall: c.truth === 0 ? 0 : c.matched / c.truth,
    f1: (2 * c.matched) / (2 * c.matched + fp + fn),
  };
}

/** Sums of counts (the pooled, "overall" counts). */
export function addCounts(counts: readonly InstanceCounts[]): InstanceCounts {
  return counts.reduce(
    (a, c) => ({ truth: a.truth + c.truth, predicted: a.predicted + c.predicted, matched: a.matched + c.matched }),
    { truth: 0, predicted: 0, matched: 0 },
  );
}
