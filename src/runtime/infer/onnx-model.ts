/**
 * An exported ONNX model as a `SegmentationModel`, run with onnxruntime-node. What it needs is read
 * from its graph dims and `metadata_props` (see the ONNX back end): channels and classes from the
 * dims, activation, threshold, class names, input normalization and valid sizes from the metadata.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { summarizeOnnx, type OnnxSummary } from '../../compiler/backends/onnx/index.js';
import type { SplitSettings } from '../../compiler/ir/index.js';
import type { HWC } from '../data/index.js';
import {
  activate,
  ModelError,
  parseNormalization,
  type ModelInfo,
  type OutputActivation,
  type SegmentationModel,
} from './model.js';
import { toChannelsFirst, toChannelsLast } from './layout.js';
import { closeOnnxSession, createOnnxSession, runOnnx, type OnnxSession } from './onnx.js';
import { parseValidSizes, progression, type SizeRule } from './sizes.js';

const messageOf = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** HWC -> CHW (one image). */
export function hwcToChw(x: HWC<Float32Array>): Float32Array {
  return toChannelsFirst(x.data, 1, [x.height, x.width], x.channels);
}

/** CHW -> HWC (one image). */
export function chwToHwc(data: Float32Array, c: number, h: number, w: number): HWC<Float32Array> {
  return { height: h, width: w, channels: c, data: toChannelsLast(data, 1, [h, w], c) };
}

/**
 * Reads and checks an ONNX file: readable, a well-formed model with a graph of rank `rank`
 * (4: images, 5: volumes), and, when unetc wrote it, the graph as stored is the one whose
 * SHA-256 the metadata records (a damaged file would otherwise run and give wrong masks).
 */
export function readOnnxSummary(file: string, rank: 4 | 5): OnnxSummary {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ModelError(file, `cannot read: ${code === 'EACCES' ? 'permission denied' : messageOf(e)}`, { cause: e });
  }
  let summary: OnnxSummary;
  try {
    summary = summarizeOnnx(bytes);
  } catch (e) {
    throw new ModelError(file, `not a valid ONNX model, or a corrupt one (${messageOf(e)})`, { cause: e });
  }
  const [inRank, outRank] = [summary.inputDims.length, summary.outputDims.length];
  // A sound model of the other kind is named as such, not called corrupt.
  if (summary.nodes.length > 0 && inRank === outRank && (inRank === 4 || inRank === 5) && inRank !== rank) {
    throw new ModelError(
      file,
      inRank === 5
        ? 'a 3D model (NCDHW input): it segments volumes (NIfTI, DICOM), not 2D images'
        : 'a 2D model (NCHW input): it segments 2D images; for volumes it runs slice by slice through predict and eval on NIfTI folders',
    );
  }
  if (summary.nodes.length === 0 || inRank !== rank || outRank !== rank)
    throw new ModelError(file, `not a valid ONNX model, or a corrupt one (no graph with a ${rank}-d input and output)`);
  const recorded = new Map(summary.metadata).get('graph_sha256');
  if (recorded !== undefined && recorded !== summary.graphSha256) {
    throw new ModelError(
      file,
      `corrupt: its graph (weights included) has SHA-256 ${summary.graphSha256?.slice(0, 12) ?? 'none'}..., but its metadata records ${recorded.slice(0, 12)}...; export it again (unetc compile)`,
    );
  }
  return summary;
}

/** The info the metadata and dims give; the margin is filled in after a probe run when needed. */
function infoOf(file: string, s: OnnxSummary): Omit<ModelInfo, 'margin'> {
  const meta = new Map(s.metadata);
  const channels = s.inputDims[1];
  const classes = s.outputDims[1];
  if (typeof channels !== 'number' || typeof classes !== 'number')
    throw new ModelError(
      file,
      `input or output channels are not fixed (input ${s.inputDims.join('x')}, output ${s.outputDims.join('x')})`,
    );
  const activation = meta.get('output_activation');
  if (activation === undefined)
    throw new ModelError(
      file,
      'no output_activation metadata: not a unetc model (export it with `unetc compile --target onnx`)',
    );
  if (!['sigmoid', 'softmax', 'none'].includes(activation))
    throw new ModelError(file, `unknown output_activation '${activation}'`);
  let classNames: readonly string[] | undefined;
  try {
    const parsed = JSON.parse(meta.get('class_names') ?? 'null') as unknown;
    classNames = Array.isArray(parsed) && parsed.every((n) => typeof n === 'string') ? parsed : undefined;
  } catch {
    classNames = undefined;
  }
  const threshold = Number(meta.get('threshold') ?? '0.5');
  const instances = meta.get('instances');
  if (instances !== undefined && instances !== 'boundary')
    throw new ModelError(file, `unknown instances metadata '${instances}' (this unetc knows 'boundary')`);
  if (instances === 'boundary' && (classes !== 3 || activation === 'sigmoid'))
    throw new ModelError(
      file,
      `instances: boundary needs 3 softmax output channels (background, interior, boundary); it has ${classes} (${activation})`,
    );
  return {
    path: file,
    format: 'onnx',
    name: meta.get('model_name') ?? file,
    inputChannels: channels,
    classes,
    activation: activation as OutputActivation,
    threshold: Number.isFinite(threshold) ? threshold : 0.5,
    classNames,
    normalization: parseNormalization(meta.get('input_normalization') ?? 'none', file),
    sizes: sizesOf(s, meta),
    ...(instances === 'boundary' ? { instances } : {}),
    ...splitOf(meta, file),
  };
}

/** The `instance_split` metadata (a spec's output.split): absent means the defaults. */
function splitOf(meta: ReadonlyMap<string, string>, file: string): { split?: SplitSettings } {
  const text = meta.get('instance_split');
  if (text === undefined) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const { seed_threshold: seed, waist_depth: waist } = (parsed ?? {}) as Record<string, unknown>;
  if (typeof seed !== 'number' || !(seed > 0 && seed < 1) || typeof waist !== 'number' || !(waist > 0))
    throw new ModelError(
      file,
      `instance_split metadata '${text}' is not {"seed_threshold": 0..1, "waist_depth": > 0} (the file is damaged or not a unetc model)`,
    );
  return { split: { seedThreshold: seed, waistDepth: waist } };
}

/** Fixed dims accept only themselves; symbolic ones what valid_sizes says (else spatial_divisor, else any). */
function sizesOf(s: OnnxSummary, meta: ReadonlyMap<string, string>): { height: SizeRule; width: SizeRule } {
  const [, , h, w] = s.inputDims;
  const parsed = parseValidSizes(meta.get('valid_sizes') ?? '', meta.get('spatial_divisor'));
  const divisor = Number(meta.get('spatial_divisor'));
  const fallback = Number.isInteger(divisor) && divisor > 0 ? progression(divisor, divisor) : progression(1, 1);
  return {
    height: typeof h === 'number' ? progression(h, 0) : (parsed?.height ?? fallback),
    width: typeof w === 'number' ? progression(w, 0) : (parsed?.width ?? fallback),
  };
}

/**
 * Loads an ONNX model file. ModelError (naming the file) for an unreadable, corrupt or foreign
 * file; `threads` defaults to every core.
 */
export async function loadOnnxModel(
  file: string,
  options: { readonly threads?: number } = {},
): Promise<SegmentationModel> {
  const summary = readOnnxSummary(file, 4);
  const base = infoOf(file, summary);
  let session: OnnxSession;
  try {
    session = await createOnnxSession(file, options.threads === undefined ? {} : { threads: options.threads });
  } catch (e) {
    throw new ModelError(
      file,
      `onnxruntime cannot load it: ${messageOf(e).replace(/^cannot load ONNX model from '[^']*': /, '')}`,
      { cause: e },
    );
  }
  const run = async (tile: HWC<Float32Array>): Promise<HWC<Float32Array>> => {
    const { height: h, width: w, channels: c } = tile;
    const out = await runOnnx(session, hwcToChw(tile), [1, c, h, w]);
    const [, k, oh, ow] = out.dims;
    const result = chwToHwc(out.data, k!, oh!, ow!);
    if (base.activation === 'none') activate(result.data, k!);
    return result;
  };
  try {
    const margin = await marginOf(file, summary, base, run);
    const threads = options.threads ?? availableParallelism();
    return {
      info: { ...base, margin },
      engine: `onnxruntime-node (CPU, ${threads} thread${threads === 1 ? '' : 's'})`,
      run,
      close: () => closeOnnxSession(session),
    };
  } catch (e) {
    await closeOnnxSession(session);
    throw e;
  }
}

/**
 * How much smaller the output is than the input, per side: 0 when the output dims are the
 * input's ('same' padding), else measured with one run at the smallest accepted size.
 */
async function marginOf(
  file: string,
  s: OnnxSummary,
  info: Omit<ModelInfo, 'margin'>,
  run: (t: HWC<Float32Array>) => Promise<HWC<Float32Array>>,
): Promise<[number, number]> {
  const same = (i: number) => s.outputDims[i] === s.inputDims[i];
  if (same(2) && same(3)) return [0, 0];
  const h = info.sizes.height.atLeast(1)!;
  const w = info.sizes.width.atLeast(1)!;
  const out = await run({
    height: h,
    width: w,
    channels: info.inputChannels,
    data: new Float32Array(h * w * info.inputChannels),
  });
  const mh = (h - out.height) / 2;
  const mw = (w - out.width) / 2;
  if (!(Number.isInteger(mh) && Number.isInteger(mw) && mh >= 0 && mw >= 0)) {
    throw new ModelError(
      file,
      `its output (${out.height}x${out.width} for a ${h}x${w} input) is not the input less an equal margin on each side`,
    );
  }
  return [mh, mw];
}
