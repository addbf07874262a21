import type { LayersModel } from '@tensorflow/tfjs';
import type { WeightMap, WeightTensor } from '../weights.js';
import { engineOf, type Tf } from './engine.js';

const fmt = (shape: readonly number[]) => `[${shape.join(', ')}]`;
const count = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * A model's weights by name. Names are the variables' `originalName`: tfjs appends `_1`, `_2`
 * to `name` when a model with the same layer names was built before in the process, but saves
 * and loads by originalName, which is always `${layer}/${weight}`.
 */
export function getWeights(model: LayersModel): Map<string, WeightTensor> {
  const out = new Map<string, WeightTensor>();
  for (const v of model.weights) {
    // Copy: the cpu backend's dataSync returns the tensor's own backing array.
    out.set(v.originalName, { shape: [...v.shape] as number[], data: new Float32Array(v.read().dataSync()) });
  }
  return out;
}

/**
 * Sets every weight of a model by name. Checks first, so nothing is written unless all match:
 * throws one Error listing every missing, extra and mis-shaped weight. `tf` defaults to the
 * namespace that built (buildModel) or loaded (loadCheckpoint) the model.
 */
export function setWeights(model: LayersModel, weights: WeightMap, tf: Tf | undefined = engineOf(model)): void {
  if (!tf)
    throw new Error(
      `setWeights: model '${model.name}' was not built by buildModel or loaded by loadCheckpoint: pass the tfjs namespace`,
    );
  const vars = model.weights;
  const names = new Set(vars.map((v) => v.originalName));
  const missing = vars.filter((v) => !weights.has(v.originalName)).map((v) => v.originalName);
  const extra = [...weights.keys()].filter((n) => !names.has(n));
  const wrong: string[] = [];
  for (const v of vars) {
    const given = weights.get(v.originalName);
    if (!given) continue;
    const shape = v.shape as number[];
    if (fmt(given.shape) !== fmt(shape))
      wrong.push(`${v.originalName}: the model has ${fmt(shape)}, given ${fmt(given.shape)}`);
    else if (given.data.length !== count(shape))
      wrong.push(`${v.originalName}: shape ${fmt(shape)} needs ${count(shape)} values, given ${given.data.length}`);
  }
  const problems = [
    missing.length > 0 ? `missing (${missing.length}): ${missing.join(', ')}` : '',
    extra.length > 0 ? `not in the model (${extra.length}): ${extra.join(', ')}` : '',
    wrong.length > 0 ? `wrong shape (${wrong.length}): ${wrong.join('; ')}` : '',
  ].filter((p) => p !== '');
  if (problems.length > 0)
    throw new Error(`setWeights: the weights do not match model '${model.name}':\n  ${problems.join('\n  ')}`);
  const tensors = vars.map((v) => {
    const w = weights.get(v.originalName)!;
    return tf.tensor(w.data, [...w.shape], 'float32');
  });
  model.setWeights(tensors);
  // Variables now share the data (assign keeps a reference count), so ours can go.
  for (const t of tensors) t.dispose();
}
