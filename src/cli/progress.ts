import type { TrainEvent } from '../runtime/train/loop.js';
import type { CliIO } from './io.js';

/** "1m05s", "42s", "1h02m" */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

type StepEvent = Extract<TrainEvent, { kind: 'step' }>;
type EpochEvent = Extract<TrainEvent, { kind: 'epoch' }>;

/**
 * Training progress: on a terminal one line rewritten in place; elsewhere (logs, CI) a line
 * every ~5% of the run, flushed as it goes, so a run never looks frozen.
 */
export class Progress {
  private readonly started = performance.now();
  private firstStep: number | undefined;
  private lastLine = 0;
  private live = false;

  constructor(
    private readonly io: CliIO,
    private readonly tty: boolean,
  ) {}

  step(e: StepEvent): void {
    this.firstStep ??= e.step - 1;
    const done = e.step - this.firstStep;
    const elapsed = performance.now() - this.started;
    const eta = (elapsed / done) * (e.totalSteps - e.step);
    // A time budget's step count is an estimate (~), and what is left of the budget is the ETA.
    const budgeted = e.remainingMs !== undefined;
    const where = budgeted ? `step ${e.step}/~${e.totalSteps}` : `epoch ${e.epoch} step ${e.step}/${e.totalSteps}`;
    const left = budgeted ? `${formatDuration(e.remainingMs!)} left` : `ETA ${formatDuration(eta)}`;
    const line = `${where}  loss ${e.loss.toFixed(4)}  lr ${e.lr.toExponential(1)}  ${(elapsed / done / 1000).toFixed(2)} s/step  ${left}`;
    if (this.tty) {
      this.io.stdout(`\r${line}\x1b[K`);
      this.live = true;
    } else if (
      e.step === e.totalSteps ||
      performance.now() - this.lastLine > 10_000 ||
      done % Math.max(1, Math.round(e.totalSteps / 20)) === 0
    ) {
      this.io.stdout(`${line}\n`);
      this.lastLine = performance.now();
    }
  }

  epoch(e: EpochEvent): void {
    this.done();
    const where =
      e.remainingMs !== undefined ? `step ${e.step} (${formatDuration(e.remainingMs)} left)` : `epoch ${e.epoch}`;
    const loss = Number.isFinite(e.trainLoss) ? `loss ${e.trainLoss.toFixed(4)}` : 'loss -';
    const val = e.val
      ? `validation Dice ${e.val.dice.toFixed(4)}, IoU ${e.val.iou.toFixed(4)}, pixel accuracy ${e.val.pixelAccuracy.toFixed(4)}${e.best ? ' (best)' : ''}`
      : 'no validation data';
    this.io.stdout(`${where}: ${loss}, ${val}  [${formatDuration(e.ms)}]\n`);
  }

  /** Ends the live line, if any. */
  done(): void {
    if (this.live) this.io.stdout('\n');
    this.live = false;
  }
}
