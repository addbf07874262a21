/**
 * Inference for 3D networks (input.dims: 3): a volume is z-scored as in training, zero-padded to
 * sizes the network accepts and run as overlapping 3D tiles blended with raised-cosine weights.
 * Models: an NCDHW ONNX file (onnxruntime-node) or a tfjs checkpoint of a 3D spec. 'same'
 * padding only (the output has the input's size); unpadded 3D networks are refused by name.
 */
import type { Tensor } from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { summarizeOnnx } from '../../compiler/backends/onnx/index.js';
import { mainOutput } from '../../compiler/backends/tfjs/index.js';
import { compileSpec, formatOneLine, inferShapes, validSizes } from '../../compiler/index.js';
import { selectEngine } from '../backend/index.js';
import { FILES, loadCheckpoint } from '../checkpoint/index.js';
import { activate, locateModel, ModelError, parseNormalization, type InputNormalization, type ModelInfo, type ModelLocation, type OutputActivation } from './model.js';
import { closeOnnxSession, createOnnxSession, runOnnx } from './onnx.js';
import { toChannelsFirst } from '../verify/parity.js';
import { windowOf } from './tiling.js';
import { applyNormalization, normalizationParams } from '../data/index.js';

/** What a 2D model's info says, with the accepted sizes as one divisor per axis. */
export interface VolumeModelInfo extends Omit<ModelInfo, 'sizes' | 'margin' | 'classNames'> {
  /** Accepted sizes are multiples of these, per axis [depth, height, width]. */
  readonly divisor: readonly [number, number, number];
}

export interface VolumeModel {
  readonly info: VolumeModelInfo;
  readonly engine: string;
  /** Runs one DHWC tile of an accepted size; returns DHWC probabilities (`classes` channels). */
  run(tile: Float32Array, dims: readonly [number, number, number]): Promise<Float32Array>;
  close(): Promise<void>;
}

const messageOf = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** Whether the model at `where` is a 3D one (an NCDHW ONNX file, or a checkpoint of a dims: 3 spec). */
export function isVolumeModel(where: ModelLocation): boolean {
  try {
    if (where.format === 'onnx') return summarizeOnnx(readFileSync(where.file)).inputDims.length === 5;
    const manifest = JSON.parse(readFileSync(join(where.dir, FILES.manifest), 'utf8')) as { spec?: { text?: string; file?: string; name?: string } };
    const text = manifest.spec?.text ?? '';
    return compileSpec({ name: manifest.spec?.file ?? `${manifest.spec?.name ?? 'spec'}.yaml`, body: text }).graph?.dims === 3;
  } catch {
    return false; // the 2D loaders report what is wrong with it
  }
}

function divisorOf(text: string | undefined, file: string): [number, number, number] {
  const parts = (text ?? '').split('x').map(Number);
  const [a, b = a, c = a] = parts.length === 1 ? [parts[0], parts[0], parts[0]] : parts;
  if (![a, b, c].every((v) => Number.isInteger(v) && v! > 0)) throw new ModelError(file, `no usable spatial_divisor metadata ('${text ?? ''}')`);
  return [a!, b!, c!];
}

async function loadOnnxVolume(file: string, threads: number | undefined): Promise<VolumeModel> {
  const s = summarizeOnnx(readFileSync(file));
  const meta = new Map(s.metadata);
  const [, channels, ...inSpatial] = s.inputDims;
  const [, classes, ...outSpatial] = s.outputDims;
  if (typeof channels !== 'number' || typeof classes !== 'number') throw new ModelError(file, 'input or output channels are not fixed');
  if (inSpatial.some((d, i) => d !== outSpatial[i])) throw new ModelError(file, 'its output is smaller than its input (unpadded 3D networks are not supported for prediction yet)');
  const activation = meta.get('output_activation') as OutputActivation | undefined;
  if (!activation) throw new ModelError(file, 'no output_activation metadata: not a unetc model');
  const session = await createOnnxSession(file, threads === undefined ? {} : { threads });
  const info: VolumeModelInfo = {
    path: file,
    format: 'onnx',
    name: meta.get('model_name') ?? file,
    inputChannels: channels,
    classes,
    activation,
    threshold: Number(meta.get('threshold') ?? '0.5'),
    normalization: parseNormalization(meta.get('input_normalization') ?? 'none', file),
    divisor: divisorOf(meta.get('spatial_divisor'), file),
  };
  return {
    info,
    engine: 'onnxruntime-node (CPU)',
    async run(tile, dims) {
      const out = await runOnnx(session, toChannelsFirst(tile, 1, dims, channels), [1, channels, ...dims]);
      const voxels = dims[0] * dims[1] * dims[2];
      // NCDHW -> DHWC
      const result = new Float32Array(voxels * classes);
      for (let k = 0; k < classes; k++) for (let p = 0; p < voxels; p++) result[p * classes + k] = out.data[k * voxels + p]!;
      if (activation === 'none') activate(result, classes);
      return result;
    },
    close: () => closeOnnxSession(session),
  };
}

async function loadTfjsVolume(dir: string, backend: string | undefined): Promise<VolumeModel> {
  const engine = await selectEngine(backend);
  const { model, manifest } = await loadCheckpoint(engine.tf, dir);
  const compiled = compileSpec({ name: manifest.spec.file ?? `${manifest.spec.name}.yaml`, body: manifest.spec.text });
  const graph = compiled.graph;
  if (!graph) {
    model.dispose();
    const first = compiled.diagnostics[0];
    throw new ModelError(join(dir, FILES.manifest), `the spec it records does not compile${first ? `: ${formatOneLine(first)}` : ''}`);
  }
  const step = (axis: number) => {
    const s = validSizes(graph, axis, 256);
    return s.length > 1 ? s[1]! - s[0]! : (s[0] ?? 1);
  };
  const divisor: [number, number, number] = [step(0), step(1), step(2)];
  const out = inferShapes(graph, ...divisor.map((d) => d * 2)).shapes.get('output');
  if (!out || out.d !== divisor[0] * 2) {
    model.dispose();
    throw new ModelError(dir, 'its output is smaller than its input (unpadded 3D networks are not supported for prediction yet)');
  }
  const tf = engine.tf;
  return {
    info: {
      path: dir,
      format: 'tfjs',
      name: graph.name,
      inputChannels: graph.inputChannels,
      classes: graph.classes,
      activation: graph.activation,
      threshold: graph.threshold,
      normalization: 'zscore-per-image',
      divisor,
    },
    engine: engine.description,
    async run(tile, dims) {
      const t = tf.tidy(() => mainOutput(model.predict(tf.tensor(tile, [1, ...dims, graph.inputChannels])) as Tensor | Tensor[]));
      try {
        const data = Float32Array.from((await t.data()) as Float32Array);
        if (graph.activation === 'none') activate(data, graph.classes);
        return data;
      } finally {
        t.dispose();
      }
    },
    close: async () => {
      model.dispose();
    },
  };
}

/** Loads a 3D model (run folder, .onnx or checkpoint folder). */
export async function loadVolumeModel(path: string | ModelLocation, options: { readonly backend?: string; readonly threads?: number } = {}): Promise<VolumeModel> {
  const where = typeof path === 'string' ? locateModel(path) : path;
  try {
    return where.format === 'onnx' ? await loadOnnxVolume(where.file, options.threads) : await loadTfjsVolume(where.dir, options.backend);
  } catch (e) {
    if (e instanceof ModelError) throw e;
    throw new ModelError(where.format === 'onnx' ? where.file : where.dir, `cannot load it: ${messageOf(e)}`, { cause: e });
  }
}

/**
 * Start offsets of tiles of `tile` covering `size` with at least `overlap` of each tile shared,
 * on the network's shift grid (multiples of `step`: a U-Net is shift-equivariant only by those);
 * `size` and `tile` are multiples of `step`.
 */
export function tileStarts(size: number, tile: number, overlap: number, step = 1): number[] {
  if (tile >= size) return [0];
  const stride = Math.max(step, Math.floor((tile * (1 - overlap)) / step) * step);
  const starts: number[] = [];
  for (let s = 0; s + tile < size; s += stride) starts.push(s);
  starts.push(size - tile);
  return starts;
}

/** Per tile along one axis: raised-cosine weights over its overlaps with the tiles before and after. */
function axisWindows(starts: readonly number[], tile: number): Float64Array[] {
  return starts.map((s, i) => windowOf(tile, i > 0 ? starts[i - 1]! + tile - s : 0, i < starts.length - 1 ? s + tile - starts[i + 1]! : 0));
}

export interface VolumePrediction {
  /** [depth, height, width]. */
  readonly dims: readonly [number, number, number];
  /** DHWC probabilities. */
  readonly probabilities: Float32Array;
  /** One class id per voxel. */
  readonly classMap: Uint8Array;
}

/**
 * Segments a one-channel volume ([depth, height, width], DHW order = NIfTI's k, j, i): z-score
 * over the whole volume (the training contract), zero padding at the far end of each axis up to
 * a multiple of the model's divisor, tiles of at most `tile` voxels a side (rounded down to the
 * divisor) on the network's shift grid, overlapping by `overlap`, blended with raised-cosine
 * weights where tiles overlap (as 2D tiles are).
 */
export async function predictVolume(model: VolumeModel, volume: Float32Array, dims: readonly [number, number, number], options: { tile?: number; overlap?: number; threshold?: number } = {}): Promise<VolumePrediction> {
  const { divisor, classes, normalization } = model.info;
  const voxels = dims[0] * dims[1] * dims[2];
  if (volume.length !== voxels) throw new RangeError(`predictVolume: ${volume.length} values for a ${dims.join('x')} volume`);
  const normalized = normalize(volume, normalization, dims);
  const padded = dims.map((n, a) => Math.ceil(n / divisor[a]!) * divisor[a]!) as [number, number, number];
  const maxTile = options.tile ?? 64;
  const tile = padded.map((n, a) => Math.min(n, Math.max(divisor[a]!, Math.floor(maxTile / divisor[a]!) * divisor[a]!))) as [number, number, number];
  const starts = padded.map((n, a) => tileStarts(n, tile[a]!, options.overlap ?? 0.25, divisor[a]!));
  const windows = starts.map((s, a) => axisWindows(s, tile[a]!));
  const sum = new Float32Array(voxels * classes);
  const count = new Float32Array(voxels);
  const [td, th, tw] = tile;
  for (const [iz, z0] of starts[0]!.entries())
    for (const [iy, y0] of starts[1]!.entries())
      for (const [ix, x0] of starts[2]!.entries()) {
        const [wz, wy, wx] = [windows[0]![iz]!, windows[1]![iy]!, windows[2]![ix]!];
        const input = new Float32Array(td * th * tw);
        for (let z = 0; z < td; z++)
          for (let y = 0; y < th; y++)
            for (let x = 0; x < tw; x++) {
              const [sz, sy, sx] = [z0 + z, y0 + y, x0 + x];
              if (sz < dims[0] && sy < dims[1] && sx < dims[2]) input[(z * th + y) * tw + x] = normalized[(sz * dims[1] + sy) * dims[2] + sx]!;
            }
        const out = await model.run(input, tile);
        for (let z = 0; z < td; z++)
          for (let y = 0; y < th; y++)
            for (let x = 0; x < tw; x++) {
              const [sz, sy, sx] = [z0 + z, y0 + y, x0 + x];
              if (sz >= dims[0] || sy >= dims[1] || sx >= dims[2]) continue;
              const p = (sz * dims[1] + sy) * dims[2] + sx;
              const q = (z * th + y) * tw + x;
              const weight = wz[z]! * wy[y]! * wx[x]!;
              for (let k = 0; k < classes; k++) sum[p * classes + k]! += weight * out[q * classes + k]!;
              count[p]! += weight;
            }
      }
  for (let p = 0; p < voxels; p++) for (let k = 0; k < classes; k++) sum[p * classes + k]! /= count[p]!;
  const threshold = options.threshold ?? model.info.threshold;
  const classMap = new Uint8Array(voxels);
  for (let p = 0; p < voxels; p++) {
    if (classes === 1) classMap[p] = sum[p]! > threshold ? 1 : 0;
    else {
      let best = 0;
      for (let k = 1; k < classes; k++) if (sum[p * classes + k]! > sum[p * classes + best]!) best = k;
      classMap[p] = best;
    }
  }
  return { dims, probabilities: sum, classMap };
}

/** The training contract's normalization over the whole volume (one "image" of D*H rows). */
function normalize(volume: Float32Array, mode: InputNormalization, dims: readonly [number, number, number]): Float32Array {
  if (mode === 'none') return volume;
  const image = { height: dims[0] * dims[1], width: dims[2], channels: 1, data: volume };
  return applyNormalization(image, normalizationParams(image, { mode: mode === 'zscore-per-image' ? 'zscore' : 'minmax' }));
}
