/**
 * Weights from tfjs (NHWC) layouts to ONNX (NCHW) layouts, the BatchNorm fold, and the check
 * that a WeightMap is exactly what the graph needs (by name, never by position: a tfjs manifest
 * lists BatchNorm moving statistics after every trainable weight).
 */
import type { Graph } from '../../ir/index.js';
import { weightSpecs, type WeightMap, type WeightTensor } from '../weights.js';

/**
 * Permutes a 4-D kernel by (3, 2, 0, 1): [a, b, c, d] -> [d, c, a, b]. For a Conv kernel
 * [kh, kw, in, out] that is ONNX's [out, in, kh, kw]; for a ConvTranspose kernel
 * [kh, kw, out, in] it is ONNX's [in, out, kh, kw] (no spatial flip: both scatter the same way).
 */
export function toOnnxKernel(w: WeightTensor): { dims: number[]; data: Float32Array } {
  if (w.shape.length === 5) return toOnnxKernel3d(w);
  const [A = 1, B = 1, C = 1, D = 1] = w.shape;
  const src = w.data;
  const out = new Float32Array(src.length);
  for (let a = 0; a < A; a++)
    for (let b = 0; b < B; b++)
      for (let c = 0; c < C; c++) {
        const s = ((a * B + b) * C + c) * D;
        for (let d = 0; d < D; d++) out[((d * C + c) * A + a) * B + b] = src[s + d]!;
      }
  return { dims: [D, C, A, B], data: out };
}

/** The 3D case: [kd, kh, kw, c, d] -> [d, c, kd, kh, kw], permutation (4, 3, 0, 1, 2). */
function toOnnxKernel3d(w: WeightTensor): { dims: number[]; data: Float32Array } {
  const [KD = 1, KH = 1, KW = 1, C = 1, D = 1] = w.shape;
  const src = w.data;
  const out = new Float32Array(src.length);
  const spatial = KD * KH * KW;
  for (let p = 0; p < spatial; p++)
    for (let c = 0; c < C; c++) {
      const s = (p * C + c) * D;
      for (let d = 0; d < D; d++) out[(d * C + c) * spatial + p] = src[s + d]!;
    }
  return { dims: [D, C, KD, KH, KW], data: out };
}

/** Throws unless `weights` has every weight the graph needs, with its shape, and nothing else. */
export function checkWeights(graph: Graph, weights: WeightMap): void {
  const problems: string[] = [];
  const specs = weightSpecs(graph);
  const known = new Set(specs.map((s) => s.name));
  for (const spec of specs) {
    const w = weights.get(spec.name);
    const want = `[${spec.shape.join(', ')}]`;
    if (!w) problems.push(`missing weight '${spec.name}' ${want}`);
    else if (`[${w.shape.join(', ')}]` !== want)
      problems.push(`weight '${spec.name}' has shape [${w.shape.join(', ')}], expected ${want}`);
    else if (w.data.length !== spec.shape.reduce((a, b) => a * b, 1))
      problems.push(`weight '${spec.name}' has ${w.data.length} values, expected ${want}`);
  }
  for (const name of [...weights.keys()].sort())
    if (!known.has(name)) problems.push(`unexpected weight '${name}' (no such weight in graph '${graph.name}')`);
  if (problems.length > 0)
    throw new Error(`weights do not match graph '${graph.name}':\n  ${problems.slice(0, 20).join('\n  ')}`);
}

export interface BatchNormWeights {
  readonly gamma: Float32Array;
  readonly beta: Float32Array;
  readonly mean: Float32Array;
  readonly variance: Float32Array;
  readonly epsilon: number;
}

/**
 * Folds inference-mode BatchNorm into the conv before it: with s = gamma / sqrt(var + eps),
 * W'[o] = W[o] * s[o] and b'[o] = (b[o] - mean[o]) * s[o] + beta[o]. Computed in float64 and
 * rounded once, so the folded model differs from the unfolded one only by float32 rounding.
 * `kernel` is in ONNX layout [out, in, kh, kw]; `bias` is undefined for a conv without one.
 */
export function foldBatchNorm(
  kernel: Float32Array,
  bias: Float32Array | undefined,
  bn: BatchNormWeights,
): { kernel: Float32Array; bias: Float32Array } {
  const outC = bn.gamma.length;
  const per = kernel.length / outC;
  const k = new Float32Array(kernel.length);
  const b = new Float32Array(outC);
  for (let o = 0; o < outC; o++) {
    const s = bn.gamma[o]! / Math.sqrt(bn.variance[o]! + bn.epsilon);
    for (let i = o * per; i < (o + 1) * per; i++) k[i] = kernel[i]! * s;
    b[o] = ((bias?.[o] ?? 0) - bn.mean[o]!) * s + bn.beta[o]!;
  }
  return { kernel: k, bias: b };
}
