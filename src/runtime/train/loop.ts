import type { LayersModel, Optimizer } from '@tensorflow/tfjs';
import { appendFileSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Graph } from '../../compiler/ir/index.js';
import type { Engine } from '../backend/index.js';
import type { CheckpointInfo } from '../checkpoint/index.js';
import { seedFor } from '../../util/random.js';
import { makeBatch } from './batch.js';
import type { TrainingData } from './data.js';
import { validate } from './validate.js';
import type { Scores } from '../eval/metrics.js';
import { learningRate } from './schedule.js';
import { TimeBudget } from './budget.js';
import { writeTrainCheckpoint, type NamedTensor, type TrainState } from './state.js';
import { makeOptimizer, makeTrainStep } from './step.js';

import type { TrainSettings } from './settings.js';

export type { TrainSettings };

export type StopReason = 'done' | 'early-stopping' | 'max-steps' | 'interrupted' | 'not-finite';

export type TrainEvent =
  | {
      readonly kind: 'step';
      readonly step: number;
      /** The run's length in steps (with a time budget: as planned now). */
      readonly totalSteps: number;
      readonly epoch: number;
      readonly loss: number;
      readonly lr: number;
      readonly ms: number;
      /** With a time budget: what is left of it (ms). */
      readonly remainingMs?: number;
    }
  | {
      readonly kind: 'epoch';
      readonly epoch: number;
      readonly step: number;
      readonly trainLoss: number;
      readonly val: Scores | undefined;
      readonly best: boolean;
      readonly ms: number;
      readonly remainingMs?: number;
    }
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
  /** Milliseconds from some fixed point (default performance.now): tests of the time budget pass a fake one. */
  readonly clock?: () => number;
}

export const METRICS_FILE = 'metrics.jsonl';

/** Metrics lines after `step` belong to steps a resumed run does again: drop them. */
export function truncateMetrics(file: string, step: number): void {
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

/** When a run ends and validates: after fixed epochs, or as a time budget plans it. */
interface RunPlan {
  /** The steps the schedule spans, as planned after `step` steps. */
  total(step: number): number;
  /** Whether to take another step after `step`. */
  another(step: number): boolean;
  /** Whether to validate after `step` (besides the end of a budgeted run). */
  validateAfter(step: number, lastValidated: number): boolean;
}

/** A validation's cost in training steps, before one is timed: its pixels over a batch's, a forward pass taken as half a step. */
function validationSteps(data: TrainingData, s: TrainSettings): number {
  const voxels = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);
  const val = data.volumes
    ? data.volumes.val.reduce((n, v) => n + voxels(v.dims), 0)
    : data.val.reduce((n, e) => n + e.image.height * e.image.width, 0);
  return (0.5 * val) / (s.batch * voxels(s.patch));
}

function planOf(s: TrainSettings, budget: TimeBudget | undefined): RunPlan {
  const epochSteps = s.epochs * s.stepsPerEpoch;
  const cap = s.maxSteps ?? Infinity;
  if (!budget) {
    return {
      total: () => epochSteps,
      another: (step) => step < Math.min(epochSteps, cap),
      validateAfter: (step) => step % s.stepsPerEpoch === 0,
    };
  }
  return {
    total: (step) => budget.plannedSteps(step),
    another: (step) => step < cap && budget.fits(step),
    validateAfter: (step, last) => budget.validateAfter(step, last),
  };
}

/**
 * The training loop: yields an event per step and per validation; writes `last/` at every
 * validation, `best/` on a better validation Dice, metrics.jsonl; stops on the epoch budget or
 * the time budget (validating at the end), early stopping, `maxSteps`, a non-finite loss (no
 * checkpoint of it) or `signal.stop` (with a checkpoint).
 */
export async function* trainLoop(ctx: TrainContext): AsyncGenerator<TrainEvent> {
  const { engine, model, settings: s } = ctx;
  const { tf } = engine;
  const clock = ctx.clock ?? (() => performance.now());
  const optimizer = makeOptimizer(tf, s.optimizer);
  const step = makeTrainStep(
    tf,
    model,
    s.loss,
    optimizer,
    ctx.graph.deepSupervision,
    ctx.graph.instances,
    s.contactWeight,
  );
  let state: TrainState = ctx.resume?.state ?? { step: 0, epoch: 0, bestDice: -1, bestEpoch: 0, stale: 0 };
  const budget =
    s.timeBudgetMs === undefined
      ? undefined
      : new TimeBudget({
          budgetMs: s.timeBudgetMs,
          maxSteps: s.epochsCap ? s.epochs * s.stepsPerEpoch : Infinity,
          validationSteps: validationSteps(ctx.data, s),
          resume: state.budget,
        });
  const plan = planOf(s, budget);
  // Without validation data (val_split 0), "validating" records the loss and checkpoints; the last weights are the model.
  const hasValidation = ctx.data.volumes ? ctx.data.volumes.val.length > 0 : ctx.data.val.length > 0;
  // Async in tfjs (it reads the iteration count back): the first step must see the restored moments.
  if (ctx.resume?.optimizer) await optimizer.setWeights(ctx.resume.optimizer);
  const metricsFile = join(ctx.runDir, METRICS_FILE);
  truncateMetrics(metricsFile, state.step);
  let epochLoss = ctx.resume?.state.epochLoss ?? 0;
  let epochSteps = ctx.resume?.state.epochSteps ?? 0;
  // Checkpoints from before time budgets validated at every epoch's end.
  let lastValidated = state.lastValidated ?? state.step - (state.step % s.stepsPerEpoch);
  let lr = learningRate(s.schedule, s.optimizer.learningRate, state.step, plan.total(state.step), s.warmup);
  const save = (which: 'last' | 'best') =>
    writeTrainCheckpoint(
      tf,
      join(ctx.runDir, which),
      model,
      which === 'last' ? optimizer : undefined,
      { ...ctx.checkpointInfo, step: state.step, epoch: state.epoch },
      { ...state, epochLoss, epochSteps, lastValidated, ...(budget ? { budget: budget.progress() } : {}) },
    );
  const stop = async (reason: StopReason, message: string, checkpoint: boolean): Promise<TrainEvent> => {
    if (checkpoint) await save('last');
    step.dispose();
    return { kind: 'stopped', reason, state, message };
  };
  /** Validates, records and checkpoints; the event, and whether early stopping ends the run. */
  const validateNow = async (since: number): Promise<{ event: TrainEvent; early: boolean }> => {
    const v0 = clock();
    const val = hasValidation ? await validate(ctx) : undefined;
    budget?.spend(clock() - v0, 'validation');
    const best = val !== undefined && val.dice > state.bestDice;
    state = {
      ...state,
      epoch: state.epoch + 1,
      bestDice: best ? val.dice : state.bestDice,
      bestEpoch: best ? state.epoch + 1 : state.bestEpoch,
      stale: best ? 0 : state.stale + 1,
    };
    const trainLoss = epochSteps > 0 ? epochLoss / epochSteps : NaN;
    const scores = val ? { val_dice: val.dice, val_iou: val.iou, val_pixel_accuracy: val.pixelAccuracy } : {};
    appendFileSync(
      metricsFile,
      `${JSON.stringify({ epoch: state.epoch, step: state.step, loss: trainLoss, lr, ...scores, best })}\n`,
    );
    // The next epoch starts empty, in the checkpoints written now too.
    epochLoss = 0;
    epochSteps = 0;
    lastValidated = state.step;
    const c0 = clock();
    if (best) await save('best');
    await save('last');
    budget?.spend(clock() - c0, 'other');
    const event: TrainEvent = {
      kind: 'epoch',
      epoch: state.epoch,
      step: state.step,
      trainLoss,
      val,
      best,
      ms: clock() - since,
      ...(budget ? { remainingMs: budget.remainingMs } : {}),
    };
    return { event, early: hasValidation && s.earlyStopping !== undefined && state.stale >= s.earlyStopping };
  };
  const earlyMessage = () =>
    `no better validation Dice for ${state.stale} epochs (best ${state.bestDice.toFixed(4)} at epoch ${state.bestEpoch})`;

  let epochStart = clock();
  let last = clock();
  while (plan.another(state.step)) {
    const total = plan.total(state.step);
    lr = learningRate(s.schedule, s.optimizer.learningRate, state.step, total, s.warmup);
    setLearningRate(optimizer, lr);
    const b = makeBatch(ctx.data, state.step, s, ctx.graph);
    const t0 = clock();
    const images = tf.tensor(b.images, [s.batch, ...b.shape]);
    const targets = tf.tensor(b.targets, [
      s.batch,
      ...b.shape.slice(0, -1),
      ctx.graph.classes === 1 ? 1 : ctx.graph.classes,
    ]);
    let loss: number;
    try {
      loss = await step.run(images, targets, seedFor(s.seed, `dropout:${state.step}`));
    } finally {
      images.dispose();
      targets.dispose();
    }
    if (!Number.isFinite(loss)) {
      yield await stop(
        'not-finite',
        `the loss became ${loss} at step ${state.step + 1}; the last checkpoint (step ${state.step}) is kept. Lower the learning rate or check the data.`,
        false,
      );
      return;
    }
    const now = clock();
    // The whole iteration (batch making included) is what a step costs the budget.
    budget?.spend(now - last, 'step');
    last = now;
    state = { ...state, step: state.step + 1 };
    epochLoss += loss;
    epochSteps++;
    yield {
      kind: 'step',
      step: state.step,
      totalSteps: Math.min(plan.total(state.step), s.maxSteps ?? Infinity),
      epoch: state.epoch + 1,
      loss,
      lr,
      ms: now - t0,
      ...(budget ? { remainingMs: budget.remainingMs } : {}),
    };

    if (plan.validateAfter(state.step, lastValidated)) {
      const { event, early } = await validateNow(epochStart);
      yield event;
      epochStart = last = clock();
      if (early) {
        yield await stop('early-stopping', earlyMessage(), false);
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
  const capped = s.maxSteps !== undefined && state.step >= s.maxSteps;
  if (budget && !capped) {
    const spent = budget.spentMs;
    // A budgeted run ends with a validation of its last weights (usually the best: the schedule
    // has annealed), after the budget, like the export.
    if (lastValidated !== state.step) {
      const { event } = await validateNow(epochStart);
      yield event;
    }
    const epochsDone = s.epochsCap && state.step >= s.epochs * s.stepsPerEpoch;
    yield await stop(
      'done',
      `${epochsDone ? `finished ${s.epochs} epochs within the time budget` : 'time budget spent'}: ${state.step} steps in ${formatSeconds(spent)}`,
      false,
    );
    return;
  }
  const done = !capped;
  yield await stop(
    done ? 'done' : 'max-steps',
    done ? `finished ${state.epoch} epochs` : `stopped after --max-steps ${s.maxSteps}`,
    lastValidated !== state.step,
  );
}

const formatSeconds = (ms: number) =>
  ms < 120_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
