import type { Graph, Op } from '../ir/index.js';
import { opWeights } from '../ir/weights.js';
import type { Shape } from '../shape/index.js';

/** Parameters of one op. BatchNorm's moving mean and variance are non-trainable. */
export interface ParamCount {
  readonly trainable: number;
  readonly nonTrainable: number;
}

/** Parameters of one op, counted from the weights it has (ir/weights.ts). */
export function opParams(op: Op, inputChannels: number): ParamCount {
  let trainable = 0;
  let nonTrainable = 0;
  for (const w of opWeights(op, inputChannels)) {
    const n = w.shape.reduce((a, b) => a * b, 1);
    if (w.trainable) trainable += n;
    else nonTrainable += n;
  }
  return { trainable, nonTrainable };
}

/**
 * Multiply-adds of one op for one image. Counted: convolutions (output pixels x kernel area x
 * input channels x output channels) and transposed convolutions (input pixels x kernel area x
 * input channels x output channels). Bias adds, BatchNorm, activations, pooling, resizing and
 * merges are elementwise and not counted, as in the usual "GMACs" of papers and model zoos.
 * Squeeze-excitation's 1x1 convs run on the pooled 1x1 map, so each counts in x out once per
 * image; its global pooling and channel-wise multiply are elementwise (not counted).
 */
export function opMacs(op: Op, input: Shape | undefined, output: Shape): number {
  const area = (k: readonly number[]) => k.reduce((a, b) => a * b, 1);
  if (op.kind === 'Conv') return pixels(output) * area(op.kernel) * (input?.c ?? 0) * op.channels;
  if (op.kind === 'ConvTranspose') return (input ? pixels(input) : 0) * area(op.kernel) * (input?.c ?? 0) * op.channels;
  return 0;
}

/** Pixels (voxels in 3D) of one map. */
export const pixels = (s: Shape): number => s.h * s.w * (s.d ?? 1);

export interface LayerCost {
  readonly op: Op;
  readonly shape: Shape;
  readonly params: ParamCount;
  readonly macs: number;
}

export interface MemoryEstimate {
  readonly batch: number;
  /** Bytes of every op output kept for the backward pass (float32), for the whole batch. */
  readonly activations: number;
  readonly parameters: number;
  readonly gradients: number;
  /** The optimizer's state: Adam's two moments, SGD momentum's one, plain SGD none. */
  readonly optimizer: number;
  readonly optimizerName: string;
  readonly total: number;
}

export interface Cost {
  readonly layers: readonly LayerCost[];
  readonly params: ParamCount & { readonly total: number };
  readonly macs: number;
  readonly memory: MemoryEstimate;
}

const FLOAT = 4;

/** Parameters, multiply-adds and a training-memory estimate for given shapes (from inferShapes). */
/** Floats of optimizer state per trainable parameter. */
export function optimizerSlots(optimizer: string | undefined, momentum: number | undefined): number {
  if (optimizer === 'sgd') return momentum ? 1 : 0;
  return 2;
}

export function analyze(
  graph: Graph,
  shapes: ReadonlyMap<string, Shape>,
  batch: number,
  optimizer: { name?: string; momentum?: number } = {},
): Cost {
  const layers: LayerCost[] = [];
  let trainable = 0;
  let nonTrainable = 0;
  let macs = 0;
  let activationFloats = 0;
  const byName = new Map(graph.ops.map((op) => [op.name, op]));
  for (const op of graph.ops) {
    const shape = shapes.get(op.name);
    if (!shape) continue;
    const input = op.inputs[0] !== undefined ? shapes.get(op.inputs[0]) : undefined;
    const params = opParams(op, byName.get(op.inputs[0] ?? '')?.channels ?? 0);
    const m = opMacs(op, input, shape);
    trainable += params.trainable;
    nonTrainable += params.nonTrainable;
    macs += m;
    // Output markers alias their input; every other op's output is a tensor the backward pass keeps.
    if (op.kind !== 'Output') activationFloats += pixels(shape) * shape.c;
    layers.push({ op, shape, params, macs: m });
  }
  const parameters = (trainable + nonTrainable) * FLOAT;
  const gradients = trainable * FLOAT;
  const optimizerBytes = optimizerSlots(optimizer.name, optimizer.momentum) * trainable * FLOAT;
  const optimizerName = optimizer.name === 'sgd' ? (optimizer.momentum ? 'SGD momentum' : 'SGD') : 'Adam';
  const activations = activationFloats * FLOAT * batch;
  return {
    layers,
    params: { trainable, nonTrainable, total: trainable + nonTrainable },
    macs,
    memory: {
      batch,
      activations,
      parameters,
      gradients,
      optimizer: optimizerBytes,
      optimizerName,
      total: activations + parameters + gradients + optimizerBytes,
    },
  };
}
