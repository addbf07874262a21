import type { LayersModel, Optimizer } from '@tensorflow/tfjs';
import { appendFileSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Graph } from '../../compiler/index.js';
import type { AugmentOptions } from '../data/index.js';
import type { Engine } from '../backend/index.js';
import type { CheckpointInfo } from '../checkpoint/index.js';
import { seedFor } from '../../compiler/backends/random.js';
import { makeBatch, type TrainingData } from './data.js';
import { validate } from './validate.js';
import { makeVolumeBatch } from './volume-data.js';
import type { LossName } from './losses.js';
import type { Scores } from './metrics.js';
import { learningRate, type ScheduleName } from './schedule.js';
import { writeTrainCheckpoint, type NamedTensor, type TrainState } from './state.js';
import { makeOptimizer, makeTrainStep, type OptimizerSettings } from './step.js';

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
}

export type StopReason = 'done' | 'early-stopping' | 'max-steps' | 'interrupted' | 'not-finite';

export type TrainEvent =
  | { readonly kind: 'step'; readonly step: number; readonly totalSteps: number; readonly epoch: number; readonly loss: number; readonly lr: number; readonly ms: number }
  | { readonly kind: 'epoch'; readonly epoch: number; readonly step: number; readonly trainLoss: number; readonly val: Scores; readonly best: boolean; readonly ms: number }
  | { readonly kind: 'stopped'; readonly reason: StopReason; readonly state: TrainState; readonly message: string };

export interface TrainContext {
  readonly engine: Engine;
  readonly graph: Graph;
  readonly model: LayersModel;
  readonly data: TrainingData;
  readonly settings: TrainSettings;
  readonly runDir: string;
  readonly checkpointInfo: CheckpointInfo;
  /** Continue from here (a resumed run): state and the optimizer's saved weights. */
  readonly resume?: { readonly state: TrainState; readonly optimizer: NamedTensor[] | undefined };
  /** Set `stop` to end after the current step with a checkpoint (Ctrl-C). */
  readonly signal: { stop: boolean };
}

export const METRICS_FILE = 'metrics.jsonl';

/** Metrics lines after `step` belong to steps a resumed run does again: drop them. */
function truncateMetrics(file: string, step: number): void {
  if (!existsSync(file)) return;
  const kept = readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '' && (JSON.parse(l) as { step: number }).step <= step);
  writeFileSync(file, kept.map((l) => `${l}\n`).join(''));
}

function setLearningRate(opt: Optimizer, lr: number): void {
  // SGD and momentum keep the rate in a tensor; Adam reads the field at every step.
  const o = opt as unknown as { setLearningRate?: (lr: number) => void; learningRate: number };
  if (o.setLearningRate) o.setLearningRate(lr);
  else o.learningRate = lr;
}

/**
 * The training loop: yields an event per step and per epoch; writes `last/` every epoch,
 * `best/` on a better validation Dice, metrics.jsonl; stops on the epoch budget, early stopping,
 * `maxSteps`, a non-finite loss (no checkpoint of it) or `signal.stop` (with a checkpoint).
 */
export async function* trainLoop(ctx: TrainContext): AsyncGenerator<TrainEvent> {
  const { engine, model, settings: s } = ctx;
  const { tf } = engine;
  const total = s.epochs * s.stepsPerEpoch;
  const budget = Math.min(total, s.maxSteps ?? Infinity);
  const optimizer = makeOptimizer(tf, s.optimizer);
  const step = makeTrainStep(tf, model, s.loss, optimizer, ctx.graph.deepSupervision);
  let state: TrainState = ctx.resume?.state ?? { step: 0, epoch: 0, bestDice: -1, bestEpoch: 0, stale: 0 };
  // Async in tfjs (it reads the iteration count back): the first step must see the restored moments.
  if (ctx.resume?.optimizer) await optimizer.setWeights(ctx.resume.optimizer);
  const metricsFile = join(ctx.runDir, METRICS_FILE);
  truncateMetrics(metricsFile, state.step);
  const save = (which: 'last' | 'best') => writeTrainCheckpoint(tf, join(ctx.runDir, which), model, which === 'last' ? optimizer : undefined, { ...ctx.checkpointInfo, step: state.step, epoch: state.epoch }, { ...state, epochLoss, epochSteps });
  const stop = async (reason: StopReason, message: string, checkpoint: boolean): Promise<TrainEvent> => {
    if (checkpoint) await save('last');
    step.dispose();
    return { kind: 'stopped', reason, state, message };
  };

  let epochLoss = ctx.resume?.state.epochLoss ?? 0;
  let epochSteps = ctx.resume?.state.epochSteps ?? 0;
  let epochStart = performance.now();
  while (state.step < budget) {
    const lr = learningRate(s.schedule, s.optimizer.learningRate, state.step, total);
    setLearningRate(optimizer, lr);
    const volumes = ctx.data.volumes;
    const b = volumes
      ? makeVolumeBatch(volumes.train, state.step, s.batch, s.patch, ctx.graph.classes, s.seed, s.augmentation)
      : makeBatch(ctx.data.train, state.step, s.batch, [s.patch[0]!, s.patch[1]!], ctx.graph.classes, s.seed, s.augmentation);
    const t0 = performance.now();
    const images = tf.tensor(b.images, [s.batch, ...b.shape]);
    const targets = tf.tensor(b.targets, [s.batch, ...b.shape.slice(0, -1), ctx.graph.classes === 1 ? 1 : ctx.graph.classes]);
    let loss: number;
    try {
      loss = await step.run(images, targets, seedFor(s.seed, `dropout:${state.step}`));
    } finally {
      images.dispose();
      targets.dispose();
    }
    if (!Number.isFinite(loss)) {
      yield await stop('not-finite', `the loss became ${loss} at step ${state.step + 1}; the last checkpoint (step ${state.step}) is kept. Lower the learning rate or check the data.`, false);
      return;
    }
    state = { ...state, step: state.step + 1 };
    epochLoss += loss;
    epochSteps++;
    yield { kind: 'step', step: state.step, totalSteps: budget, epoch: state.epoch + 1, loss, lr, ms: performance.now() - t0 };

    const epochEnds = state.step % s.stepsPerEpoch === 0;
    if (epochEnds) {
      const val = await validate(ctx);
      const best = val.dice > state.bestDice;
      state = { ...state, epoch: state.epoch + 1, bestDice: best ? val.dice : state.bestDice, bestEpoch: best ? state.epoch + 1 : state.bestEpoch, stale: best ? 0 : state.stale + 1 };
      const trainLoss = epochLoss / epochSteps;
      appendFileSync(metricsFile, `${JSON.stringify({ epoch: state.epoch, step: state.step, loss: trainLoss, lr, val_dice: val.dice, val_iou: val.iou, val_pixel_accuracy: val.pixelAccuracy, best })}\n`);
      // The next epoch starts empty, in the checkpoints written now too.
      epochLoss = 0;
      epochSteps = 0;
      if (best) await save('best');
      await save('last');
      yield { kind: 'epoch', epoch: state.epoch, step: state.step, trainLoss, val, best, ms: performance.now() - epochStart };
      epochStart = performance.now();
      if (s.earlyStopping !== undefined && state.stale >= s.earlyStopping) {
        yield await stop('early-stopping', `no better validation Dice for ${state.stale} epochs (best ${state.bestDice.toFixed(4)} at epoch ${state.bestEpoch})`, false);
        return;
      }
    }
    // wasm steps resolve as microtasks: without a turn of the event loop, signal handlers
    // (Ctrl-C) and output flushing would wait for the whole run.
    await new Promise((resolve) => setImmediate(resolve));
    if (ctx.signal.stop) {
      yield await stop('interrupted', `interrupted at step ${state.step}`, true);
      return;
    }
  }
  yield await stop(state.step >= total ? 'done' : 'max-steps', state.step >= total ? `finished ${state.epoch} epochs` : `stopped after --max-steps ${budget}`, state.step % s.stepsPerEpoch !== 0);
}
