/**
 * The weights an export is made of: a checkpoint's (refused, naming the first differing layer,
 * when it was trained from another network) or seeded initial ones.
 */
import { initialWeights, type WeightMap } from '../../compiler/backends/weights.js';
import type { Graph } from '../../compiler/ir/index.js';
import type { Engine } from '../backend/index.js';
import { CheckpointError, FILES, loadCheckpoint, sha256, type CheckpointManifest } from '../checkpoint/index.js';
import { checkpointWeights, networkMismatch } from '../checkpoint/network.js';
import { normalizationOf } from '../infer/tfjs-model.js';
import type { InputNormalization } from '../infer/index.js';

export interface ExportWeights {
  readonly weights: WeightMap;
  /** How inputs must be scaled for them: the checkpoint's record, none for initial weights. */
  readonly normalization: InputNormalization;
  /** The checkpoint's manifest; undefined for initial weights. */
  readonly manifest?: CheckpointManifest;
}

/** The weights of `checkpoint` for `graph` (compiled from `specText` in `specFile`), or initial ones seeded by `seed`. */
export async function exportWeights(
  engine: Engine,
  graph: Graph,
  spec: { readonly text: string; readonly file: string },
  checkpoint: string | undefined,
  seed: number,
): Promise<ExportWeights> {
  if (checkpoint === undefined) return { weights: initialWeights(graph, seed), normalization: 'none' };
  const { model, manifest } = await loadCheckpoint(engine.tf, checkpoint);
  try {
    const mismatch =
      sha256(spec.text) === manifest.spec.sha256 ? undefined : networkMismatch(graph, manifest, spec.file);
    if (mismatch) throw new CheckpointError(`${checkpoint}/${FILES.manifest}`, mismatch);
    // Deep-supervision heads may differ (trained with them, exported without, or the reverse).
    return {
      weights: checkpointWeights(graph, model, seed),
      normalization: normalizationOf(manifest, checkpoint),
      manifest,
    };
  } finally {
    model.dispose();
  }
}
