import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildModel, setWeights } from '../../../src/compiler/backends/tfjs/index.js';
import { initialWeights } from '../../../src/compiler/backends/weights.js';
import { compileSpec, type Graph } from '../../../src/compiler/index.js';
import { selectEngine, type Engine } from '../../../src/runtime/backend/index.js';
import { syntheticData } from '../../../src/runtime/train/data.js';
import { trainLoop, type TrainEvent, type TrainSettings } from '../../../src/runtime/train/loop.js';

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

async function collect(settings: TrainSettings, onEpoch?: () => void, poison = false): Promise<TrainEvent[]> {
  const model = buildModel(engine.tf, graph);
  setWeights(model, initialWeights(graph, 1), engine.tf);
  const data = syntheticData(3, 1, { train: 4, val: 2 }, 64);
  if (poison) for (const e of data.train) e.image.data.fill(NaN);
  const events: TrainEvent[] = [];
  const runDir = mkdtempSync(join(tmpdir(), 'unetc-loop-'));
  for await (const e of trainLoop({ engine, graph, model, data, settings, runDir, signal: { stop: false }, checkpointInfo: { spec: { name: 't', text: '' }, seed: 1 } })) {
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
    expect(last.kind === 'stopped' && last.message).toMatch(/the loss became (NaN|-?Infinity) at step \d+; the last checkpoint \(step \d+\) is kept/);
  });

  it('early stopping after N epochs without a better validation Dice', async () => {
    // A learning rate of ~0 never improves after the first epoch.
    const events = await collect({ ...base, epochs: 10, optimizer: { name: 'sgd', learningRate: 1e-12 }, earlyStopping: 2 });
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
});

