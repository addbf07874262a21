import type { LayersModel, Optimizer, Tensor } from '@tensorflow/tfjs';

/** A named tensor, as tfjs optimizers' getWeights/setWeights use them. */
export interface NamedTensor {
  name: string;
  tensor: Tensor;
}
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Tf } from '../backend/index.js';
import type { BudgetProgress } from './budget.js';
import { CheckpointError, loadCheckpoint, saveCheckpoint, type CheckpointInfo, type CheckpointManifest } from '../checkpoint/index.js';

/** Where a run is: enough to continue it exactly. */
export interface TrainState {
  /** Steps done. */
  readonly step: number;
  /** Epochs done. */
  readonly epoch: number;
  readonly bestDice: number;
  readonly bestEpoch: number;
  /** Epochs since the best one (early stopping). */
  readonly stale: number;
  /** The current epoch's loss sum and step count so far (a run stopped mid-epoch resumes its mean). */
  readonly epochLoss?: number;
  readonly epochSteps?: number;
  /** The step of the last validation (runs with a time budget validate at planned steps, not epoch ends). */
  readonly lastValidated?: number;
  /** A time-budgeted run: what it has spent and planned. */
  readonly budget?: BudgetProgress;
}

export const STATE_FILE = 'train-state.json';
const OPTIMIZER_SPECS = 'optimizer.json';
const OPTIMIZER_DATA = 'optimizer.bin';

/**
 * Writes a training checkpoint (the tfjs checkpoint, the optimizer's state and the TrainState)
 * as one unit: everything goes to a staging folder, which then replaces `dir` by renames, so a
 * crash at any moment leaves either the old checkpoint or the new one (see readTrainCheckpoint).
 */
export async function writeTrainCheckpoint(tf: Tf, dir: string, model: LayersModel, optimizer: Optimizer | undefined, info: CheckpointInfo, state: TrainState): Promise<void> {
  const staging = `${dir}.staging-${process.pid}`;
  const old = `${dir}.old`;
  rmSync(staging, { recursive: true, force: true });
  try {
    if (optimizer) {
      const weights = await optimizer.getWeights();
      const { data, specs } = await tf.io.encodeWeights(weights);
      // getWeights makes a fresh scalar for the iteration count each call (the moments are the
      // optimizer's own variables): release it, or every checkpoint leaks a tensor.
      for (const w of weights) if (!('trainable' in w.tensor)) w.tensor.dispose();
      await saveCheckpoint(tf, staging, model, info);
      writeFileSync(join(staging, OPTIMIZER_DATA), new Uint8Array(data));
      writeFileSync(join(staging, OPTIMIZER_SPECS), JSON.stringify(specs));
    } else {
      await saveCheckpoint(tf, staging, model, info);
    }
    writeFileSync(join(staging, STATE_FILE), `${JSON.stringify(state, null, 2)}\n`);
    rmSync(old, { recursive: true, force: true });
    if (existsSync(dir)) renameSync(dir, old);
    renameSync(staging, dir);
    rmSync(old, { recursive: true, force: true });
  } catch (e) {
    rmSync(staging, { recursive: true, force: true });
    throw e;
  }
}

export interface TrainCheckpoint {
  readonly model: LayersModel;
  readonly manifest: CheckpointManifest;
  readonly state: TrainState;
  readonly optimizer: NamedTensor[] | undefined;
}

/** Reads what writeTrainCheckpoint wrote (or, after a crash between its renames, the previous one). */
export async function readTrainCheckpoint(tf: Tf, dir: string): Promise<TrainCheckpoint> {
  const where = existsSync(join(dir, STATE_FILE)) ? dir : existsSync(join(`${dir}.old`, STATE_FILE)) ? `${dir}.old` : dir;
  const { model, manifest } = await loadCheckpoint(tf, where);
  const stateFile = join(where, STATE_FILE);
  let state: TrainState;
  try {
    state = JSON.parse(readFileSync(stateFile, 'utf8')) as TrainState;
  } catch (e) {
    model.dispose();
    throw new CheckpointError(stateFile, `cannot read the training state: ${(e as Error).message}`);
  }
  let optimizer: NamedTensor[] | undefined;
  if (existsSync(join(where, OPTIMIZER_SPECS))) {
    const specs = JSON.parse(readFileSync(join(where, OPTIMIZER_SPECS), 'utf8')) as Parameters<Tf['io']['decodeWeights']>[1];
    const data = readFileSync(join(where, OPTIMIZER_DATA));
    const map = tf.io.decodeWeights(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength), specs);
    optimizer = specs.map((s) => ({ name: s.name, tensor: map[s.name]! }));
  }
  return { model, manifest, state, optimizer };
}
