/**
 * A run's training settings, resolved once: the spec's `train:` section over `trainDefaults` (the
 * spec model's one table of defaults), with the command line's overrides on top. Train, resume,
 * the report, the benchmarks and other engines all read the resolved `TrainSettings` (run.json
 * stores it), never the spec's section again, so a default can change without changing a run.
 */
import { trainDefaults, type TrainSpec } from '../../compiler/spec/model.js';
import type { Graph } from '../../compiler/ir/types.js';
import { validSizes } from '../../compiler/shape/infer.js';
import type { AugmentOptions } from '../data/augment.js';
import { parseDuration } from './budget.js';
import { defaultLoss, type LossName } from './losses.js';
import type { ScheduleName } from './schedule.js';
import type { OptimizerSettings } from './step.js';

export interface TrainSettings {
  readonly epochs: number;
  readonly stepsPerEpoch: number;
  readonly batch: number;
  /** [height, width], or [depth, height, width] for a 3D network. */
  readonly patch: readonly number[];
  readonly loss: LossName;
  readonly optimizer: OptimizerSettings;
  readonly schedule: ScheduleName;
  /** Stop after this many epochs without a better validation Dice. */
  readonly earlyStopping: number | undefined;
  readonly seed: number;
  readonly augmentation: AugmentOptions;
  /** Stop after this many steps in all (a quick look, or a test). */
  readonly maxSteps: number | undefined;
  /**
   * Train for this long (ms) instead of `epochs`: the schedule spans the steps that fit (see
   * budget.ts); validation at each quarter of the run when it is cheap enough, and at the end.
   * With `epochs` as well (`epochsCap`), whichever ends first.
   */
  readonly timeBudgetMs?: number;
  /** With a time budget: `epochs` also limits the run (the spec gave both). */
  readonly epochsCap?: boolean;
  /** Linear warm-up of the learning rate over this share of the run (0 for none). */
  readonly warmup?: number;
  /** Boundary heads: the cross-entropy weight of the outline where instances touch (losses.ts contactCe). */
  readonly contactWeight?: number;
}

/** What the command line may set instead of the spec (values already checked as numbers). */
export interface TrainOverrides {
  readonly epochs?: number;
  /** --time, in ms: replaces the spec's time and its epochs (with --epochs as well, whichever ends first). */
  readonly timeMs?: number;
  readonly stepsPerEpoch?: number;
  readonly batch?: number;
  readonly learningRate?: number;
  readonly maxSteps?: number;
  readonly seed?: number;
  readonly valSplit?: number;
}

/** The seed and validation share, which choosing the data needs before the rest can be resolved. */
export function dataSettings(
  train: TrainSpec | undefined,
  o: TrainOverrides,
): { readonly seed: number; readonly valSplit: number } {
  return {
    seed: o.seed ?? train?.seed ?? trainDefaults.seed,
    valSplit: o.valSplit ?? train?.val_split ?? trainDefaults.val_split,
  };
}

/**
 * The settings of a new run of `graph` on `trainCount` training images (or volumes): each field
 * from the overrides, else the spec, else its default.
 */
export function resolveTrainSettings(
  train: TrainSpec | undefined,
  graph: Graph,
  o: TrainOverrides,
  trainCount: number,
): TrainSettings {
  const t = train ?? {};
  const batch = o.batch ?? t.batch ?? trainDefaults.batch;
  return {
    ...lengthOf(t, o),
    stepsPerEpoch: o.stepsPerEpoch ?? t.steps_per_epoch ?? Math.max(1, Math.ceil(trainCount / batch)),
    batch,
    patch: t.patch ?? defaultPatch(graph),
    loss: t.loss ?? defaultLoss(graph.activation),
    optimizer: {
      name: t.optimizer ?? trainDefaults.optimizer,
      learningRate: o.learningRate ?? t.learning_rate ?? trainDefaults.learning_rate,
      momentum: t.momentum ?? trainDefaults.momentum,
      weightDecay: t.weight_decay ?? trainDefaults.weight_decay,
    },
    schedule: t.schedule ?? trainDefaults.schedule,
    earlyStopping: t.early_stopping,
    seed: dataSettings(t, o).seed,
    augmentation: t.augment ?? defaultAugmentation(graph),
    maxSteps: o.maxSteps,
    warmup: t.warmup ?? trainDefaults.warmup,
    ...(graph.instances === 'boundary' ? { contactWeight: t.contact_weight ?? trainDefaults.contact_weight } : {}),
  };
}

/**
 * A resumed run keeps its own settings (the schedule and the batches depend on them), except the
 * step budget: `maxSteps` may lift or set it. Returns the other overrides given, which are ignored.
 */
export function resumedSettings(
  saved: TrainSettings,
  o: TrainOverrides,
): { readonly settings: TrainSettings; readonly ignored: readonly (keyof TrainOverrides)[] } {
  const ignored = (['epochs', 'timeMs', 'stepsPerEpoch', 'batch', 'learningRate', 'seed', 'valSplit'] as const).filter(
    (k) => o[k] !== undefined,
  );
  return { settings: { ...saved, maxSteps: o.maxSteps }, ignored };
}

/** The run's length: an override's time replaces the spec's time and epochs, an override's epochs its time; a spec with both stops at the first. */
function lengthOf(t: TrainSpec, o: TrainOverrides): Pick<TrainSettings, 'epochs' | 'timeBudgetMs' | 'epochsCap'> {
  if (o.timeMs !== undefined)
    return { epochs: o.epochs ?? 1, timeBudgetMs: o.timeMs, epochsCap: o.epochs !== undefined };
  const epochs = o.epochs ?? t.epochs;
  // The schema checked the spec's duration; parseDuration agrees with its pattern.
  const specTime = o.epochs === undefined && t.time !== undefined ? parseDuration(t.time) : undefined;
  if (specTime !== undefined) return { epochs: epochs ?? 1, timeBudgetMs: specTime, epochsCap: epochs !== undefined };
  return { epochs: epochs ?? trainDefaults.epochs };
}

/** The patch to train on when the spec does not say: the size the network accepts nearest to 128 (32x64x64 for volumes). */
export function defaultPatch(graph: Graph): number[] {
  const want = graph.dims === 3 ? [32, 64, 64] : [128, 128];
  return want.map((target, axis) => {
    const sizes = validSizes(graph, axis, 1024);
    // Nearest accepted size (the 2015 network's smallest is 188, so 128 itself may not fit).
    return sizes.reduce((best, s) => (Math.abs(s - target) < Math.abs(best - target) ? s : best), sizes[0] ?? target);
  });
}

/** Augmentation when the spec does not say: flips, and quarter turns in the plane of images (volumes' axes differ in spacing). */
function defaultAugmentation(graph: Graph): AugmentOptions {
  return graph.dims === 3 ? { flip: true } : { flip: true, rotate90: true };
}
