import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { io, LayersModel } from '@tensorflow/tfjs';
import { bindEngine, registerLayers, type Tf } from '../../compiler/backends/tfjs/index.js';
import { CheckpointError } from './error.js';
import { FILES, readVerified, sha256, validateManifest, type CheckpointManifest } from './manifest.js';

/** A loaded checkpoint. */
export interface Checkpoint {
  readonly model: LayersModel;
  readonly manifest: CheckpointManifest;
}

/**
 * Loads a checkpoint directory written by saveCheckpoint. Checks, in order: the directory,
 * unetc.json (present, JSON, a unetc manifest), model.json (present, JSON, a layers model),
 * weights.bin (present, the size model.json's weightsManifest needs), model.json's and
 * weights.bin's SHA-256 (as unetc.json records them), then builds the model. Every problem is a CheckpointError naming the file.
 */
export async function loadCheckpoint(tf: Tf, dir: string): Promise<Checkpoint> {
  if (!existsSync(dir)) throw new CheckpointError(dir, 'no such checkpoint directory');
  if (!statSync(dir).isDirectory())
    throw new CheckpointError(
      dir,
      'not a directory (a checkpoint is a directory holding model.json, weights.bin and unetc.json)',
    );
  const manifestFile = join(dir, FILES.manifest);
  if (!existsSync(manifestFile)) {
    throw new CheckpointError(
      manifestFile,
      'missing: not a unetc checkpoint, or its save did not finish (unetc.json is written last)',
    );
  }
  const manifest = validateManifest(readJson(manifestFile), manifestFile);
  const artifacts = readArtifacts(dir);
  readVerified(dir, FILES.model, manifest);
  const weightsFile = join(dir, FILES.weights);
  const actual = sha256(new Uint8Array(artifacts.weightData as ArrayBuffer));
  if (actual !== manifest.weightsSha256) {
    throw new CheckpointError(
      weightsFile,
      `corrupt: its SHA-256 is ${actual.slice(0, 12)}..., but unetc.json records ${manifest.weightsSha256.slice(0, 12)}...`,
    );
  }
  const model = await loadLayersModel(tf, artifacts, join(dir, FILES.model));
  return { model, manifest };
}

/** A checkpoint's unetc.json alone (what produced it), checked; CheckpointError naming the file. */
export function readCheckpointManifest(dir: string): CheckpointManifest {
  const manifestFile = join(dir, FILES.manifest);
  if (!existsSync(manifestFile))
    throw new CheckpointError(
      manifestFile,
      'missing: not a unetc checkpoint, or its save did not finish (unetc.json is written last)',
    );
  return validateManifest(readJson(manifestFile), manifestFile);
}

/**
 * An IOHandler for tf.loadLayersModel that reads a checkpoint's model.json and its weight files
 * (no unetc.json needed). Registers the unetc layer classes in `tf` first.
 */
export function checkpointIOHandler(tf: Tf, dir: string): io.IOHandler {
  registerLayers(tf);
  return { load: async () => readArtifacts(dir) };
}

async function loadLayersModel(tf: Tf, artifacts: io.ModelArtifacts, file: string): Promise<LayersModel> {
  registerLayers(tf); // so model.json's UnetcCenterCrop and squeeze-excitation layers resolve
  try {
    const model = await tf.loadLayersModel({ load: async () => artifacts });
    bindEngine(model, tf);
    return model;
  } catch (e) {
    const message = (e as Error).message;
    // tfjs-layers says `Unknown layer: NAME. This may be due to ...`.
    const unknown = /Unknown layer: (\S+?)\.(?:\s|$)/.exec(message);
    if (unknown)
      throw new CheckpointError(
        file,
        `unknown layer class '${unknown[1]}' (neither a tfjs layer nor one unetc registers)`,
        { cause: e },
      );
    throw new CheckpointError(file, `cannot build the model: ${message}`, { cause: e });
  }
}

function readJson(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new CheckpointError(file, `cannot read: ${(e as Error).message}`, { cause: e });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new CheckpointError(file, `invalid JSON: ${(e as Error).message}`, { cause: e });
  }
}

/** model.json and the weight files it lists, concatenated in manifest order (as tfjs' loaders do). */
function readArtifacts(dir: string): io.ModelArtifacts {
  const file = join(dir, FILES.model);
  if (!existsSync(file)) throw new CheckpointError(file, 'missing');
  const json = readJson(file) as Partial<io.ModelJSON> | null;
  if (
    typeof json !== 'object' ||
    json === null ||
    typeof json.modelTopology !== 'object' ||
    !Array.isArray(json.weightsManifest)
  ) {
    throw new CheckpointError(
      file,
      'not a tfjs layers model (expected an object with modelTopology and weightsManifest)',
    );
  }
  const groupOk = (g: Partial<io.WeightsManifestConfig[number]> | null) =>
    typeof g === 'object' &&
    g !== null &&
    Array.isArray(g.paths) &&
    g.paths.every((p) => typeof p === 'string') &&
    Array.isArray(g.weights);
  if (!json.weightsManifest.every(groupOk))
    throw new CheckpointError(file, 'weightsManifest should be a list of {paths: [files], weights: [specs]}');
  const specs: io.WeightsManifestEntry[] = [];
  const parts: Buffer[] = [];
  for (const group of json.weightsManifest) {
    specs.push(...group.weights);
    const paths = group.paths.map((p) => join(dir, p));
    const bytes = paths.map((p) => {
      if (!existsSync(p)) throw new CheckpointError(p, `missing (listed in ${FILES.model})`);
      return readFileSync(p);
    });
    const needed = group.weights.reduce((n, w) => n + byteSize(w), 0);
    const found = bytes.reduce((n, b) => n + b.byteLength, 0);
    if (found !== needed) {
      const what = found < needed ? 'truncated' : 'too long';
      throw new CheckpointError(
        paths.join(', '),
        `${found} bytes, but ${FILES.model}'s weightsManifest needs ${needed} (${what}, or from another model)`,
      );
    }
    parts.push(...bytes);
  }
  const all = Buffer.concat(parts);
  return {
    modelTopology: json.modelTopology,
    format: json.format,
    generatedBy: json.generatedBy,
    convertedBy: json.convertedBy,
    ...(json.trainingConfig != null ? { trainingConfig: json.trainingConfig } : {}),
    ...(json.userDefinedMetadata != null ? { userDefinedMetadata: json.userDefinedMetadata } : {}),
    weightSpecs: specs,
    // A fresh ArrayBuffer of exactly the bytes (a Buffer may view a larger shared pool).
    weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
  };
}

const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2 };

function byteSize(w: io.WeightsManifestEntry): number {
  const n = w.shape.reduce((a, b) => a * b, 1);
  return n * (DTYPE_BYTES[w.quantization?.dtype ?? w.dtype] ?? 4);
}
