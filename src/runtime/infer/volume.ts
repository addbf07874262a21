/**
 * Inference for 3D networks (input.dims: 3): a volume is normalized as in training, zero-padded to
 * sizes the network accepts and run as overlapping 3D tiles blended with raised-cosine weights.
 * Models: an NCDHW ONNX file (onnxruntime-node) or a tfjs checkpoint of a 3D spec; unpadded
 * ('valid') networks get input tiles that reach past their outputs by the network's margin.
 */
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { summarizeOnnx } from '../../compiler/backends/onnx/index.js';
import { mainOutput } from '../../compiler/backends/tfjs/index.js';
import type { Graph } from '../../compiler/ir/types.js';
import { inferShapes, validSizes } from '../../compiler/shape/infer.js';
import { selectEngine, type Engine } from '../backend/index.js';
import { FILES, loadCheckpoint, readCheckpointManifest, recordedGraph } from '../checkpoint/index.js';
import {
  activate,
  locateModel,
  ModelError,
  normalizationMode,
  parseNormalization,
  type InputNormalization,
  type ModelInfo,
  type ModelLocation,
  type OutputActivation,
} from './model.js';
import { closeOnnxSession, createOnnxSession, runOnnx } from './onnx.js';
import { readOnnxSummary } from './onnx-model.js';
import { toChannelsFirst, toChannelsLast } from './layout.js';
import { planAxis, TileBlend, tileGrid, type AxisTile } from './tiling.js';
import { parseSizeText, progression, type SizeRule } from './sizes.js';
import { normalizationOf } from './tfjs-model.js';
import { applyNormalization, normalizationParams } from '../data/index.js';

/** What a 2D model's info says, per axis [depth, height, width]. */
export interface VolumeModelInfo extends Omit<ModelInfo, 'sizes' | 'margin' | 'classNames'> {
  /** The input sizes the network accepts, per axis. */
  readonly sizes: readonly [SizeRule, SizeRule, SizeRule];
  /** Voxels the output loses on each side, per axis ('valid' convs); 0 for 'same'. */
  readonly margin: readonly [number, number, number];
}

/** A tile's output: DHWC probabilities and their [depth, height, width]. */
export interface VolumeTileOutput {
  readonly data: Float32Array;
  readonly dims: readonly [number, number, number];
}

export interface VolumeModel {
  readonly info: VolumeModelInfo;
  readonly engine: string;
  /** Runs one DHWC tile of an accepted size; returns DHWC probabilities (`classes` channels) of the output's size. */
  run(tile: Float32Array, dims: readonly [number, number, number]): Promise<VolumeTileOutput>;
  close(): Promise<void>;
}

const messageOf = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** Whether the model at `where` is a 3D one (an NCDHW ONNX file, or a checkpoint of a dims: 3 spec). */
export function isVolumeModel(where: ModelLocation): boolean {
  try {
    if (where.format === 'onnx') return summarizeOnnx(readFileSync(where.file)).inputDims.length === 5;
    const graph = recordedGraph(readCheckpointManifest(where.dir));
    return typeof graph !== 'string' && graph.dims === 3;
  } catch {
    return false; // the 2D loaders report what is wrong with it
  }
}

/** Per-axis size rules from the `valid_sizes` and `spatial_divisor` metadata (one text for all axes, or "depth: ...; height: ...; width: ..."). */
function axisRules(
  valid: string | undefined,
  divisor: string | undefined,
  fixed: readonly (number | string | undefined)[],
  file: string,
): [SizeRule, SizeRule, SizeRule] {
  const texts = (valid ?? '').includes(':')
    ? (valid ?? '').split(';').map((t) => t.replace(/^\s*(depth|height|width):/, '').trim())
    : [valid ?? '', valid ?? '', valid ?? ''];
  const divs = (divisor ?? '').split('x').map(Number);
  return [0, 1, 2].map((a) => {
    const n = fixed[a];
    if (typeof n === 'number') return progression(n, 0);
    const d = divs.length === 1 ? divs[0]! : divs[a]!;
    const rule =
      parseSizeText(texts[a] ?? '', Number.isInteger(d) && d > 0 ? d : undefined) ??
      (Number.isInteger(d) && d > 0 ? progression(d, d) : undefined);
    if (!rule)
      throw new ModelError(
        file,
        `no usable valid_sizes or spatial_divisor metadata ('${valid ?? ''}', '${divisor ?? ''}')`,
      );
    return rule;
  }) as [SizeRule, SizeRule, SizeRule];
}

async function loadOnnxVolume(file: string, threads: number | undefined): Promise<VolumeModel> {
  const s = readOnnxSummary(file, 5);
  const meta = new Map(s.metadata);
  const [, channels, ...inSpatial] = s.inputDims;
  const [, classes, ...outSpatial] = s.outputDims;
  if (typeof channels !== 'number' || typeof classes !== 'number')
    throw new ModelError(file, 'input or output channels are not fixed');
  const activation = meta.get('output_activation') as OutputActivation | undefined;
  if (!activation) throw new ModelError(file, 'no output_activation metadata: not a unetc model');
  const session = await createOnnxSession(file, threads === undefined ? {} : { threads });
  const sizes = axisRules(meta.get('valid_sizes'), meta.get('spatial_divisor'), inSpatial, file);
  const run = async (tile: Float32Array, dims: readonly [number, number, number]): Promise<VolumeTileOutput> => {
    const out = await runOnnx(session, toChannelsFirst(tile, 1, dims, channels), [1, channels, ...dims]);
    const [, , od = 0, oh = 0, ow = 0] = out.dims;
    const result = toChannelsLast(out.data, 1, [od, oh, ow], classes);
    if (activation === 'none') activate(result, classes);
    return { data: result, dims: [od, oh, ow] };
  };
  // The output's margin: none when the output keeps the input's dims, else from one probe run.
  let margin: [number, number, number] = [0, 0, 0];
  if (inSpatial.some((d, i) => d !== outSpatial[i])) {
    const probe = sizes.map((r) => r.atLeast(1)!) as [number, number, number];
    const out = await run(new Float32Array(probe[0] * probe[1] * probe[2] * channels), probe);
    margin = probe.map((n, a) => (n - out.dims[a]!) / 2) as [number, number, number];
  }
  const info: VolumeModelInfo = {
    path: file,
    format: 'onnx',
    name: meta.get('model_name') ?? file,
    inputChannels: channels,
    classes,
    activation,
    threshold: Number(meta.get('threshold') ?? '0.5'),
    normalization: parseNormalization(meta.get('input_normalization') ?? 'none', file),
    sizes,
    margin,
  };
  return { info, engine: 'onnxruntime-node (CPU)', run, close: () => closeOnnxSession(session) };
}

async function loadTfjsVolume(dir: string, backend: string | undefined): Promise<VolumeModel> {
  const engine = await selectEngine(backend);
  const { model, manifest } = await loadCheckpoint(engine.tf, dir);
  const graph = recordedGraph(manifest);
  if (typeof graph === 'string') {
    model.dispose();
    throw new ModelError(join(dir, FILES.manifest), graph);
  }
  return volumeModelOf(engine, model, graph, { path: dir, normalization: normalizationOf(manifest, dir) });
}

/**
 * A VolumeModel around an in-memory tfjs model of a 3D `graph` (a loaded checkpoint, or the model
 * being trained: validation predicts as `unetc predict` does). `close` disposes the model.
 */
export function volumeModelOf(
  engine: Engine,
  model: LayersModel,
  graph: Graph,
  where: { readonly path: string; readonly normalization: InputNormalization },
): VolumeModel {
  const sizes = [0, 1, 2].map((axis) => {
    if (graph.inputSize !== 'any') return progression(graph.inputSize[axis]!, 0);
    const s = validSizes(graph, axis, 1024);
    return progression(s[0] ?? 1, s.length > 1 ? s[1]! - s[0]! : 0);
  }) as [SizeRule, SizeRule, SizeRule];
  const first = sizes.map((r) => r.atLeast(1)!);
  const out = inferShapes(graph, ...first).shapes.get('output');
  const margin = first.map((n, a) => (n - [out?.d, out?.h, out?.w][a]!) / 2) as [number, number, number];
  const tf = engine.tf;
  return {
    info: {
      path: where.path,
      format: 'tfjs',
      name: graph.name,
      inputChannels: graph.inputChannels,
      classes: graph.classes,
      activation: graph.activation,
      threshold: graph.threshold,
      normalization: where.normalization,
      sizes,
      margin,
    },
    engine: engine.description,
    async run(tile, dims) {
      const t = tf.tidy(() =>
        mainOutput(model.predict(tf.tensor(tile, [1, ...dims, graph.inputChannels])) as Tensor | Tensor[]),
      );
      try {
        const data = Float32Array.from((await t.data()) as Float32Array);
        if (graph.activation === 'none') activate(data, graph.classes);
        const [, od = 0, oh = 0, ow = 0] = t.shape;
        return { data, dims: [od, oh, ow] };
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
export async function loadVolumeModel(
  path: string | ModelLocation,
  options: { readonly backend?: string; readonly threads?: number } = {},
): Promise<VolumeModel> {
  const where = typeof path === 'string' ? locateModel(path) : path;
  try {
    return where.format === 'onnx'
      ? await loadOnnxVolume(where.file, options.threads)
      : await loadTfjsVolume(where.dir, options.backend);
  } catch (e) {
    if (e instanceof ModelError) throw e;
    throw new ModelError(where.format === 'onnx' ? where.file : where.dir, `cannot load it: ${messageOf(e)}`, {
      cause: e,
    });
  }
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
 * Segments a one-channel volume ([depth, height, width], DHW order = NIfTI's k, j, i): the
 * model's normalization over the whole volume (the training contract), then overlapping 3D tiles of sizes the network
 * accepts with at most `tile` output voxels a side, placed on its shift grid; each tile's input
 * reaches `margin` voxels past its output for unpadded ('valid') networks; outside the volume is
 * zero (the normalized mean, or the 1st percentile). Probabilities are blended with raised-cosine weights where tiles
 * overlap.
 */
export async function predictVolume(
  model: VolumeModel,
  volume: Float32Array,
  dims: readonly [number, number, number],
  options: { tile?: number; overlap?: number; threshold?: number } = {},
): Promise<VolumePrediction> {
  const { classes, normalization } = model.info;
  const voxels = dims[0] * dims[1] * dims[2];
  if (volume.length !== voxels)
    throw new RangeError(`predictVolume: ${volume.length} values for a ${dims.join('x')} volume`);
  const normalized = normalize(volume, normalization, dims);
  // The tiling planner of images, per axis; `tile` counts output voxels here (64 by default: a
  // 3D tile's cost grows with the cube of its side), so each axis' input tile adds its margins.
  const plans = dims.map((n, a) => {
    const margin = model.info.margin[a]!;
    const tile = (options.tile ?? 64) + 2 * margin;
    return planAxis(n, model.info.sizes[a]!, { tile, overlap: options.overlap ?? 0.25, margin });
  });
  const blend = new TileBlend(dims, classes);
  for (const tiles of tileGrid(plans)) {
    const size = tiles.map((t) => t.inSize) as [number, number, number];
    const out = await model.run(cropZero(normalized, dims, tiles), size);
    const expected = tiles.map((t) => t.inSize - 2 * (t.outStart - t.inStart));
    if (out.dims.some((n, a) => n !== expected[a]))
      throw new RangeError(
        `predictVolume: the network gave ${out.dims.join('x')} for a ${size.join('x')} tile; expected ${expected.join('x')}`,
      );
    blend.add(tiles, out.data);
  }
  const sum = blend.result();
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

/** A tile's input: the volume's voxels in each axis' input range, zero outside it (the normalized mean, or the 1st percentile). */
function cropZero(volume: Float32Array, dims: readonly number[], tiles: readonly AxisTile[]): Float32Array {
  const [[z0, td], [y0, th], [x0, tw]] = tiles.map((t) => [t.inStart, t.inSize] as const) as [
    readonly [number, number],
    readonly [number, number],
    readonly [number, number],
  ];
  const input = new Float32Array(td * th * tw);
  for (let z = 0; z < td; z++) {
    const sz = z0 + z;
    if (sz < 0 || sz >= dims[0]!) continue;
    for (let y = 0; y < th; y++) {
      const sy = y0 + y;
      if (sy < 0 || sy >= dims[1]!) continue;
      for (let x = 0; x < tw; x++) {
        const sx = x0 + x;
        if (sx >= 0 && sx < dims[2]!) input[(z * th + y) * tw + x] = volume[(sz * dims[1]! + sy) * dims[2]! + sx]!;
      }
    }
  }
  return input;
}

/** The training contract's normalization over the whole volume (one "image" of D*H rows). */
function normalize(
  volume: Float32Array,
  mode: InputNormalization,
  dims: readonly [number, number, number],
): Float32Array {
  if (mode === 'none') return volume;
  const image = { height: dims[0] * dims[1], width: dims[2], channels: 1, data: volume };
  return applyNormalization(image, normalizationParams(image, { mode: normalizationMode(mode) }));
}
