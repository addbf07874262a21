import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildModel, getWeights, setWeights } from '../../../src/compiler/backends/tfjs/index.js';
import { initialWeights } from '../../../src/compiler/backends/weights.js';
import { compileSpec, type Graph } from '../../../src/compiler/index.js';
import { selectEngine, type Engine } from '../../../src/runtime/backend/index.js';
import { syntheticData } from '../../../src/runtime/train/data.js';
import { trainLoop, type TrainEvent, type TrainSettings } from '../../../src/runtime/train/loop.js';
import { readTrainCheckpoint } from '../../../src/runtime/train/state.js';
import { scratchDir } from '../../helpers.js';

let engine: Engine;
let graph: Graph;
beforeAll(async () => {
  engine = await selectEngine('wasm');
  const body = 'name: t\ninput: {channels: 1}\noutput: {classes: 1}\nnetwork: {depth: 2, filters: [4, 8]}\n';
  graph = compileSpec({ name: 't.yaml', body }).graph!;
});

const base: TrainSettings = {
  epochs: 4,
  stepsPerEpoch: 3,
  batch: 2,
  patch: [32, 32],
  loss: 'bce-dice',
  optimizer: { name: 'adam', learningRate: 1e-3 },
  schedule: 'constant',
  earlyStopping: undefined,
  seed: 1,
  augmentation: { flip: true },
  maxSteps: undefined,
};

async function collect(
  settings: TrainSettings,
  onEpoch?: () => void,
  poison = false,
  clock?: () => number,
  runDir = scratchDir('unetc-loop-'),
): Promise<TrainEvent[]> {
  const model = buildModel(engine.tf, graph);
  setWeights(model, initialWeights(graph, 1), engine.tf);
  const data = syntheticData(3, 1, { train: 4, val: 2 }, 64);
  if (poison) for (const e of data.train) e.image.data.fill(NaN);
  const events: TrainEvent[] = [];
  for await (const e of trainLoop({
    engine,
    graph,
    model,
    data,
    settings,
    runDir,
    signal: { stop: false },
    checkpointInfo: { spec: { name: 't', text: '' }, graph, seed: 1 },
    clock,
  })) {
    events.push(e);
    if (e.kind === 'epoch') onEpoch?.();
  }
  model.dispose();
  return events;
}

describe('training loop', () => {
  it('no tensor leaks: the live tensor count is the same after every epoch', async () => {
    const counts: number[] = [];
    await collect(base, () => counts.push(engine.tf.memory().numTensors));
    expect(counts).toHaveLength(4);
    expect(new Set(counts).size).toBe(1);
  });

  it('a non-finite loss stops the run, keeping the last good checkpoint', async () => {
    const events = await collect(base, undefined, true);
    const last = events[events.length - 1]!;
    expect(last.kind).toBe('stopped');
    expect(last.kind === 'stopped' && last.reason).toBe('not-finite');
    expect(last.kind === 'stopped' && last.message).toMatch(
      /the loss became (NaN|-?Infinity) at step \d+; the last checkpoint \(step \d+\) is kept/,
    );
  });

  it('early stopping after N epochs without a better validation Dice', async () => {
    // A learning rate of ~0 never improves after the first epoch.
    const events = await collect({
      ...base,
      epochs: 10,
      optimizer: { name: 'sgd', learningRate: 1e-12 },
      earlyStopping: 2,
    });
    const last = events[events.length - 1]!;
    expect(last.kind === 'stopped' && last.reason).toBe('early-stopping');
    expect(events.filter((e) => e.kind === 'epoch')).toHaveLength(3);
  });

  it('--max-steps stops early and the metrics file holds only finished epochs', async () => {
    const events = await collect({ ...base, maxSteps: 4 });
    expect(events.filter((e) => e.kind === 'step')).toHaveLength(4);
    const last = events[events.length - 1]!;
    expect(last.kind === 'stopped' && last.reason).toBe('max-steps');
  });

  /** A clock that moves only when read: every read is `tick` ms later (a step reads it a fixed number of times). */
  const fakeClock = (tick: number) => {
    let t = 0;
    return () => (t += tick);
  };

  it('a time budget stops within one step of the limit (fake clock), validating at the end', async () => {
    const runDir = scratchDir('unetc-loop-');
    const budgetMs = 10_000;
    const tick = 125;
    const events = await collect(
      { ...base, epochs: 1, timeBudgetMs: budgetMs },
      undefined,
      false,
      fakeClock(tick),
      runDir,
    );
    const steps = events.filter((e) => e.kind === 'step');
    const last = events[events.length - 1]!;
    expect(last.kind === 'stopped' && last.reason).toBe('done');
    expect(last.kind === 'stopped' && last.message).toMatch(/^time budget spent: \d+ steps in \d+\.\d s$/);
    // Every step reads the clock twice (2 ticks); validations and checkpoints read it too.
    const state = JSON.parse(readFileSync(join(runDir, 'last', 'train-state.json'), 'utf8')) as {
      step: number;
      budget: { spentMs: number; plannedSteps: number };
    };
    expect(state.step).toBe(steps.length);
    // The final validation runs after the budget and is not counted in it.
    const spentBeforeFinal = state.budget.spentMs - tick;
    expect(spentBeforeFinal).toBeLessThanOrEqual(budgetMs);
    expect(spentBeforeFinal).toBeGreaterThan(budgetMs - 2 * tick);
    // The schedule spanned the steps that fit: the plan at the end is the steps taken.
    expect(state.budget.plannedSteps).toBe(steps.length);
    expect(events.filter((e) => e.kind === 'epoch').length).toBeGreaterThanOrEqual(1);
    expect(steps.every((e) => e.kind === 'step' && e.remainingMs !== undefined)).toBe(true);
    // Negative control: a budget twice as long takes about twice the steps.
    const longer = await collect({ ...base, epochs: 1, timeBudgetMs: 2 * budgetMs }, undefined, false, fakeClock(tick));
    expect(longer.filter((e) => e.kind === 'step').length).toBeGreaterThan(1.8 * steps.length);
  });

  it('a time budget with an epoch limit stops at whichever comes first', async () => {
    const events = await collect(
      { ...base, epochs: 2, epochsCap: true, timeBudgetMs: 60_000 },
      undefined,
      false,
      fakeClock(50),
    );
    expect(events.filter((e) => e.kind === 'step')).toHaveLength(6);
    const last = events[events.length - 1]!;
    expect(last.kind === 'stopped' && last.message).toMatch(/^finished 2 epochs within the time budget/);
  });

  it('a time-budgeted run interrupted and resumed spends the rest of its budget, not a new one', async () => {
    const runDir = scratchDir('unetc-loop-');
    const tick = 125;
    const settings: TrainSettings = { ...base, epochs: 1, timeBudgetMs: 10_000 };
    const data = syntheticData(3, 1, { train: 4, val: 2 }, 64);
    const info = { spec: { name: 't', text: '' }, graph, seed: 1 };
    const first = buildModel(engine.tf, graph);
    setWeights(first, initialWeights(graph, 1), engine.tf);
    const signal = { stop: false };
    for await (const e of trainLoop({
      engine,
      graph,
      model: first,
      data,
      settings,
      runDir,
      signal,
      checkpointInfo: info,
      clock: fakeClock(tick),
    })) {
      if (e.kind === 'step' && e.step === 10) signal.stop = true;
    }
    first.dispose();
    const saved = await readTrainCheckpoint(engine.tf, join(runDir, 'last'));
    expect(saved.state.step).toBe(10);
    const spentBefore = saved.state.budget!.spentMs;
    expect(spentBefore).toBeGreaterThan(10 * 2 * tick - 1);
    expect(spentBefore).toBeLessThan(5_000);
    const second = buildModel(engine.tf, graph);
    setWeights(second, getWeights(saved.model), engine.tf);
    saved.model.dispose();
    const events: TrainEvent[] = [];
    for await (const e of trainLoop({
      engine,
      graph,
      model: second,
      data,
      settings,
      runDir,
      signal: { stop: false },
      checkpointInfo: info,
      clock: fakeClock(tick),
      resume: { state: saved.state, optimizer: saved.optimizer },
    }))
      events.push(e);
    second.dispose();
    const last = events[events.length - 1]!;
    expect(last.kind === 'stopped' && last.reason).toBe('done');
    const end = JSON.parse(readFileSync(join(runDir, 'last', 'train-state.json'), 'utf8')) as {
      step: number;
      budget: { spentMs: number };
    };
    // Both parts together spent the one budget (the final validation, one tick, comes after it).
    expect(end.budget.spentMs - tick).toBeLessThanOrEqual(10_000);
    expect(end.budget.spentMs - tick).toBeGreaterThan(10_000 - 2 * tick);
    // Negative control: the resumed part alone did not get a whole new budget.
    expect(end.step - 10).toBeLessThan(40);
  });
});
