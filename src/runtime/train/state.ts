import type { LayersModel, Optimizer, Tensor } from '@tensorflow/tfjs';
import { existsSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Tf } from '../backend/index.js';
import type { BudgetProgress } from './budget.js';
import {
  CheckpointError,
  loadCheckpoint,
  readVerified,
  saveCheckpoint,
  type CheckpointInfo,
  type CheckpointManifest,
} from '../checkpoint/index.js';

/** A named tensor, as tfjs optimizers' getWeights/setWeights use them. */
export interface NamedTensor {
  name: string;
  tensor: Tensor;
}

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
export async function writeTrainCheckpoint(
  tf: Tf,
  dir: string,
  model: LayersModel,
  optimizer: Optimizer | undefined,
  info: CheckpointInfo,
  state: TrainState,
): Promise<void> {
  const staging = `${dir}.staging-${process.pid}`;
  const old = `${dir}.old`;
  rmSync(staging, { recursive: true, force: true });
  try {
    // The optimizer's state and the TrainState are files of the checkpoint: unetc.json records their
    // SHA-256 with the rest, so a damaged one is named on resume instead of training from garbage.
    const extra: Array<[string, string | Uint8Array]> = [];
    if (optimizer) {
      const weights = await optimizer.getWeights();
      const { data, specs } = await tf.io.encodeWeights(weights);
      // getWeights makes a fresh scalar for the iteration count each call (the moments are the
      // optimizer's own variables): release it, or every checkpoint leaks a tensor.
      for (const w of weights) if (!('trainable' in w.tensor)) w.tensor.dispose();
      extra.push([OPTIMIZER_DATA, new Uint8Array(data)], [OPTIMIZER_SPECS, JSON.stringify(specs)]);
    }
    extra.push([STATE_FILE, `${JSON.stringify(state, null, 2)}\n`]);
    await saveCheckpoint(tf, staging, model, info, { extra });
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

/**
 * Reads what writeTrainCheckpoint wrote (or, after a crash between its renames, the previous one).
 * Every file is checked against the SHA-256 in unetc.json; a damaged, truncated or missing one is a
 * CheckpointError naming it.
 */
export async function readTrainCheckpoint(tf: Tf, dir: string): Promise<TrainCheckpoint> {
  const where = existsSync(join(dir, STATE_FILE))
    ? dir
    : existsSync(join(`${dir}.old`, STATE_FILE))
      ? `${dir}.old`
      : dir;
  const { model, manifest } = await loadCheckpoint(tf, where);
  try {
    const state = parseJson(where, STATE_FILE, manifest, 'the training state') as TrainState;
    let optimizer: NamedTensor[] | undefined;
    if (existsSync(join(where, OPTIMIZER_SPECS)) || manifest.files?.[OPTIMIZER_SPECS] !== undefined) {
      const specs = parseJson(where, OPTIMIZER_SPECS, manifest, "the optimizer's weight list") as Parameters<
        Tf['io']['decodeWeights']
      >[1];
      const data = readVerified(where, OPTIMIZER_DATA, manifest);
      const file = join(where, OPTIMIZER_DATA);
      const needed = Array.isArray(specs)
        ? specs.reduce((n, s) => n + 4 * (s.shape ?? []).reduce((a, b) => a * b, 1), 0)
        : -1;
      if (needed !== data.byteLength)
        throw new CheckpointError(
          file,
          `${data.byteLength} bytes, but ${OPTIMIZER_SPECS} needs ${needed < 0 ? 'a list of weights' : needed} (truncated, or from another run)`,
        );
      const map = tf.io.decodeWeights(
        data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer,
        specs,
      );
      optimizer = specs.map((s) => ({ name: s.name, tensor: map[s.name]! }));
    }
    return { model, manifest, state, optimizer };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

function parseJson(dir: string, name: string, manifest: CheckpointManifest, what: string): unknown {
  const bytes = readVerified(dir, name, manifest);
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch (e) {
    throw new CheckpointError(join(dir, name), `cannot read ${what}: ${(e as Error).message}`, { cause: e });
  }
}
