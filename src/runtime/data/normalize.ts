/**
 * Per-image normalization. Both modes are `(value - offset) / scale`, so what a checkpoint or the
 * ONNX metadata records is the mode (and epsilon), and what one image got is its offset and scale.
 */
import type { HWC } from './geometry.js';

/**
 * `zscore`: mean 0, standard deviation 1; `percentile`: the 1st percentile at 0 and the 99.8th at 1
 * (StarDist's `normalize(x, 1, 99.8)`: a few saturated pixels do not squash the nuclei, as they
 * do a z-score's or a min-max's scale); `minmax`: [0, 1]; `none`: unchanged.
 */
export type NormalizationMode = 'zscore' | 'percentile' | 'minmax' | 'none';

/** The percentiles `percentile` maps to 0 and 1. */
export const PERCENTILES = [1, 99.8] as const;

/** Settings of a normalization: what a run records. */
export interface NormalizationSettings {
  readonly mode: NormalizationMode;
  /** One offset/scale per channel instead of one per image (default false). */
  readonly perChannel?: boolean;
  /** Smallest scale, so a flat image does not divide by zero (default 1e-6). */
  readonly epsilon?: number;
}

/** What one image got: value' = (value - offset[c]) / scale[c] (one entry unless per channel). */
export interface NormalizationParams {
  readonly mode: NormalizationMode;
  readonly offset: readonly number[];
  readonly scale: readonly number[];
}

/** Statistics of channel `c` (or of all channels when `c` is undefined). */
function stats(
  image: HWC<Float32Array>,
  c: number | undefined,
): { mean: number; std: number; min: number; max: number } {
  const { channels: ch, data } = image;
  let n = 0;
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = c ?? 0; i < data.length; i += c === undefined ? 1 : ch) {
    const v = data[i] ?? 0;
    sum += v;
    n++;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const mean = n ? sum / n : 0;
  let sq = 0;
  for (let i = c ?? 0; i < data.length; i += c === undefined ? 1 : ch) sq += ((data[i] ?? 0) - mean) ** 2;
  return { mean, std: n ? Math.sqrt(sq / n) : 0, min: n ? min : 0, max: n ? max : 0 };
}

/**
 * The q-th percentiles of channel `c` (all channels when undefined), interpolated linearly between
 * the sorted values as numpy.percentile does (for finite values: training and prediction refuse
 * images with NaN or infinities before they get here).
 */
export function percentiles(image: HWC<Float32Array>, c: number | undefined, qs: readonly number[]): number[] {
  const { channels: ch, data } = image;
  const values = c === undefined ? Float32Array.from(data) : data.filter((_, i) => i % ch === c);
  values.sort();
  const n = values.length;
  return qs.map((q) => {
    if (n === 0) return 0;
    const at = (q / 100) * (n - 1);
    const low = Math.floor(at);
    const high = Math.min(n - 1, low + 1);
    return values[low]! + (values[high]! - values[low]!) * (at - low);
  });
}

/** The parameters `settings` gives for this image. */
export function normalizationParams(image: HWC<Float32Array>, settings: NormalizationSettings): NormalizationParams {
  const eps = settings.epsilon ?? 1e-6;
  const channels = settings.perChannel ? Array.from({ length: image.channels }, (_, c) => c) : [undefined];
  const offset: number[] = [];
  const scale: number[] = [];
  for (const c of channels) {
    if (settings.mode === 'none') {
      offset.push(0);
      scale.push(1);
      continue;
    }
    if (settings.mode === 'percentile') {
      const [low, high, top] = percentiles(image, c, [...PERCENTILES, 100]) as [number, number, number];
      offset.push(low);
      // More than 99.8% of the pixels alike (a sparse image, an empty end slice): the span to the
      // brightest pixel instead, or the few bright ones would land at millions.
      scale.push(Math.max(eps, high > low ? high - low : top - low));
      continue;
    }
    const s = stats(image, c);
    offset.push(settings.mode === 'zscore' ? s.mean : s.min);
    scale.push(Math.max(eps, settings.mode === 'zscore' ? s.std : s.max - s.min));
  }
  return { mode: settings.mode, offset, scale };
}

/** The offset and scale of each value (one pair for the image, or one per channel). */
type Levels = Pick<NormalizationParams, 'offset' | 'scale'>;

/** Applies recorded parameters: a new array. */
export function applyNormalization(image: Pick<HWC<Float32Array>, 'channels' | 'data'>, params: Levels): Float32Array {
  const { channels: ch, data } = image;
  const out = new Float32Array(data.length);
  const per = params.offset.length > 1;
  for (let i = 0; i < data.length; i++) {
    const c = per ? i % ch : 0;
    out[i] = ((data[i] ?? 0) - (params.offset[c] ?? 0)) / (params.scale[c] ?? 1);
  }
  return out;
}

/** `applyNormalization`'s inverse: normalized values back to the image's own units, into `out`. */
export function undoNormalization(normalized: Float32Array, channels: number, params: Levels, out: Float32Array): void {
  const per = params.offset.length > 1;
  for (let i = 0; i < normalized.length; i++) {
    const c = per ? i % channels : 0;
    out[i] = (normalized[i] ?? 0) * (params.scale[c] ?? 1) + (params.offset[c] ?? 0);
  }
}

/** Normalizes one image; returns the new data and the parameters it used (to record). */
export function normalize(
  image: HWC<Float32Array>,
  settings: NormalizationSettings,
): { data: Float32Array; params: NormalizationParams } {
  const params = normalizationParams(image, settings);
  return { data: applyNormalization(image, params), params };
}

/** How many values are NaN or infinite (they would spoil a whole volume's z-score). */
export function nonFiniteCount(data: Float32Array): number {
  let n = 0;
  for (const v of data) if (!Number.isFinite(v)) n++;
  return n;
}
