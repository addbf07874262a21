import { cpSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildModel, setWeights } from '../../../src/compiler/backends/tfjs/index.js';
import { initialWeights } from '../../../src/compiler/backends/weights.js';
import { compileSpec } from '../../../src/compiler/index.js';
import { CheckpointError } from '../../../src/runtime/checkpoint/index.js';
import { selectEngine, type Engine } from '../../../src/runtime/backend/index.js';
import { readTrainCheckpoint, writeTrainCheckpoint, type TrainState } from '../../../src/runtime/train/state.js';

// A training checkpoint (last/) holds the optimizer's state and the TrainState next to the
// weights; every one of its files is verified on resume, so a damaged one is named instead of
// silently resuming from garbage (issue 11, item 2).

let engine: Engine;
let root: string;
let saved: string;
let moments: Float32Array[];
const state: TrainState = { step: 7, epoch: 1, bestDice: 0.5, bestEpoch: 1, stale: 0 };

beforeAll(async () => {
  engine = await selectEngine('wasm');
  const tf = engine.tf;
  const graph = compileSpec({
    name: 't.yaml',
    body: 'name: t\ninput: {channels: 1}\noutput: {classes: 1}\nnetwork: {depth: 1, filters: [4]}\n',
  }).graph!;
  const model = buildModel(tf, graph);
  setWeights(model, initialWeights(graph, 1), tf);
  const optimizer = tf.train.adam(1e-3);
  const x = tf.randomUniform([1, 16, 16, 1], 0, 1, 'float32', 3);
  optimizer.minimize(
    () => tf.mean(model.apply(x) as import('@tensorflow/tfjs').Tensor) as import('@tensorflow/tfjs').Scalar,
  );
  moments = (await optimizer.getWeights()).map((w) => w.tensor.dataSync() as Float32Array).map((a) => a.slice());
  root = mkdtempSync(join(tmpdir(), 'unetc-state-'));
  saved = join(root, 'last');
  await writeTrainCheckpoint(tf, saved, model, optimizer, { spec: { name: 't', text: 'x' }, graph, seed: 1 }, state);
  model.dispose();
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

function copy(name: string): string {
  const dir = join(root, name);
  cpSync(saved, dir, { recursive: true });
  return dir;
}

function flip64(file: string): void {
  const bytes = readFileSync(file);
  for (let i = 0; i < 64; i++) bytes[16 + i] = bytes[16 + i]! ^ 0x5a;
  writeFileSync(file, bytes);
}

/** Drops the hashes from unetc.json, as a checkpoint from before they were recorded has none. */
function withoutHashes(dir: string): void {
  const file = join(dir, 'unetc.json');
  const m = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  delete m.files;
  writeFileSync(file, JSON.stringify(m));
}

const broken: ReadonlyArray<readonly [string, (dir: string) => void, string, RegExp]> = [
  [
    '64 flipped bytes in optimizer.bin',
    (d) => flip64(join(d, 'optimizer.bin')),
    'optimizer.bin',
    /corrupt: its SHA-256 is/,
  ],
  ['a truncated optimizer.bin', (d) => truncateSync(join(d, 'optimizer.bin'), 40), 'optimizer.bin', /corrupt/],
  [
    'an edited train-state.json',
    (d) => writeFileSync(join(d, 'train-state.json'), JSON.stringify({ ...state, step: 70 })),
    'train-state.json',
    /corrupt/,
  ],
  ['an edited optimizer.json', (d) => writeFileSync(join(d, 'optimizer.json'), '[]'), 'optimizer.json', /corrupt/],
  ['a missing optimizer.bin', (d) => rmSync(join(d, 'optimizer.bin')), 'optimizer.bin', /missing/],
  [
    'a truncated optimizer.bin of a checkpoint without hashes',
    (d) => (withoutHashes(d), truncateSync(join(d, 'optimizer.bin'), 40)),
    'optimizer.bin',
    /40 bytes, but optimizer.json needs \d+ \(truncated/,
  ],
  [
    'an unreadable train-state.json of a checkpoint without hashes',
    (d) => (withoutHashes(d), writeFileSync(join(d, 'train-state.json'), '{"step": ')),
    'train-state.json',
    /cannot read the training state/,
  ],
];

describe('a damaged training checkpoint is named on resume', () => {
  it.each(broken)('%s', async (name, breakIt, file, message) => {
    const dir = copy(name.replace(/\W+/g, '-'));
    breakIt(dir);
    const error = await readTrainCheckpoint(engine.tf, dir).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CheckpointError);
    expect((error as CheckpointError).file).toBe(join(dir, file));
    expect((error as Error).message, (error as Error).message).toMatch(message);
  });

  it('negative control: the intact copy reads back the same state and optimizer moments', async () => {
    const read = await readTrainCheckpoint(engine.tf, copy('control'));
    expect(read.state).toEqual(state);
    expect(read.optimizer!.map((w) => w.tensor.dataSync())).toEqual(moments);
    read.model.dispose();
  });

  it('negative control: without hashes, an intact copy still reads', async () => {
    const dir = copy('no-hashes');
    withoutHashes(dir);
    const read = await readTrainCheckpoint(engine.tf, dir);
    expect(read.state.step).toBe(7);
    read.model.dispose();
  });
});
