/**
 * The batch of a training step, for images and volumes alike: which examples, which patches of
 * them, augmented how, all drawn from seeds derived from (seed, step), so a resumed run draws
 * exactly the batches the interrupted one would have. Only the patch itself differs by kind:
 * an image's comes from the 2D augmentation (scale, rotation, elastic, stain, ...), a volume's is
 * cut from it and turned and flipped along its axes. Everything around it (the pick, the
 * layout, the targets, a boundary head's outlines) is one path, as MONAI's spatial_dims would
 * have it.
 */
import { Random, seedFor } from '../../util/random.js';
import { boundaryTargets } from '../infer/boundary.js';
import {
  applyNormalization,
  augment,
  augmentIntensity,
  finishInput,
  flipAxis,
  quarterTurns,
  type AugmentOptions,
} from '../data/index.js';
import { extractPatch, randomPatchOrigin } from '../volume/index.js';
import type { Example, TrainingData } from './data.js';
import type { VolumeExample } from './volume-types.js';

/** A batch as flat channels-last arrays (NHWC, NDHWC): normalized images and one-hot (or 0/1) targets. */
export interface Batch {
  readonly images: Float32Array;
  readonly targets: Float32Array;
  /** One example's: the patch's sides, then the channels. */
  readonly shape: readonly number[];
}

/** What shapes a batch: the settings' batch, patch and augmentation, and the seed. */
export interface BatchSettings {
  readonly batch: number;
  readonly patch: readonly number[];
  readonly seed: number;
  readonly augmentation: AugmentOptions;
}

/** The network's output: its classes, and whether they are a boundary head's (masks are then instance ids). */
export interface BatchHead {
  readonly classes: number;
  readonly instances?: 'boundary';
}

/** One augmented patch: the normalized input (channels last) and its mask (class or instance ids). */
interface Patch {
  readonly image: Float32Array;
  readonly mask: ArrayLike<number>;
}

/** Targets for the head: one channel of 0/1 for one class, one-hot over `classes` otherwise. */
function targetsOf(mask: ArrayLike<number>, classes: number, out: Float32Array, offset: number): void {
  for (let p = 0; p < mask.length; p++) {
    if (classes === 1) out[offset + p] = mask[p]! > 0 ? 1 : 0;
    else out[offset + p * classes + Math.min(mask[p]!, classes - 1)] = 1;
  }
}

/**
 * The batch of step `step` from the training images, or from the training volumes when the data
 * holds volumes. A boundary head's outlines are found after the augmentation moved the instances.
 */
export function makeBatch(data: TrainingData, step: number, s: BatchSettings, head: BatchHead): Batch {
  const volumes = data.volumes?.train;
  const count = volumes ? volumes.length : data.train.length;
  const spatial = s.patch;
  const channels = volumes ? volumes[0]!.channels : data.train[0]!.image.channels;
  const size = spatial.reduce((a, b) => a * b, 1);
  const k = head.classes === 1 ? 1 : head.classes;
  const images = new Float32Array(s.batch * size * channels);
  const targets = new Float32Array(s.batch * size * k);
  const rng = new Random(seedFor(s.seed, `batch:${step}`));
  for (let b = 0; b < s.batch; b++) {
    const i = Math.floor(rng.next() * count);
    const p = volumes ? volumePatch(volumes[i]!, step, b, s) : imagePatch(data.train[i]!, step, b, s);
    images.set(p.image, b * size * channels);
    targetsOf(head.instances ? boundaryTargets(p.mask, spatial) : p.mask, head.classes, targets, b * size * k);
  }
  return { images, targets, shape: [...spatial, channels] };
}

function imagePatch(e: Example, step: number, b: number, s: BatchSettings): Patch {
  const patch = [s.patch[0]!, s.patch[1]!] as const;
  // Brightness and contrast relative to the image's own levels: its normalization's offset and scale.
  const a = augment(seedFor(s.seed, `augment:${step}:${b}`), e.image, e.mask, { ...s.augmentation, patch }, e.norm);
  return { image: finishInput(applyNormalization(a.image, e.norm), a.plan, e.norm.mode), mask: a.mask.data };
}

/** A volume's patch: zero-filled where it reaches past a volume smaller than the patch. */
function volumePatch(e: VolumeExample, step: number, b: number, s: BatchSettings): Patch {
  const size = [s.patch[0]!, s.patch[1]!, s.patch[2]!] as const;
  const nifti = [e.dims[2], e.dims[1], e.dims[0]] as const;
  const r = new Random(seedFor(s.seed, `augment:${step}:${b}`));
  const origin = randomPatchOrigin(r, nifti, size);
  const offset = e.norm.offset[0] ?? 0;
  const scale = e.norm.scale[0] ?? 1;
  // Intensity changes on the raw values, relative to the volume's own levels, then its
  // normalization (as 2D images).
  let image = augmentIntensity(
    extractPatch(e.image, nifti, origin, size),
    seedFor(s.seed, `intensity:${step}:${b}`),
    s.augmentation,
    e.norm,
  ).map((v) => (v - offset) / scale);
  let mask = extractPatch(e.mask, nifti, origin, size);
  if (s.augmentation.rotate90) {
    // In-plane quarter turns (height x width); a non-square plane only gets half turns.
    const turns = Math.floor(r.next() * 4);
    const k = size[1] === size[2] ? turns : turns % 2 === 0 ? 0 : 2;
    image = rotatePlanes(image, size, k);
    mask = rotatePlanes(mask, size, k);
  }
  if (s.augmentation.flip) {
    for (const axis of [0, 1, 2] as const) {
      if (r.next() < 0.5) {
        image = flipAxis(image, size, 1, axis);
        mask = flipAxis(mask, size, 1, axis);
      }
    }
  }
  return { image, mask };
}

/**
 * Each depth slice of a DHW block turned by k clockwise quarter turns in the (height, width)
 * plane (geometry.ts quarterTurns, the other way round): a new array (the same when k is 0).
 */
export function rotatePlanes<T extends Float32Array | Uint16Array>(
  data: T,
  dims: readonly [number, number, number],
  k: number,
): T {
  const [, h, w] = dims;
  if (((k % 4) + 4) % 4 === 0) return data;
  if (k % 2 !== 0 && h !== w) throw new RangeError(`rotatePlanes: a ${h}x${w} plane cannot take a quarter turn`);
  return quarterTurns(data, dims, 1, -k).data;
}
