import { randomBytes } from 'node:crypto';
import { renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { makeFolder } from '../data/atomic.js';
import { join, resolve } from 'node:path';
import type { io, LayersModel } from '@tensorflow/tfjs';
import { halfBits } from '../../compiler/backends/half.js';
import type { Tf } from '../../compiler/backends/tfjs/index.js';
import { CheckpointError } from './error.js';
import {
  CHECKPOINT_FORMAT,
  CHECKPOINT_VERSION,
  FILES,
  sha256,
  UNETC_VERSION,
  type CheckpointInfo,
  type CheckpointManifest,
} from './manifest.js';

export interface SaveOptions {
  /** Store the weights as float16 (half the bytes). */
  readonly fp16?: boolean;
  /** More files for the directory (a training run's optimizer state), written and hashed with the rest. */
  readonly extra?: ReadonlyArray<readonly [name: string, body: string | Uint8Array]>;
}

/**
 * Saves a model as a checkpoint directory: `model.json` + `weights.bin` (the standard tfjs
 * layers-model format, as tfjs' own file and browser handlers write it) and `unetc.json` (what
 * produced it). Atomic per file, and unetc.json is written last, so a directory with a unetc.json
 * is complete. Creates the directory if missing. Returns the manifest written.
 */
export async function saveCheckpoint(
  tf: Tf,
  dir: string,
  model: LayersModel,
  info: CheckpointInfo,
  options: SaveOptions = {},
): Promise<CheckpointManifest> {
  const artifacts = await captureArtifacts(tf, model);
  let weights = joinWeightData(artifacts.weightData);
  let specs = artifacts.weightSpecs ?? [];
  if (options.fp16) [weights, specs] = toFloat16(weights, specs);
  if (artifacts.modelTopology == null)
    throw new Error(`saveCheckpoint: tfjs gave no topology for model '${model.name}'`);
  const modelJson: io.ModelJSON = {
    modelTopology: artifacts.modelTopology,
    format: artifacts.format,
    generatedBy: artifacts.generatedBy,
    convertedBy: artifacts.convertedBy,
    weightsManifest: [{ paths: [FILES.weights], weights: specs }],
  };
  // The optional fields tfjs' handlers copy into model.json when present.
  if (artifacts.trainingConfig != null) modelJson.trainingConfig = artifacts.trainingConfig;
  if (artifacts.userDefinedMetadata != null) modelJson.userDefinedMetadata = artifacts.userDefinedMetadata;
  if (artifacts.signature != null) modelJson.signature = artifacts.signature;

  const modelText = JSON.stringify(modelJson);
  const extra = options.extra ?? [];
  const files = Object.fromEntries([
    [FILES.model, sha256(modelText)],
    ...extra.map(([name, body]) => [name, sha256(body)]),
  ]);
  const manifest: CheckpointManifest = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    spec: {
      name: info.spec.name,
      ...(info.spec.file !== undefined ? { file: info.spec.file } : {}),
      sha256: sha256(info.spec.text),
      text: info.spec.text,
    },
    graph: info.graph,
    graphSha256: sha256(JSON.stringify(info.graph)),
    seed: info.seed,
    weightsSha256: sha256(weights),
    unetc: UNETC_VERSION,
    tfjs: tf.version.tfjs,
    engine: info.engine ?? tf.getBackend(),
    ...(info.step !== undefined ? { step: info.step } : {}),
    ...(info.epoch !== undefined ? { epoch: info.epoch } : {}),
    files,
  };
  writeFilesAtomically(dir, [
    [FILES.model, modelText],
    [FILES.weights, weights],
    ...extra,
    [FILES.manifest, `${JSON.stringify(manifest, null, 2)}\n`],
  ]);
  return manifest;
}

/** The artifacts tfjs would hand a save handler (topology, weight specs, weight bytes). */
async function captureArtifacts(tf: Tf, model: LayersModel): Promise<io.ModelArtifacts> {
  let captured: io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      captured = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (!captured) throw new Error(`saveCheckpoint: tfjs did not hand over the artifacts of model '${model.name}'`);
  return captured;
}

/**
 * Float32 weights stored as float16, with tfjs' own `quantization: {dtype: 'float16'}` in
 * model.json (tf.loadLayersModel and io.decodeWeights read it back as float32): half the bytes.
 */
function toFloat16(
  data: Uint8Array,
  specs: readonly io.WeightsManifestEntry[],
): [Uint8Array, io.WeightsManifestEntry[]] {
  const parts: Uint8Array[] = [];
  let offset = 0;
  const out = specs.map((s) => {
    const n = s.shape.reduce((a, b) => a * b, 1);
    const bytes = n * 4;
    if (s.dtype !== 'float32')
      throw new Error(`saveCheckpoint: fp16 stores float32 weights, '${s.name}' is ${s.dtype}`);
    const values = new Float32Array(data.buffer.slice(data.byteOffset + offset, data.byteOffset + offset + bytes));
    offset += bytes;
    parts.push(new Uint8Array(halfBits(values).buffer));
    return { ...s, quantization: { dtype: 'float16' as const } };
  });
  return [Buffer.concat(parts), out];
}

/** weights.bin: tfjs may hand the weight bytes as one buffer or as several (large models). */
function joinWeightData(data: io.WeightData | undefined): Uint8Array {
  if (data === undefined) return new Uint8Array(0);
  const parts = Array.isArray(data) ? data : [data];
  return Buffer.concat(parts.map((b) => new Uint8Array(b)));
}

/**
 * Writes every file under a temporary name in `dir`, then renames each into place in order. A
 * failure removes the temporary files. An old unetc.json is removed before the renames, so a
 * crash half-way leaves an incomplete directory (no unetc.json) rather than an old manifest
 * next to new weights.
 */
function writeFilesAtomically(dir: string, files: ReadonlyArray<readonly [string, string | Uint8Array]>): void {
  const abs = resolve(dir);
  try {
    makeFolder(abs);
  } catch (e) {
    throw new CheckpointError(dir, `cannot create the checkpoint directory: ${(e as Error).message}`, { cause: e });
  }
  const tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const temps = files.map(([name]) => join(abs, `.${name}.${tag}.tmp`));
  let current = dir;
  try {
    files.forEach(([name, body], i) => {
      current = join(dir, name);
      writeFileSync(temps[i]!, body);
    });
    current = join(dir, FILES.manifest);
    rmSync(join(abs, FILES.manifest), { force: true });
    files.forEach(([name], i) => {
      current = join(dir, name);
      renameSync(temps[i]!, join(abs, name));
    });
  } catch (e) {
    for (const t of temps) {
      try {
        unlinkSync(t);
      } catch {
        // Already renamed into place, or never written.
      }
    }
    throw new CheckpointError(current, `cannot write the checkpoint: ${(e as Error).message}`, { cause: e });
  }
}
