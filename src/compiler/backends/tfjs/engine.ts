import type { LayersModel } from '@tensorflow/tfjs';

/**
 * The tfjs namespace. Every function takes it as a parameter instead of importing an engine,
 * because at run time it may be @tensorflow/tfjs, tfjs-node or tfjs-node-gpu: tensors and layer
 * classes from two different tfjs-core copies cannot be mixed.
 */
export type Tf = typeof import('@tensorflow/tfjs');

// Which namespace built or loaded a model, so setWeights can make tensors without being passed one.
const engines = new WeakMap<LayersModel, Tf>();

/** Records the namespace a model belongs to (buildModel and loadCheckpoint do this). */
export function bindEngine(model: LayersModel, tf: Tf): void {
  engines.set(model, tf);
}

/** The namespace recorded for a model by bindEngine, if any. */
export function engineOf(model: LayersModel): Tf | undefined {
  return engines.get(model);
}
