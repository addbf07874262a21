import type { Span } from '../diagnostics/index.js';

export type Padding = 'same' | 'valid';
export type Pair = readonly [number, number];
export type ActivationFn = 'relu' | 'leaky-relu' | 'elu' | 'sigmoid' | 'softmax';
export type OutputActivation = 'sigmoid' | 'softmax' | 'none';

interface OpBase {
  /** Stable, derived from the spec: `enc2.conv1`, `dec3.up`, `head.conv`. */
  readonly name: string;
  /** Names of the ops this one reads, in order. */
  readonly inputs: readonly string[];
  /** Output channels (known without any input size). */
  readonly channels: number;
  /** Where in the spec this op comes from. */
  readonly span: Span | undefined;
}

export interface InputOp extends OpBase {
  readonly kind: 'Input';
}

export interface ConvOp extends OpBase {
  readonly kind: 'Conv';
  readonly kernel: Pair;
  readonly stride: Pair;
  readonly padding: Padding;
  readonly bias: boolean;
}

export interface BatchNormOp extends OpBase {
  readonly kind: 'BatchNorm';
  readonly epsilon: number;
  readonly momentum: number;
}

export interface ActivationOp extends OpBase {
  readonly kind: 'Activation';
  readonly fn: ActivationFn;
  /** Slope for x < 0 (leaky-relu) or the ELU alpha; 0 otherwise. */
  readonly alpha: number;
}

export interface DropoutOp extends OpBase {
  readonly kind: 'Dropout';
  readonly rate: number;
}

export interface PoolOp extends OpBase {
  readonly kind: 'Pool';
  readonly mode: 'max' | 'avg';
  readonly size: Pair;
  readonly stride: Pair;
}

export interface ConvTransposeOp extends OpBase {
  readonly kind: 'ConvTranspose';
  readonly kernel: Pair;
  readonly stride: Pair;
  readonly padding: Padding;
  readonly bias: boolean;
}

export interface UpsampleOp extends OpBase {
  readonly kind: 'Upsample';
  readonly scale: Pair;
  readonly mode: 'nearest' | 'bilinear';
}

/** Concatenation along channels. */
export interface ConcatOp extends OpBase {
  readonly kind: 'Concat';
}

export interface AddOp extends OpBase {
  readonly kind: 'Add';
}

/** Center crop of inputs[0] to the spatial size of inputs[1] (the 2015 paper's cropped skips). */
export interface CropOp extends OpBase {
  readonly kind: 'Crop';
}

/** Global average pooling over height and width: output 1x1 spatially, the input's channels (squeeze-excitation's squeeze). */
export interface GlobalAvgPoolOp extends OpBase {
  readonly kind: 'GlobalAvgPool';
}

/**
 * Elementwise product of inputs[0] [H, W, C] and inputs[1], which is [H, W, C], a per-channel
 * [1, 1, C] broadcast over H and W (squeeze-excitation's scale), or a per-pixel [H, W, 1]
 * broadcast over C (an attention gate's coefficients). The output has inputs[0]'s shape.
 */
export interface MultiplyOp extends OpBase {
  readonly kind: 'Multiply';
}

/** Marks the graph's output; carries what the exported model promises. */
export interface OutputOp extends OpBase {
  readonly kind: 'Output';
  readonly activation: OutputActivation;
}

export type Op = InputOp | ConvOp | BatchNormOp | ActivationOp | DropoutOp | PoolOp | ConvTransposeOp | UpsampleOp | ConcatOp | AddOp | CropOp | GlobalAvgPoolOp | MultiplyOp | OutputOp;
export type OpKind = Op['kind'];

/** The checked IR: an explicit DAG, ops in topological order, the first `Input` and the last `Output`. */
export interface Graph {
  readonly name: string;
  readonly description: string | undefined;
  /** 'any', or a fixed [height, width]. */
  readonly inputSize: 'any' | Pair;
  readonly inputChannels: number;
  readonly classes: number;
  readonly activation: OutputActivation;
  readonly classNames: readonly string[] | undefined;
  readonly threshold: number;
  readonly ops: readonly Op[];
}

export function assertNever(x: never): never {
  throw new Error(`unexpected IR op: ${JSON.stringify(x)}`);
}
