/**
 * `train --init MODEL`: the trained weights a new run starts from (a run folder, a checkpoint, or a
 * model shipped with unetc), refused, naming the first differing layer, when their network is not
 * the spec's.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { WeightMap } from '../../compiler/backends/weights.js';
import type { Graph } from '../../compiler/ir/index.js';
import type { Engine } from '../backend/index.js';
import {
  CheckpointError,
  FILES,
  loadCheckpoint,
  readCheckpointManifest,
  type CheckpointManifest,
} from '../checkpoint/index.js';
import { checkpointDirOf, resolveModel, shippedModels } from '../checkpoint/models.js';
import { checkpointWeights, networkMismatch } from '../checkpoint/network.js';

export interface InitSource {
  readonly dir: string;
  readonly manifest: CheckpointManifest;
  /** The shipped model's name and folder, when the argument named one. */
  readonly shipped?: { readonly name: string; readonly path: string };
}

/** An --init argument: a checkpoint, run folder or shipped model name, with its manifest. */
export function initSource(arg: string): InitSource {
  const resolved = resolveModel(arg);
  const dir = checkpointDirOf(resolved.path);
  if (dir === undefined) {
    const names = shippedModels();
    const why = existsSync(resolved.path)
      ? 'holds no checkpoint (unetc.json, model.json, weights.bin; or a run folder with best/ or last/)'
      : 'no such file or folder';
    throw new CheckpointError(
      resolved.path,
      `${why}${names.length ? `; models shipped with unetc: ${names.join(', ')}` : ''}`,
    );
  }
  return {
    dir,
    manifest: readCheckpointManifest(dir),
    ...(resolved.shipped ? { shipped: { name: resolved.shipped, path: resolved.path } } : {}),
  };
}

/** The --init checkpoint's weights for `graph`, refused (naming the first differing layer) when its network is another. */
export async function initWeights(
  engine: Engine,
  graph: Graph,
  init: InitSource,
  specFile: string,
  seed: number,
): Promise<WeightMap> {
  const mismatch = networkMismatch(graph, init.manifest, specFile);
  if (mismatch)
    throw new CheckpointError(
      join(init.dir, FILES.manifest),
      `${mismatch}; --init needs the same network (train without a spec to use the checkpoint's own)`,
    );
  const { model } = await loadCheckpoint(engine.tf, init.dir);
  try {
    return checkpointWeights(graph, model, seed);
  } finally {
    model.dispose();
  }
}
