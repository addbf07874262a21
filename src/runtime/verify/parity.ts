import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import { Random } from '../../compiler/backends/random.js';
import { inferShapes, validSizes, type Graph } from '../../compiler/index.js';
import type { Tf } from '../backend/index.js';
import { runOnnx, type OnnxSession } from '../infer/onnx.js';

/** The tolerance an export must meet: max |diff| / max |ref| (shared/FACTS.md: right exports are ~1e-6, wrong ones 1e-2 and up). */
export const PARITY_TOLERANCE = 1e-4;

export interface ParityResult {
  readonly height: number;
  readonly width: number;
  readonly maxAbsDiff: number;
  readonly maxAbsRef: number;
  /** maxAbsDiff / maxAbsRef. */
  readonly relative: number;
}

/**
 * Input sizes to verify an export at: the spec's fixed size, or two sizes the network accepts,
 * small enough to run fast, the second not square so that a height/width mix-up shows.
 */
export function verificationSizes(graph: Graph): [number, number][] {
  if (graph.inputSize !== 'any') return [[graph.inputSize[0], graph.inputSize[1]]];
  const pick = (axis: 0 | 1, from: number, skip: number) => {
    const sizes = validSizes(graph, axis);
    const start = sizes.findIndex((s) => s >= from);
    return sizes[Math.min(sizes.length - 1, Math.max(0, start) + skip)] ?? from;
  };
  return [
    [pick(0, 40, 0), pick(1, 40, 0)],
    [pick(0, 40, 1), pick(1, 40, 2)],
  ];
}

/** A seeded NHWC input in [0, 1). */
export function randomInput(n: number, h: number, w: number, c: number, seed: number): Float32Array {
  const rng = new Random(seed);
  const data = new Float32Array(n * h * w * c);
  for (let i = 0; i < data.length; i++) data[i] = rng.next();
  return data;
}

/** NHWC -> NCHW. */
export function toNchw(data: Float32Array, n: number, h: number, w: number, c: number): Float32Array {
  const out = new Float32Array(data.length);
  for (let b = 0; b < n; b++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let k = 0; k < c; k++) out[((b * c + k) * h + y) * w + x] = data[((b * h + y) * w + x) * c + k]!;
  return out;
}

/** Compares two equally laid-out arrays. */
export function compare(reference: Float32Array, actual: Float32Array): { maxAbsDiff: number; maxAbsRef: number; relative: number } {
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
export async function predictTfjs(tf: Tf, model: LayersModel, input: Float32Array, dims: readonly [number, number, number, number]): Promise<Float32Array> {
  return tf.tidy(() => model.predict(tf.tensor(input, [...dims])) as Tensor).data() as Promise<Float32Array>;
}

/**
 * Runs the same seeded input through tfjs and onnxruntime at each size and compares outputs
 * (the ONNX output is NCHW; the tfjs one is transposed to match).
 */
export async function onnxParity(tf: Tf, model: LayersModel, session: OnnxSession, graph: Graph, sizes: readonly [number, number][], seed = 1): Promise<ParityResult[]> {
  const results: ParityResult[] = [];
  const c = graph.inputChannels;
  for (const [h, w] of sizes) {
    const input = randomInput(1, h, w, c, seed + h * 7919 + w);
    const out = inferShapes(graph, h, w).shapes.get('output');
    if (!out) throw new Error(`verification size ${h}x${w} does not fit the network`);
    const reference = toNchw(await predictTfjs(tf, model, input, [1, h, w, c]), 1, out.h, out.w, out.c);
    const actual = await runOnnx(session, toNchw(input, 1, h, w, c), [1, c, h, w]);
    results.push({ height: h, width: w, ...compare(reference, actual.data) });
  }
  return results;
}
