/**
 * Validation during training: every validation image (or volume) is segmented by the model in
 * inference mode exactly as `unetc predict` segments it (the same normalization, padding, tiles
 * and margins), and every pixel is scored against its mask; counts are pooled over all images.
 */
import type { LayersModel } from '@tensorflow/tfjs';
import type { Graph } from '../../compiler/ir/index.js';
import type { Engine } from '../backend/index.js';
import { predictImage } from '../infer/predict.js';
import { segmentationModelOf } from '../infer/tfjs-model.js';
import { predictVolume, volumeModelOf } from '../infer/volume.js';
import { inputNormalization } from '../infer/model.js';
import type { TrainingData } from './data.js';
import { ConfusionCounts, type Scores } from '../eval/metrics.js';

/**
 * Validation scores of a model on the data's validation images or volumes: each predicted as
 * `unetc predict` would (padding, tiles, margins of unpadded networks), every pixel scored.
 */
export async function validate(ctx: {
  readonly engine: Engine;
  readonly graph: Graph;
  readonly model: LayersModel;
  readonly data: TrainingData;
}): Promise<Scores> {
  // Binary masks for one sigmoid class and for a boundary head (whose training masks are instance labels).
  const binaryMasks = ctx.graph.classes === 1 || ctx.graph.instances !== undefined;
  const counts = new ConfusionCounts(binaryMasks ? 2 : ctx.graph.classes);
  // The training contract's normalization, applied by the predictors as by `unetc predict`.
  const where = { path: 'the model being trained', normalization: inputNormalization(ctx.graph) } as const;
  const binary = (mask: Uint16Array) => (binaryMasks ? mask.map((v) => (v > 0 ? 1 : 0)) : mask);
  if (ctx.data.volumes) {
    const model = volumeModelOf(ctx.engine, ctx.model, ctx.graph, where);
    for (const v of ctx.data.volumes.val)
      counts.add((await predictVolume(model, v.image, v.dims)).classMap, binary(v.mask));
  }
  if (ctx.data.val.length > 0) {
    const model = segmentationModelOf(ctx.engine, ctx.model, ctx.graph, where);
    for (const e of ctx.data.val) counts.add((await predictImage(model, e.image)).classMap, binary(e.mask.data));
  }
  return counts.scores();
}
