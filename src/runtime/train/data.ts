import { join, resolve } from 'node:path';
import { Random, seedFor } from '../../util/random.js';
import {
  DataError,
  formatProblems,
  generateSample,
  loadSample,
  normalizationParams,
  scanDataset,
  type HWC,
  type NormalizationParams,
} from '../data/index.js';
import type { VolumeData } from './volume-types.js';
import { UnetcError } from '../../util/error.js';

/** One image with its mask and the normalization computed on the whole image. */
export interface Example {
  readonly name: string;
  readonly image: HWC<Float32Array>;
  /** Class ids; for a boundary head (`output.instances: boundary`), instance ids (0 background). */
  readonly mask: HWC<Uint16Array>;
  readonly norm: NormalizationParams;
}

export interface TrainingData {
  readonly train: readonly Example[];
  readonly val: readonly Example[];
  /** Volumes for a 3D network (then `train` and `val` are empty). */
  readonly volumes?: VolumeData;
  /** What the report shows, when not the first validation images (slices: each volume's middle one). */
  readonly reportExamples?: readonly Example[];
  /** Where the data came from, for run.json. */
  readonly source: string;
  /** A hash of the data, for run.json (folders: content hashes; synthetic: the generator seed). */
  readonly fingerprint: string;
}

/**
 * What is legal but almost surely a mistake, in words (the CLI prints them as warnings):
 * validating on the training folder itself, and training masks that are all empty.
 */
export function dataWarnings(data: TrainingData, folders: { readonly data?: string; readonly val?: string }): string[] {
  const warnings: string[] = [];
  if (folders.data !== undefined && folders.val !== undefined && resolve(folders.data) === resolve(folders.val)) {
    warnings.push(
      `--val ${folders.val} is the training folder: the validation scores (and the best checkpoint chosen by them) will be optimistic, as the model has seen every image`,
    );
  }
  const masks = data.volumes ? data.volumes.train.map((v) => v.mask) : data.train.map((e) => e.mask.data);
  if (masks.length > 0 && masks.every((m) => m.every((v) => v === 0))) {
    warnings.push(
      `every training mask${folders.data !== undefined ? ` in ${folders.data}` : ''} is empty (no foreground): the model can only learn to find nothing; check that masks/ marks objects with nonzero values`,
    );
  }
  return warnings;
}

/** Every problem found in the data, each naming its file: nothing trains until they are fixed. */
export class DataProblems extends UnetcError {
  constructor(readonly lines: readonly string[]) {
    super(undefined, `${lines.length} problem${lines.length === 1 ? '' : 's'} in the data: nothing was trained`, {
      details: lines,
    });
  }
}

function example(
  name: string,
  image: Float32Array,
  mask: Uint16Array,
  height: number,
  width: number,
  channels: number,
): Example {
  const hwc = { height, width, channels, data: image };
  return {
    name,
    image: hwc,
    mask: { height, width, channels: 1, data: mask },
    norm: normalizationParams(hwc, { mode: 'zscore' }),
  };
}

/** What the masks of a data set must hold: class ids, or instance ids for a boundary head. */
export interface TargetKind {
  /** The spec's classes (the masks' classes). */
  readonly classes: number;
  readonly instances?: 'boundary';
}

/** The built-in data: seeded synthetic fluorescence nuclei (train and validation never share a seed). */
export function syntheticData(
  seed: number,
  channels: number,
  count = { train: 64, val: 16 },
  size = 192,
  targets: Pick<TargetKind, 'instances'> = {},
): TrainingData {
  const make = (split: string, n: number) =>
    Array.from({ length: n }, (_, i) => {
      const s = generateSample(seedFor(seed, `${split}:${i}`), { height: size, width: size });
      const image = new Float32Array(size * size * channels);
      for (let p = 0; p < size * size; p++) for (let c = 0; c < channels; c++) image[p * channels + c] = s.image[p]!;
      return example(
        `synthetic-${split}-${i}`,
        image,
        targets.instances ? s.labels : Uint16Array.from(s.mask),
        size,
        size,
        channels,
      );
    });
  return {
    train: make('train', count.train),
    val: make('val', count.val),
    source: `synthetic nuclei (seed ${seed}, ${count.train} + ${count.val} images of ${size}x${size})`,
    fingerprint: `synthetic:${seed}:${count.train}:${count.val}:${size}`,
  };
}

async function folderExamples(
  dir: string,
  channels: number,
  targets: TargetKind,
): Promise<{ examples: Example[]; fingerprint: string }> {
  const scan = await scanDataset(dir, { classes: targets.classes });
  const problems = formatProblems(scan.problems);
  if (targets.instances) {
    // A boundary head learns each instance's outline: it needs the instance label maps.
    const missing = scan.samples.filter((s) => s.labels === undefined);
    if (missing.length > 0) {
      problems.push(
        ...missing.map(
          (s) =>
            `${join(dir, 'labels', `${s.stem}.png`)}: missing: output.instances: boundary trains on instance label maps (labels/NAME.png, one id per object, 0 background) for every image`,
        ),
      );
    }
  }
  if (problems.length > 0) throw new DataProblems(problems);
  const examples: Example[] = [];
  // Every image that cannot become an input (the wrong channel count, say) is listed, not the first.
  const unusable: string[] = [];
  for (const s of scan.samples) {
    try {
      const l = await loadSample(s, channels);
      examples.push(example(s.stem, l.image, targets.instances ? l.labels! : l.mask, l.height, l.width, channels));
    } catch (e) {
      if (!(e instanceof DataError)) throw e;
      unusable.push(e.message);
    }
  }
  if (unusable.length > 0) throw new DataProblems(unusable);
  return { examples, fingerprint: scan.fingerprint };
}

/**
 * A seeded shuffle, then the last `valSplit` share (at least one item) validates; 0 keeps every
 * item for training (no validation). Throws DataProblems for fewer than 2 items (nothing to split).
 */
export function splitTrainVal<T>(
  items: readonly T[],
  seed: number,
  valSplit: number,
  dir: string,
  what: string,
): { train: T[]; val: T[] } {
  if (valSplit === 0) return { train: [...items], val: [] };
  if (items.length < 2)
    throw new DataProblems([`${dir}: needs at least 2 ${what} to split off a validation set (or give --val DIR)`]);
  const order = items
    .map((e, i) => ({ e, k: new Random(seedFor(seed, `split:${i}`)).next() }))
    .sort((a, b) => a.k - b.k);
  const nVal = Math.max(1, Math.round(order.length * valSplit));
  return {
    train: order.slice(0, order.length - nVal).map((o) => o.e),
    val: order.slice(order.length - nVal).map((o) => o.e),
  };
}

/**
 * A data folder's items split into train and validation by `valSplit` (seeded), or with a
 * separate validation folder: images and volumes alike (`read` reads one folder's items and its
 * fingerprint, throwing DataProblems that list every problem).
 */
export async function splitFolders<T>(
  dir: string,
  options: { readonly valDir?: string; readonly valSplit: number; readonly seed: number },
  what: 'images' | 'volumes',
  read: (dir: string) => Promise<{ examples: T[]; fingerprint: string }>,
): Promise<{ train: T[]; val: T[]; source: string; fingerprint: string }> {
  const main = await read(dir);
  if (options.valDir) {
    const val = await read(options.valDir);
    return {
      train: main.examples,
      val: val.examples,
      source: `${dir} (validation: ${options.valDir})`,
      fingerprint: `${main.fingerprint}+${val.fingerprint}`,
    };
  }
  return {
    ...splitTrainVal(main.examples, options.seed, options.valSplit, dir, what),
    source:
      options.valSplit === 0
        ? `${dir} (no validation)`
        : `${dir} (${Math.round(options.valSplit * 100)}% for validation)`,
    fingerprint: main.fingerprint,
  };
}

/** A data folder (images/, masks/) as training data; see splitFolders. */
export function folderData(
  dir: string,
  options: {
    valDir?: string;
    valSplit: number;
    seed: number;
    channels: number;
    classes: number;
    instances?: 'boundary';
  },
): Promise<TrainingData> {
  return splitFolders(dir, options, 'images', (d) => folderExamples(d, options.channels, options));
}
