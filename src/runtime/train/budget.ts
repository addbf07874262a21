/**
 * Training to a time budget (`train.time`, `--time 5m`). A learning-rate schedule needs the run's
 * length in steps, but a budget gives it in seconds: the steps that fit are estimated from the
 * steps already timed, and re-estimated after every step, so a schedule that anneals to zero
 * reaches its end when the budget does, on a fast machine and a slow one alike. The budget is
 * the training's: steps, batches, checkpoints and the intermediate validations (at each quarter of
 * the run, planned only when one costs at most a small share of the budget); the final validation
 * and the export come after it, as in any training script that trains for a set time.
 *
 * Pure arithmetic over the durations the loop reports: nothing here reads a clock, so a test
 * drives it with made-up times.
 */

/** Steps timed for the estimate: recent ones only (the first steps of an engine are slow, and machines get busy). */
const WINDOW = 20;
/** Intermediate validations only when one costs at most this share of the budget. */
const VALIDATION_SHARE = 0.03;
/** Intermediate validations per run: at each quarter. */
const QUARTERS = 4;

/** What a resumed run carries over (in the checkpoint's train state). */
export interface BudgetProgress {
  /** Budget spent so far (ms): steps, batches, validations and checkpoints. */
  readonly spentMs: number;
  /** The run's length in steps as last planned. */
  readonly plannedSteps: number;
}

export interface BudgetOptions {
  /** The budget in milliseconds. */
  readonly budgetMs: number;
  /** At most this many steps (an epoch limit as well as a budget); Infinity for none. */
  readonly maxSteps: number;
  /**
   * A validation's cost in training steps, before one is measured (validation pixels over a
   * batch's pixels, times the share of a step that a forward pass takes): decides whether
   * intermediate validations fit.
   */
  readonly validationSteps: number;
  /** Where a resumed run was. */
  readonly resume?: BudgetProgress;
}

/** Plans a time-budgeted run from the durations reported to it. */
export class TimeBudget {
  private readonly recent: number[] = [];
  private validationMs: number | undefined;
  private spent: number;
  private planned: number;

  constructor(private readonly o: BudgetOptions) {
    this.spent = o.resume?.spentMs ?? 0;
    // Before any step is timed, a resumed run's last plan, else a guess of one second a step.
    this.planned = Math.min(o.maxSteps, o.resume?.plannedSteps ?? Math.max(1, Math.round(o.budgetMs / 1000)));
  }

  /** Time passed in the loop (ms); `step` when it was one training step (it then counts for the estimate). */
  spend(ms: number, kind: 'step' | 'validation' | 'other'): void {
    this.spent += ms;
    if (kind === 'step') {
      this.recent.push(ms);
      if (this.recent.length > WINDOW + 1) this.recent.shift();
    }
    if (kind === 'validation') this.validationMs = ms;
  }

  get spentMs(): number {
    return this.spent;
  }

  get remainingMs(): number {
    return Math.max(0, this.o.budgetMs - this.spent);
  }

  /** A step's duration: the median of the recent ones (the very first, a warm-up, only while it is alone). */
  stepMs(): number | undefined {
    const r =
      this.recent.length > 1 && this.recent.length <= WINDOW ? this.recent.slice(1) : this.recent.slice(-WINDOW);
    if (r.length === 0) return undefined;
    const s = [...r].sort((a, b) => a - b);
    const m = s.length >> 1;
    return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
  }

  /** One validation's duration: measured, or estimated from a step's. */
  private validationCost(): number {
    return this.validationMs ?? this.o.validationSteps * (this.stepMs() ?? 0);
  }

  /** Whether intermediate validations are worth their time. */
  private intermediate(): boolean {
    return this.validationCost() <= VALIDATION_SHARE * this.o.budgetMs;
  }

  /**
   * The run's length in steps, as planned after `step` steps: the steps done plus those that fit
   * in what is left once the remaining intermediate validations are reserved. Also what the
   * schedule spans.
   */
  plannedSteps(step: number): number {
    const ms = this.stepMs();
    if (ms === undefined || ms <= 0) return Math.max(step, this.planned);
    const quartersLeft = this.intermediate()
      ? Math.max(0, QUARTERS - 1 - Math.floor((QUARTERS * step) / Math.max(1, this.planned)))
      : 0;
    const reserve = this.validationCost() * quartersLeft;
    const fit = Math.floor((this.o.budgetMs - this.spent - reserve) / ms);
    this.planned = Math.min(this.o.maxSteps, step + Math.max(0, fit));
    return this.planned;
  }

  /** Whether another step fits: the run stops before a step that would end past the budget. */
  fits(step: number): boolean {
    return step < this.plannedSteps(step);
  }

  /** Whether to validate after `step` steps (not the last: the loop always validates at the end): when it crosses a quarter of the plan. */
  validateAfter(step: number, lastValidated: number): boolean {
    if (!this.intermediate()) return false;
    const quarter = (s: number) => Math.floor((QUARTERS * s) / Math.max(1, this.planned));
    return quarter(step) > quarter(lastValidated) && quarter(step) < QUARTERS;
  }

  /** What a checkpoint records, for a resume. */
  progress(): BudgetProgress {
    return { spentMs: this.spent, plannedSteps: this.planned };
  }
}

/**
 * A duration as people write it: `90s`, `5m`, `1.5h`, `1h30m`, `2m30s`, or a number of seconds.
 * Returns milliseconds, or undefined when the text is not one (the caller names the flag or key).
 */
export function parseDuration(text: string | number): number | undefined {
  if (typeof text === 'number') return Number.isFinite(text) && text > 0 ? text * 1000 : undefined;
  const t = text.trim().toLowerCase();
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t) > 0 ? Number(t) * 1000 : undefined;
  const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000 };
  const re = /(\d+(?:\.\d+)?)\s*(h|m|s)/gy;
  let ms = 0;
  let end = 0;
  let seen = '';
  for (let m = re.exec(t); m; m = re.exec(t)) {
    // Units in order, each once: '5m30s', not '30s5m' or '5m5m'.
    if (seen.includes(m[2]!) || (seen !== '' && 'hms'.indexOf(m[2]!) < 'hms'.indexOf(seen[seen.length - 1]!)))
      return undefined;
    seen += m[2]!;
    ms += Number(m[1]) * units[m[2]!]!;
    end = re.lastIndex;
  }
  return end === t.length && end > 0 && ms > 0 ? ms : undefined;
}
