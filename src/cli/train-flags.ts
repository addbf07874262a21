/**
 * `unetc train`'s flags as Commander gives them, and their checks: the overrides of the spec's
 * training settings (numbers and durations) and the torch engine's launch flags. Every flag is
 * checked before anything loads, so a typo costs no engine start-up; a malformed one is a
 * UsageError (exit 2).
 */
import type { TorchLaunch } from '../runtime/train/torch.js';
import { parseDuration } from '../runtime/train/budget.js';
import type { TrainOverrides } from '../runtime/train/settings.js';
import { defined } from '../util/object.js';
import { UsageError } from './io.js';

export interface TrainOptions {
  readonly data?: string;
  readonly val?: string;
  readonly out?: string;
  readonly resume?: string;
  readonly init?: string;
  readonly epochs?: string;
  readonly stepsPerEpoch?: string;
  readonly batch?: string;
  readonly lr?: string;
  readonly maxSteps?: string;
  readonly time?: string;
  readonly valSplit?: string;
  readonly seed?: string;
  readonly sliceAxis?: string;
  readonly backend?: string;
  /** 'tfjs' (default) or 'torch'. */
  readonly engine?: string;
  readonly devices?: string;
  readonly nproc?: string;
  readonly amp?: string;
  readonly channelsLast?: boolean;
  /** Write RUN/torch and say how to launch it, without training. */
  readonly prepareOnly?: boolean;
  /** Tests: each torch rank logs a hash of its weights after every step. */
  readonly syncLog?: boolean;
  readonly dryRun: boolean;
  /** false: skip the estimate of a step's memory against the engine's and the machine's (--no-memory-check). */
  readonly memoryCheck?: boolean;
  /** Let --out hold files of a run's names that unetc did not write, and replace them. */
  readonly overwrite?: boolean;
  readonly export: boolean;
  readonly tty: boolean;
}

function int(name: string, text: string | undefined, min = 1): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text.trim()) || Number(text) < min)
    throw new UsageError(`--${name} takes a whole number of at least ${min}, found '${text}'`);
  return Number(text);
}

function fraction(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const v = Number(text);
  if (text.trim() === '' || !(v >= 0 && v < 1))
    throw new UsageError(`--${name} takes a number from 0 to below 1, found '${text}'`);
  return v;
}

/** The command line's overrides of the spec's training settings, checked as numbers. */
export function overridesOf(o: TrainOptions): TrainOverrides {
  let timeMs: number | undefined;
  if (o.time !== undefined) {
    timeMs = parseDuration(o.time);
    if (timeMs === undefined)
      throw new UsageError(`--time takes a duration such as 5m, 90s or 1h30m, found '${o.time}'`);
  }
  const learningRate = o.lr === undefined ? undefined : Number(o.lr);
  if (learningRate !== undefined && !(learningRate > 0 && learningRate < 10))
    throw new UsageError(`--lr takes a positive number below 10, found '${o.lr}'`);
  const all: TrainOverrides = {
    epochs: int('epochs', o.epochs),
    timeMs,
    stepsPerEpoch: int('steps-per-epoch', o.stepsPerEpoch),
    batch: int('batch', o.batch),
    learningRate,
    maxSteps: int('max-steps', o.maxSteps),
    seed: int('seed', o.seed, 0),
    valSplit: fraction('val-split', o.valSplit),
  };
  return defined(all);
}

/** The torch engine's launch flags, checked; undefined for the tfjs engine. */
export function torchFlags(o: TrainOptions): Omit<TorchLaunch, 'python'> | undefined {
  const engine = o.engine ?? 'tfjs';
  if (engine !== 'tfjs' && engine !== 'torch') throw new UsageError(`--engine takes tfjs or torch, found '${engine}'`);
  if (engine === 'tfjs') {
    const given = (['devices', 'nproc', 'amp', 'channelsLast', 'prepareOnly'] as const).filter(
      (k) => o[k] !== undefined,
    );
    if (given.length > 0)
      throw new UsageError(`--${given[0]!.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} is for --engine torch`);
    return undefined;
  }
  if (o.prepareOnly && o.dryRun) throw new UsageError('--prepare-only and --dry-run: give one of them');
  const devices = o.devices ?? 'cpu';
  if (devices !== 'cpu' && devices !== 'cuda') throw new UsageError(`--devices takes cpu or cuda, found '${devices}'`);
  if (o.amp !== undefined && o.amp !== 'bf16' && o.amp !== 'fp16')
    throw new UsageError(`--amp takes bf16 or fp16, found '${o.amp}'`);
  return {
    nproc: int('nproc', o.nproc) ?? 1,
    devices,
    ...(o.amp ? { amp: o.amp as 'bf16' | 'fp16' } : {}),
    ...(o.channelsLast ? { channelsLast: true } : {}),
    ...(o.syncLog ? { syncLog: true } : {}),
  };
}

/** The flag that sets an override, to name it. */
export const FLAGS: Record<keyof TrainOverrides, string> = {
  epochs: '--epochs',
  timeMs: '--time',
  stepsPerEpoch: '--steps-per-epoch',
  batch: '--batch',
  learningRate: '--lr',
  maxSteps: '--max-steps',
  seed: '--seed',
  valSplit: '--val-split',
};
