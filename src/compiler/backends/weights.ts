import type { Graph } from '../ir/index.js';
import { weightSpecs } from '../ir/weights.js';
import { Random, seedFor } from '../../util/random.js';

/** A float32 tensor in tfjs (NHWC) layout. */
export interface WeightTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/**
 * Weights by their tfjs names: `${op}/kernel`, `${op}/bias` (Conv, ConvTranspose),
 * `${op}/gamma`, `${op}/beta`, `${op}/moving_mean`, `${op}/moving_variance` (BatchNorm).
 * Layouts: Conv kernel [kh, kw, in, out]; ConvTranspose kernel [kh, kw, out, in]; others [c].
 */
export type WeightMap = ReadonlyMap<string, WeightTensor>;

export { weightSpecs, opWeights, type WeightSpec } from '../ir/weights.js';

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * Initial weights, seeded: He-normal (truncated, std sqrt(2 / fan_in)) for convs that feed a
 * ReLU-family unit, Glorot-uniform for the head; zero biases; BatchNorm gamma 1, beta 0, mean 0,
 * variance 1. Each weight draws from its own stream (seedFor), so results do not depend on order.
 */
export function initialWeights(graph: Graph, seed: number): Map<string, WeightTensor> {
  const out = new Map<string, WeightTensor>();
  for (const spec of weightSpecs(graph)) {
    const data = new Float32Array(size(spec.shape));
    const suffix = spec.name.slice(spec.name.lastIndexOf('/') + 1);
    if (suffix === 'kernel') {
      const rng = new Random(seedFor(seed, spec.name));
      // [k..., in, out] (transposed: [k..., out, in]) with 2 or 3 spatial axes.
      const taps = size(spec.shape.slice(0, -2));
      const [a = 1, b = 1] = spec.shape.slice(-2);
      const isTranspose = graph.ops.find((o) => `${o.name}/kernel` === spec.name)?.kind === 'ConvTranspose';
      const fanIn = taps * (isTranspose ? b : a);
      const fanOut = taps * (isTranspose ? a : b);
      if (spec.name.startsWith('head.')) {
        const limit = Math.sqrt(6 / (fanIn + fanOut));
        for (let i = 0; i < data.length; i++) data[i] = rng.uniform(-limit, limit);
      } else {
        // Keras' he_normal: a truncated normal scaled so the kept draws have std sqrt(2 / fan_in).
        const std = Math.sqrt(2 / fanIn) / 0.87962566103423978;
        for (let i = 0; i < data.length; i++) data[i] = rng.truncatedNormal() * std;
      }
    } else if (suffix === 'gamma' || suffix === 'moving_variance') data.fill(1);
    out.set(spec.name, { shape: spec.shape, data });
  }
  return out;
}

/**
 * Random weights for parity tests: every value random, BatchNorm statistics included
 * (variance in [0.5, 1.5]), so a mix-up of any two weights changes the output.
 */
export function randomWeights(graph: Graph, seed: number): Map<string, WeightTensor> {
  const out = new Map<string, WeightTensor>();
  for (const spec of weightSpecs(graph)) {
    const rng = new Random(seedFor(seed, spec.name));
    const data = new Float32Array(size(spec.shape));
    const suffix = spec.name.slice(spec.name.lastIndexOf('/') + 1);
    // A conv kernel [k..., in, out]: the taps times the input channels (2 or 3 spatial axes).
    const fan = spec.shape.length >= 4 ? size(spec.shape.slice(0, -1)) : 1;
    for (let i = 0; i < data.length; i++) {
      if (suffix === 'kernel') data[i] = rng.normal() * Math.sqrt(1 / fan);
      else if (suffix === 'moving_variance') data[i] = rng.uniform(0.5, 1.5);
      else if (suffix === 'gamma') data[i] = rng.uniform(0.5, 1.5);
      else data[i] = rng.uniform(-0.5, 0.5);
    }
    out.set(spec.name, { shape: spec.shape, data });
  }
  return out;
}
