import { describe, expect, it } from 'vitest';
import { parseDuration, TimeBudget } from '../../../src/runtime/train/budget.js';
import { learningRate } from '../../../src/runtime/train/schedule.js';

describe('parseDuration', () => {
  it.each([
    ['5m', 300_000],
    ['90s', 90_000],
    ['1h30m', 5_400_000],
    ['2m30s', 150_000],
    ['1.5h', 5_400_000],
    [' 10 m ', 600_000],
    ['45', 45_000],
    [120, 120_000],
    ['0.5s', 500],
  ])('%s -> %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['', 'm', '5', '5x', '30s5m', '5m5m', '0m', '-5m', 'five minutes', '5m junk'].filter((t) => t !== '5'))(
    '%j is not a duration',
    (text) => expect(parseDuration(text)).toBeUndefined(),
  );
  it('rejects zero and negative numbers', () => {
    expect(parseDuration(0)).toBeUndefined();
    expect(parseDuration(-3)).toBeUndefined();
    expect(parseDuration(Number.NaN)).toBeUndefined();
  });
});

/**
 * Runs the loop's arithmetic with made-up durations: `stepMs(i)` for step i, `valMs` per
 * validation. Returns what a run would do: steps, validations, time spent, the learning-rate
 * progress at the last step.
 */
function simulate(
  budgetMs: number,
  stepMs: (i: number) => number,
  valMs: number,
  validationSteps = 1,
  maxSteps = Infinity,
) {
  const b = new TimeBudget({ budgetMs, maxSteps, validationSteps });
  let step = 0;
  let last = 0;
  const validations: number[] = [];
  let lastT = 0;
  while (step < maxSteps && b.fits(step)) {
    lastT = step / b.plannedSteps(step);
    b.spend(stepMs(step), 'step');
    step++;
    if (b.validateAfter(step, last)) {
      b.spend(valMs, 'validation');
      validations.push(step);
      last = step;
    }
  }
  const spent = b.spentMs;
  // The final validation comes after the budget.
  if (last !== step) validations.push(step);
  return { steps: step, spent, validations, lastProgress: lastT, planned: b.plannedSteps(step) };
}

describe('TimeBudget', () => {
  it('stops within one step of the limit', () => {
    for (const [budget, d, v] of [
      [60_000, 700, 2_000],
      [300_000, 700, 6_000],
      [10_000, 333, 100],
      [5_000, 1_200, 50],
    ] as const) {
      const r = simulate(budget, () => d, v);
      expect(r.spent).toBeLessThanOrEqual(budget);
      // Intermediate validations may run at quarters: it still ends within a step.
      expect(r.spent).toBeGreaterThan(budget - d);
    }
  });

  it('a slow first step (warm-up) does not shorten the plan', () => {
    const r = simulate(60_000, (i) => (i === 0 ? 10_000 : 500), 1_000);
    expect(r.spent).toBeLessThanOrEqual(60_000);
    expect(r.spent).toBeGreaterThan(60_000 - 500);
    expect(r.steps).toBeGreaterThan(90);
  });

  it('the schedule spans the run: the last step is near the end of the plan', () => {
    const r = simulate(120_000, (i) => 400 + (i % 7) * 20, 100);
    expect(r.lastProgress).toBeGreaterThan(0.97);
    expect(r.planned).toBe(r.steps);
    // A budget twice as long fits about twice the steps (negative control: the plan follows the budget).
    const r2 = simulate(240_000, (i) => 400 + (i % 7) * 20, 100);
    expect(r2.steps / r.steps).toBeGreaterThan(1.9);
    expect(r2.steps / r.steps).toBeLessThan(2.1);
  });

  it('validates at each quarter when validation is cheap, only at the end when it is not', () => {
    const cheap = simulate(100_000, () => 100, 500);
    expect(cheap.validations).toHaveLength(4);
    const quarters = cheap.validations.map((s) => s / cheap.steps);
    expect(quarters[0]).toBeCloseTo(0.25, 1);
    expect(quarters[3]).toBe(1);
    // Estimated dear before the first one (100 steps' worth), or measured dear after it.
    const dear = simulate(100_000, () => 100, 10_000, 100);
    expect(dear.validations).toEqual([dear.steps]);
    const found = simulate(100_000, () => 100, 10_000, 1);
    expect(found.validations).toHaveLength(2);
  });

  it('a step limit ends the run first when it comes first', () => {
    const r = simulate(100_000, () => 100, 500, 1, 50);
    expect(r.steps).toBe(50);
  });

  it('a resumed run goes on with what is left of the budget', () => {
    const b = new TimeBudget({
      budgetMs: 10_000,
      maxSteps: Infinity,
      validationSteps: 1,
      resume: { spentMs: 9_000, plannedSteps: 100 },
    });
    expect(b.remainingMs).toBe(1_000);
    expect(b.plannedSteps(90)).toBe(100);
    b.spend(100, 'step');
    b.spend(100, 'step');
    // 800 ms left: 8 more steps.
    expect(b.plannedSteps(92)).toBe(100);
  });
});

describe('learningRate warm-up', () => {
  it('rises linearly to the schedule over the warm-up share, then follows it', () => {
    expect(learningRate('constant', 1, 0, 100, 0.1)).toBeCloseTo(0.1);
    expect(learningRate('constant', 1, 4, 100, 0.1)).toBeCloseTo(0.5);
    expect(learningRate('constant', 1, 10, 100, 0.1)).toBe(1);
    expect(learningRate('cosine', 1, 50, 100, 0.1)).toBeCloseTo(0.5);
    expect(learningRate('cosine', 1, 0, 100)).toBe(1);
  });
});
