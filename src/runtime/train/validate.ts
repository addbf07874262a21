/**
 * Validation during training: each validation image (or volume) is normalized as a whole, cut or
 * zero-padded to the nearest size the network accepts (centered), predicted in inference mode,
 * and scored against its mask over the pixels the output covers (padding left out); counts are
 * pooled over all images. Works for 'valid' networks, whose output is the input less a margin.
 */
import type { Tensor } from '@tensorflow/tfjs';
import { mainOutput } from '../../compiler/backends/tfjs/index.js';
import { validSizes, type Graph } from '../../compiler/index.js';
import { applyNormalization } from '../data/index.js';
import type { Engine } from '../backend/index.js';
import type { LayersModel } from '@tensorflow/tfjs';
import type { TrainingData } from './data.js';
import { classMap, ConfusionCounts, type Scores } from './metrics.js';

/** Per axis: the largest accepted size up to `n`, else the smallest accepted one above it. */
export function validationSize(graph: Graph, dims: readonly number[]): number[] {
  return dims.map((n, axis) => {
    const below = validSizes(graph, axis, n);
    if (below.length > 0) return below[below.length - 1]!;
    return validSizes(graph, axis, Math.max(4 * n, 4096)).find((s) => s > n) ?? n;
  });
}

/**
 * The window [origin, origin + size) of a row-major array of `shape` (spatial axes) with
 * `channels` values per position; positions outside the array are 0.
 */
export function cropOrPad<T extends Float32Array | Uint16Array | Uint8Array>(data: T, shape: readonly number[], channels: number, origin: readonly number[], size: readonly number[]): T {
  const total = size.reduce((a, b) => a * b, 1);
  const out = new (data.constructor as new (n: number) => T)(total * channels);
  const rank = shape.length;
  const index = new Array<number>(rank).fill(0);
  for (let p = 0; p < total; p++) {
    let rest = p;
    for (let a = rank - 1; a >= 0; a--) {
      index[a] = rest % size[a]!;
      rest = Math.floor(rest / size[a]!);
    }
    let src = 0;
    let inside = true;
    for (let a = 0; a < rank; a++) {
      const s = origin[a]! + index[a]!;
      if (s < 0 || s >= shape[a]!) {
        inside = false;
        break;
      }
      src = src * shape[a]! + s;
    }
    if (inside) for (let c = 0; c < channels; c++) out[p * channels + c] = data[src * channels + c]!;
  }
  return out;
}

interface Item {
  readonly shape: readonly number[];
  readonly channels: number;
  /** Normalized image, row-major over `shape` with `channels` values per position. */
  readonly image: Float32Array;
  readonly mask: Uint16Array;
}

function* items(data: TrainingData): Generator<Item> {
  for (const v of data.volumes?.val ?? []) {
    const offset = v.norm.offset[0] ?? 0;
    const scale = v.norm.scale[0] ?? 1;
    yield { shape: v.dims, channels: v.channels, image: v.image.map((x) => (x - offset) / scale), mask: v.mask };
  }
  for (const e of data.val) yield { shape: [e.image.height, e.image.width], channels: e.image.channels, image: applyNormalization(e.image, e.norm), mask: e.mask.data };
}

/** Validation scores of a model on the data's validation images or volumes. */
export function validate(ctx: { readonly engine: Engine; readonly graph: Graph; readonly model: LayersModel; readonly data: TrainingData }): Scores {
  const { tf } = ctx.engine;
  const classes = ctx.graph.classes;
  const counts = new ConfusionCounts(classes === 1 ? 2 : classes);
  for (const item of items(ctx.data)) {
    const size = validationSize(ctx.graph, item.shape);
    const origin = item.shape.map((n, a) => (n - size[a]!) >> 1);
    const input = cropOrPad(item.image, item.shape, item.channels, origin, size);
    const out = tf.tidy(() => mainOutput(ctx.model.predict(tf.tensor(input, [1, ...size, item.channels])) as Tensor | Tensor[]));
    const probabilities = out.dataSync() as Float32Array;
    const outSize = out.shape.slice(1, -1);
    out.dispose();
    // The output covers the input's center less the network's margin.
    const at = origin.map((o, a) => o + ((size[a]! - outSize[a]!) >> 1));
    const truth = cropOrPad(item.mask, item.shape, 1, at, outSize);
    const inside = cropOrPad(new Uint8Array(item.mask.length).fill(1), item.shape, 1, at, outSize);
    const predicted = classMap(probabilities, classes, ctx.graph.threshold);
    const keep = (_: number, i: number) => inside[i] === 1;
    counts.add(predicted.filter(keep), (classes === 1 ? truth.map((v) => (v > 0 ? 1 : 0)) : truth).filter(keep));
  }
  return counts.scores();
}
