import { mainOutput } from '../../compiler/backends/tfjs/index.js';
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import { Random } from '../../util/random.js';
import type { Graph } from '../../compiler/ir/index.js';
import { inferShapes, shapeSizes, validSizes } from '../../compiler/shape/index.js';
import type { Tf } from '../backend/index.js';
import { runOnnx, type OnnxSession } from '../infer/onnx.js';
import { toChannelsFirst } from '../infer/layout.js';

export { toChannelsFirst } from '../infer/layout.js';

/** The tolerance an export must meet: max |diff| / max |ref| (shared/FACTS.md: right exports are ~1e-6, wrong ones 1e-2 and up). */
export const PARITY_TOLERANCE = 1e-4;

export interface ParityResult {
  /** The input size per spatial axis ([h, w] or [d, h, w]). */
  readonly size: readonly number[];
  readonly height: number;
  readonly width: number;
  readonly maxAbsDiff: number;
  readonly maxAbsRef: number;
  /** maxAbsDiff / maxAbsRef. */
  readonly relative: number;
  /**
   * The share of reference outputs pinned at exactly 0 or 1 (a saturated sigmoid or softmax):
   * those agree whatever the graph computes, so a high share makes the check weak.
   */
  readonly saturated: number;
}

/** The share of values that are exactly 0 or 1. */
export function saturatedShare(values: Float32Array): number {
  let n = 0;
  for (const v of values) if (v === 0 || v === 1) n++;
  return values.length === 0 ? 0 : n / values.length;
}

/**
 * Input sizes to verify an export at: the spec's fixed size, or two sizes the network accepts,
 * small enough to run fast, the second not square so that a height/width mix-up shows.
 */
export function verificationSizes(graph: Graph): number[][] {
  if (graph.inputSize !== 'any') return [[...graph.inputSize]];
  const pick = (axis: number, from: number, skip: number) => {
    const sizes = validSizes(graph, axis);
    const start = sizes.findIndex((s) => s >= from);
    return sizes[Math.min(sizes.length - 1, Math.max(0, start) + skip)] ?? from;
  };
  // Volumes: smaller sides (a 40^3 volume costs what a 250x250 image does), all three different.
  if (graph.dims === 3)
    return [
      [pick(0, 16, 0), pick(1, 16, 0), pick(2, 16, 0)],
      [pick(0, 16, 0), pick(1, 16, 1), pick(2, 16, 2)],
    ];
  return [
    [pick(0, 40, 0), pick(1, 40, 0)],
    [pick(0, 40, 1), pick(1, 40, 2)],
  ];
}

/** A seeded NHWC input with zero mean and unit variance, as the training contract feeds the network. */
export function randomInput(n: number, h: number, w: number, c: number, seed: number): Float32Array {
  const rng = new Random(seed);
  const data = new Float32Array(n * h * w * c);
  // Zero mean, unit variance (uniform on [-sqrt 3, sqrt 3)): what a z-scored image looks like.
  for (let i = 0; i < data.length; i++) data[i] = (rng.next() * 2 - 1) * Math.sqrt(3);
  return data;
}

/** Compares two equally laid-out arrays. */
export function compare(
  reference: Float32Array,
  actual: Float32Array,
): { maxAbsDiff: number; maxAbsRef: number; relative: number } {
  if (reference.length !== actual.length) return { maxAbsDiff: Infinity, maxAbsRef: 0, relative: Infinity };
  let maxAbsDiff = 0;
  let maxAbsRef = 0;
  for (let i = 0; i < reference.length; i++) {
    const d = Math.abs(reference[i]! - actual[i]!);
    // NaN anywhere is a failure, not a zero difference.
    maxAbsDiff = Number.isNaN(d) ? Infinity : Math.max(maxAbsDiff, d);
    maxAbsRef = Math.max(maxAbsRef, Math.abs(reference[i]!));
  }
  return { maxAbsDiff, maxAbsRef, relative: maxAbsDiff / Math.max(maxAbsRef, 1e-12) };
}

/** Runs the tfjs model on an NHWC input and returns its NHWC output. */
export async function predictTfjs(
  tf: Tf,
  model: LayersModel,
  input: Float32Array,
  dims: readonly number[],
): Promise<Float32Array> {
  return tf
    .tidy(() => mainOutput(model.predict(tf.tensor(input, [...dims])) as Tensor | Tensor[]))
    .data() as Promise<Float32Array>;
}

/**
 * Runs the same seeded input through tfjs and onnxruntime at each size and compares outputs
 * (the ONNX output is NCHW; the tfjs one is transposed to match).
 */
export async function onnxParity(
  tf: Tf,
  model: LayersModel,
  session: OnnxSession,
  graph: Graph,
  sizes: readonly (readonly number[])[],
  seed = 1,
): Promise<ParityResult[]> {
  const results: ParityResult[] = [];
  const c = graph.inputChannels;
  for (const size of sizes) {
    const h = size[size.length - 2]!;
    const w = size[size.length - 1]!;
    const voxels = size.reduce((a, b) => a * b, 1);
    const input = randomInput(1, voxels, 1, c, seed + size.reduce((a, s) => a * 7919 + s, 0));
    const out = inferShapes(graph, ...size).shapes.get('output');
    if (!out) throw new Error(`verification size ${size.join('x')} does not fit the network`);
    const reference = toChannelsFirst(await predictTfjs(tf, model, input, [1, ...size, c]), 1, shapeSizes(out), out.c);
    const actual = await runOnnx(session, toChannelsFirst(input, 1, size, c), [1, c, ...size]);
    results.push({
      size,
      height: h,
      width: w,
      ...compare(reference, actual.data),
      saturated: graph.activation === 'none' ? 0 : saturatedShare(reference),
    });
  }
  return results;
}
