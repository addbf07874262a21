/**
 * Seeded augmentation of an (image, mask) pair, in two steps: `planAugmentation` draws every random
 * choice into a plain, recordable plan, and `applyAugmentation` applies a plan deterministically.
 * Order: crop (zoomed when `scale` asks), flips, rotation, elastic deformation (geometry on image
 * and mask alike), then colour (gray, per-channel jitter), blur, gamma, brightness/contrast and
 * noise (image only). Inversion comes after the normalization (`finishInput`). Inputs are never
 * modified.
 *
 * Brightness and contrast are relative to the image's own levels (`IntensityReference`, the
 * normalization's offset and scale) when training gives them: `intensity: 0.1` then moves every
 * image by up to a tenth of its own spread and scales it by up to 10% around its offset, as the
 * torch engine changes its normalized values (with `normalize: none` both act on raw values). In
 * the raw units of the file it would be a tenth of the whole 8- or 16-bit range: two standard
 * deviations of a typical dim fluorescence image (std 0.05 of the range), nothing on a CT in
 * Hounsfield units.
 *
 * The appearance augmentations are what lets a model trained on one kind of image hold on others
 * (the DSB 2018 winners and Cellpose train this way): dark nuclei on a light ground are bright ones
 * inverted, stains differ by a gain per channel, other microscopes by magnification and focus.
 */
import type { AugmentSpec, ElasticSpec } from '../../compiler/spec/model.js';
import { Random } from '../../util/random.js';
import { crop, cropResized, elasticField, flip, rotate90, warp, type HWC } from './geometry.js';
import { applyNormalization, undoNormalization, type NormalizationMode } from './normalize.js';
import { gaussianBlur } from './optics.js';

/** Elastic deformation settings (the 2015 U-Net paper: a 3x3 grid, 10 px standard deviation). */
export type ElasticOptions = ElasticSpec;

/** The spec's `train.augment`, plus the patch size to crop. */
export interface AugmentOptions extends AugmentSpec {
  /** Crop a random [height, width] patch (reflection-padded when the image is smaller). */
  readonly patch?: readonly [number, number];
}

/** Every random choice of one augmentation, ready to record or replay. */
export interface AugmentPlan {
  readonly crop:
    { readonly top: number; readonly left: number; readonly height: number; readonly width: number } | undefined;
  readonly flipHorizontal: boolean;
  readonly flipVertical: boolean;
  /** Counter-clockwise quarter turns. */
  readonly rotate: 0 | 1 | 2 | 3;
  readonly elastic:
    { readonly grid: number; readonly dx: readonly number[]; readonly dy: readonly number[] } | undefined;
  readonly gamma: number;
  readonly contrast: number;
  readonly brightness: number;
  readonly noiseStd: number;
  readonly noiseSeed: number;
  /** The crop's zoom (1: none): the crop window is the patch divided by it... */
  readonly zoom: number;
  /** ...resampled to this [height, width] (the patch), when zoomed. */
  readonly resize: readonly [number, number] | undefined;
  readonly invert: boolean;
  readonly blurSigma: number;
  readonly gray: boolean;
  /** Per channel (up to 4): value * gain + offset. */
  readonly colorGain: readonly number[];
  readonly colorOffset: readonly number[];
}

/** Draws a plan for an image of the given size; the same seed and options give the same plan. */
export function planAugmentation(
  seed: number,
  size: { readonly height: number; readonly width: number },
  options: AugmentOptions,
): AugmentPlan {
  const rng = new Random(seed);
  // Every draw is made whatever the options, so switching one augmentation off leaves the others' values as they were.
  const [ph, pw] = options.patch ?? [size.height, size.width];
  const top = Math.floor(rng.uniform(Math.min(0, size.height - ph), Math.max(0, size.height - ph) + 1));
  const left = Math.floor(rng.uniform(Math.min(0, size.width - pw), Math.max(0, size.width - pw) + 1));
  const flipHorizontal = rng.next() < 0.5 && options.flip === true;
  const flipVertical = rng.next() < 0.5 && options.flip === true;
  const turns = Math.floor(rng.next() * 4);
  const rotate = !options.rotate90 ? 0 : ph === pw ? (turns as 0 | 1 | 2 | 3) : turns % 2 === 0 ? 0 : 2;
  const e: ElasticOptions = typeof options.elastic === 'object' ? options.elastic : {};
  const grid = e.grid ?? 3;
  const scale = (e.sigma ?? 10) * (e.alpha ?? 1);
  const dx = Array.from({ length: grid * grid }, () => scale * rng.normal());
  const dy = Array.from({ length: grid * grid }, () => scale * rng.normal());
  const { gamma, contrast, brightness, noiseStd, noiseSeed } = drawIntensity(rng, options);
  // Draws added later come last, so that plans without them keep every earlier value.
  const zoom =
    options.scale && options.scale > 1 ? Math.exp(rng.uniform(-Math.log(options.scale), Math.log(options.scale))) : 1;
  let window = options.patch ? { top, left, height: ph, width: pw } : undefined;
  if (options.patch && zoom !== 1) {
    // The window that becomes the patch: smaller when zooming in, larger (reflected past the edges) when out.
    const wh = Math.max(1, Math.round(ph / zoom));
    const ww = Math.max(1, Math.round(pw / zoom));
    window = {
      top: Math.floor(rng.uniform(Math.min(0, size.height - wh), Math.max(0, size.height - wh) + 1)),
      left: Math.floor(rng.uniform(Math.min(0, size.width - ww), Math.max(0, size.width - ww) + 1)),
      height: wh,
      width: ww,
    };
  }
  const invert = rng.next() < (options.invert ?? 0);
  const blurSigma = rng.uniform(0, options.blur ?? 0);
  const gray = rng.next() < (options.gray ?? 0);
  const c = options.color ?? 0;
  const colorGain = [0, 1, 2, 3].map(() => rng.uniform(1 - c, 1 + c));
  const colorOffset = [0, 1, 2, 3].map(() => rng.uniform(-c, c));
  return {
    crop: window,
    zoom,
    resize: options.patch && zoom !== 1 ? [ph, pw] : undefined,
    invert,
    blurSigma,
    gray,
    colorGain,
    colorOffset,
    flipHorizontal,
    flipVertical,
    rotate,
    elastic: options.elastic ? { grid, dx, dy } : undefined,
    gamma,
    contrast,
    brightness,
    noiseStd,
    noiseSeed,
  };
}

/** The intensity part of a plan (the last draws of planAugmentation, so 2D plans keep their values). */
function drawIntensity(
  rng: Random,
  options: AugmentOptions,
): Pick<AugmentPlan, 'gamma' | 'contrast' | 'brightness' | 'noiseStd' | 'noiseSeed'> {
  const g = options.gamma ?? 0;
  const i = options.intensity ?? 0;
  return {
    // Log-uniform, as the torch runner draws it: a gamma and its inverse are equally likely.
    gamma: Math.exp(rng.uniform(-g, g)),
    contrast: Math.max(0, rng.uniform(1 - i, 1 + i)),
    brightness: rng.uniform(-i, i),
    noiseStd: rng.uniform(0, options.noise ?? 0),
    noiseSeed: Math.floor(rng.next() * 4294967296),
  };
}

/**
 * The levels a brightness/contrast change is relative to, per channel (a normalization's offset and
 * scale, `NormalizationParams`): contrast pivots around the offset and brightness moves by
 * `brightness * scale`. In normalized values that is v * contrast + brightness, whatever the
 * image's range.
 */
export interface IntensityReference {
  readonly offset: readonly number[];
  readonly scale: readonly number[];
}

/**
 * Gamma, brightness/contrast and noise as `options` ask, drawn from `seed`, on any one-channel
 * array (3D patches): a new array. See `IntensityReference`.
 */
export function augmentIntensity(
  data: Float32Array,
  seed: number,
  options: AugmentOptions,
  reference?: IntensityReference,
): Float32Array {
  return intensity(data, drawIntensity(new Random(seed), options), 1, reference);
}

function meanOf(data: Float32Array): number {
  let sum = 0;
  for (const v of data) sum += v;
  return sum / (data.length || 1);
}

function minMax(data: Float32Array): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of data) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

/**
 * Gamma, then brightness/contrast (around the reference's offset and in its scale's units, else
 * around the array's mean and in its own units), then noise: a new array.
 */
function intensity(
  data: Float32Array,
  plan: Pick<AugmentPlan, 'gamma' | 'contrast' | 'brightness' | 'noiseStd' | 'noiseSeed'>,
  channels: number,
  reference: IntensityReference | undefined,
): Float32Array {
  const out = data.slice();
  if (plan.gamma !== 1) {
    // On the array rescaled to [0, 1] and back. With a reference, in normalized values (the torch
    // runner's): with one offset per channel, a channel recorded at a twentieth of another's
    // level then bends alike instead of sitting at the bottom of the range, nearly untouched.
    const normed = reference ? applyNormalization({ channels, data: out }, reference) : out;
    const [lo, hi] = minMax(normed);
    if (hi > lo)
      for (let p = 0; p < out.length; p++)
        normed[p] = lo + (hi - lo) * (((normed[p] ?? 0) - lo) / (hi - lo)) ** plan.gamma;
    if (reference) undoNormalization(normed, channels, reference, out);
  }
  if (plan.contrast !== 1 || plan.brightness !== 0) {
    // One value for every channel, or one per channel.
    const { offset: pivots, scale: units } = reference ?? { offset: [meanOf(out)], scale: [1] };
    for (let p = 0; p < out.length; p++) {
      const c = p % channels;
      const pivot = pivots[c] ?? pivots[0] ?? 0;
      out[p] = ((out[p] ?? 0) - pivot) * plan.contrast + pivot + plan.brightness * (units[c] ?? units[0] ?? 1);
    }
  }
  if (plan.noiseStd > 0) {
    const rng = new Random(plan.noiseSeed);
    for (let p = 0; p < out.length; p++) out[p] = (out[p] ?? 0) + plan.noiseStd * rng.normal();
  }
  return out;
}

/**
 * Applies a plan to an image and its mask (same height and width; the mask usually has 1
 * channel); brightness and contrast relative to `reference` when given (see `IntensityReference`).
 */
export function applyAugmentation<M extends Uint8Array | Uint16Array>(
  plan: AugmentPlan,
  image: HWC<Float32Array>,
  mask: HWC<M>,
  reference?: IntensityReference,
): { image: HWC<Float32Array>; mask: HWC<M> } {
  if (image.height !== mask.height || image.width !== mask.width) {
    throw new RangeError(
      `applyAugmentation: image ${image.height}x${image.width} and mask ${mask.height}x${mask.width} differ`,
    );
  }
  let im = image;
  let mk = mask;
  if (plan.crop && plan.resize) {
    const { top, left, height, width } = plan.crop;
    const [ph, pw] = plan.resize;
    im = cropResized(im, top, left, height, width, ph, pw, 'bilinear');
    mk = cropResized(mk, top, left, height, width, ph, pw, 'nearest');
  } else if (plan.crop) {
    const { top, left, height, width } = plan.crop;
    im = crop(im, top, left, height, width);
    mk = crop(mk, top, left, height, width);
  }
  if (plan.flipHorizontal) [im, mk] = [flip(im, 'horizontal'), flip(mk, 'horizontal')];
  if (plan.flipVertical) [im, mk] = [flip(im, 'vertical'), flip(mk, 'vertical')];
  if (plan.rotate !== 0) [im, mk] = [rotate90(im, plan.rotate), rotate90(mk, plan.rotate)];
  if (plan.elastic) {
    const field = elasticField(plan.elastic.dx, plan.elastic.dy, plan.elastic.grid, im.height, im.width);
    [im, mk] = [warp(im, field, 'bilinear'), warp(mk, field, 'nearest')];
  }
  return { image: { ...im, data: intensity(appearance(im, plan), plan, im.channels, reference) }, mask: mk };
}

/** Colour (gray, per-channel gain and offset) and blur: a new array (gray images get only the blur). */
function appearance(im: HWC<Float32Array>, plan: AugmentPlan): Float32Array {
  const { height: h, width: w, channels: ch } = im;
  let data = im.data;
  if (ch >= 3 && (plan.gray || plan.colorGain.some((g) => g !== 1) || plan.colorOffset.some((o) => o !== 0))) {
    data = data.slice();
    for (let p = 0; p < h * w; p++) {
      const q = p * ch;
      if (plan.gray) {
        const luma = 0.299 * data[q]! + 0.587 * data[q + 1]! + 0.114 * data[q + 2]!;
        for (let k = 0; k < 3; k++) data[q + k] = luma;
      }
      for (let k = 0; k < Math.min(ch, 4); k++) data[q + k] = data[q + k]! * plan.colorGain[k]! + plan.colorOffset[k]!;
    }
  }
  if (plan.blurSigma > 0.3) {
    // Below ~0.3 px a Gaussian barely moves a pixel: skip the work.
    const out = new Float32Array(data.length);
    const plane = new Float32Array(h * w);
    for (let k = 0; k < ch; k++) {
      for (let p = 0; p < h * w; p++) plane[p] = data[p * ch + k]!;
      const blurred = gaussianBlur(plane, h, w, plan.blurSigma);
      for (let p = 0; p < h * w; p++) out[p * ch + k] = blurred[p]!;
    }
    data = out;
  }
  return data;
}

/**
 * What comes after the per-image normalization: inversion. On z-scored values, inverting the
 * image (max + min - v) is exactly a change of sign, whatever the image's statistics. Percentile
 * normalization maps an image to about [0, 1], so there it is 1 - v (the inverted image's own
 * percentiles would give nearly that: its 1st percentile is the original's 99th, not 99.8th).
 */
export function finishInput(
  normalized: Float32Array,
  plan: Pick<AugmentPlan, 'invert'>,
  mode: NormalizationMode = 'zscore',
): Float32Array {
  if (!plan.invert) return normalized;
  const top = mode === 'percentile' ? 1 : 0;
  for (let i = 0; i < normalized.length; i++) normalized[i] = top - normalized[i]!;
  return normalized;
}

/** Plans and applies in one call: the same seed gives the same result. */
export function augment<M extends Uint8Array | Uint16Array>(
  seed: number,
  image: HWC<Float32Array>,
  mask: HWC<M>,
  options: AugmentOptions,
  reference?: IntensityReference,
): { image: HWC<Float32Array>; mask: HWC<M>; plan: AugmentPlan } {
  const plan = planAugmentation(seed, image, options);
  return { ...applyAugmentation(plan, image, mask, reference), plan };
}
