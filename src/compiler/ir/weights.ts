import { assertNever, type Graph, type Op } from './types.js';

/**
 * The weights each op has, named as tfjs names them (`${op}/kernel`, `${op}/bias`,
 * `${op}/gamma`, `${op}/beta`, `${op}/moving_mean`, `${op}/moving_variance`), with tfjs (NHWC)
 * shapes: Conv kernel [kh, kw, in, out]; ConvTranspose kernel [kh, kw, out, in] ([kd, kh, kw, ...]
 * in 3D); others [c].
 * The one definition that parameter counts, weight initialization and every backend share.
 */
export interface WeightSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly trainable: boolean;
}

/** The weights an IR graph has, in op order (trainable and not), with their shapes. */
export function weightSpecs(graph: Graph): WeightSpec[] {
  const channels = new Map(graph.ops.map((op) => [op.name, op.channels]));
  const out: WeightSpec[] = [];
  for (const op of graph.ops) out.push(...opWeights(op, channels.get(op.inputs[0] ?? '') ?? 0));
  return out;
}

/** One op's weights, given the channels of its (first) input. */
export function opWeights(op: Op, inChannels: number): WeightSpec[] {
  const w = (suffix: string, shape: number[], trainable = true): WeightSpec => ({
    name: `${op.name}/${suffix}`,
    shape,
    trainable,
  });
  switch (op.kind) {
    case 'Conv':
      return [w('kernel', [...op.kernel, inChannels, op.channels]), ...(op.bias ? [w('bias', [op.channels])] : [])];
    case 'ConvTranspose':
      return [w('kernel', [...op.kernel, op.channels, inChannels]), ...(op.bias ? [w('bias', [op.channels])] : [])];
    case 'BatchNorm':
      return [
        w('gamma', [op.channels]),
        w('beta', [op.channels]),
        w('moving_mean', [op.channels], false),
        w('moving_variance', [op.channels], false),
      ];
    case 'Input':
    case 'Activation':
    case 'Dropout':
    case 'Pool':
    case 'Upsample':
    case 'Concat':
    case 'Add':
    case 'Crop':
    case 'GlobalAvgPool':
    case 'Multiply':
    case 'Output':
      return [];
    default:
      return assertNever(op);
  }
}
