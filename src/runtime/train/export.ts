/**
 * A finished run's model.onnx: its best checkpoint (else its last) exported and verified against
 * onnxruntime; written only when the two agree.
 */
import type { LayersModel } from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { getWeights } from '../../compiler/backends/tfjs/index.js';
import type { Graph } from '../../compiler/ir/types.js';
import type { Engine } from '../backend/index.js';
import { writeFileAtomic } from '../data/index.js';
import { exportVerifiedOnnx } from '../export/onnx.js';
import type { ParityResult } from '../verify/index.js';
import { inputNormalization } from '../infer/model.js';
import { readTrainCheckpoint, type TrainState } from './state.js';

export interface RunExport {
  /** The checkpoint exported. */
  readonly from: 'best' | 'last';
  readonly state: TrainState;
  readonly parity: readonly ParityResult[];
  /** model.onnx was written (false: it did not match the trained model, and was not). */
  readonly ok: boolean;
  readonly file: string;
}

export async function exportRunModel(
  engine: Engine,
  graph: Graph,
  specText: string,
  runDir: string,
): Promise<RunExport> {
  const from = existsSync(join(runDir, 'best', 'unetc.json')) ? 'best' : 'last';
  const { model, state } = await readTrainCheckpoint(engine.tf, join(runDir, from));
  try {
    const weights = getWeights(model);
    const { exported, parity, ok } = await exportVerifiedOnnx(engine, graph, model as LayersModel, weights, {
      specText,
      inputNormalization: inputNormalization(graph),
      verify: true,
    });
    const file = join(runDir, 'model.onnx');
    if (ok) await writeFileAtomic(file, exported.bytes);
    return { from, state, parity, ok, file };
  } finally {
    model.dispose();
  }
}
