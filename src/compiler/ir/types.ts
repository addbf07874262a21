import type { Span } from '../diagnostics/index.js';

export type Padding = 'same' | 'valid';
/**
 * A spatial size per axis: [height, width] in a 2D graph, [depth, height, width] in a 3D graph
 * (the graph's `dims`). Kernels, strides, pool windows and scales all use it.
 */
export type Spatial = readonly number[];
/** @deprecated the 2D name of Spatial. */
export type Pair = Spatial;
export type Dims = 2 | 3;
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

/** Global average pooling over the spatial axes: output 1x1 spatially, the input's channels (squeeze-excitation's squeeze). */
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

export type Op =
  | InputOp
  | ConvOp
  | BatchNormOp
  | ActivationOp
  | DropoutOp
  | PoolOp
  | ConvTransposeOp
  | UpsampleOp
  | ConcatOp
  | AddOp
  | CropOp
  | GlobalAvgPoolOp
  | MultiplyOp
  | OutputOp;
export type OpKind = Op['kind'];

/** The checked IR: an explicit DAG, ops in topological order, the first `Input` and the last `Output`. */
export interface Graph {
  readonly name: string;
  readonly description: string | undefined;
  /** Spatial axes: 2 (images, NHWC) or 3 (volumes, NDHWC). Every Spatial in the ops has this length. */
  readonly dims: Dims;
  /** 'any', or a fixed size per spatial axis ([height, width] or [depth, height, width]). */
  readonly inputSize: 'any' | Spatial;
  readonly inputChannels: number;
  /** 'percentile' where the spec says so (`input.normalize`); absent: the per-image z-score. */
  readonly normalize?: 'percentile';
  readonly classes: number;
  readonly activation: OutputActivation;
  readonly classNames: readonly string[] | undefined;
  readonly threshold: number;
  /**
   * 'boundary': the head's 3 channels are background, interior and boundary (instance outlines);
   * the masks are binary (interior or boundary is foreground) and instances are grown from the
   * interiors. Absent for plain class heads.
   */
  readonly instances?: 'boundary';
  /** A boundary head's split settings, where the spec declares them (`output.split`); else defaultSplit. */
  readonly split?: SplitSettings;
  readonly ops: readonly Op[];
  /** Deep-supervision heads (training only): their ops are in `ops` but lead nowhere; absent when none. */
  readonly deepSupervision?: DeepSupervision;
}

/** A deep-supervision head: a 1x1 conv (and the output activation) on a decoder level below the top. */
export interface AuxHead {
  /** The head's last op: its output is the head's prediction. */
  readonly op: string;
  /** The decoder level it reads (2 = one below the main head's level 1). */
  readonly level: number;
  /** Its output is the input size divided by this, per spatial axis (2^(level-1) with the default pooling). */
  readonly factor: Spatial;
  /** Its share of the training loss. */
  readonly weight: number;
}

/** Loss weights halve per level below the top (nnU-Net's scheme) and are normalized to sum to 1. */
export interface DeepSupervision {
  readonly mainWeight: number;
  readonly heads: readonly AuxHead[];
}

export function assertNever(x: never): never {
  throw new Error(`unexpected IR op: ${JSON.stringify(x)}`);
}

/** n on every spatial axis: `filled(3, 2)` is a 3x3 kernel, `filled(2, 3)` a 2x2x2 window. */
export function filled(n: number, dims: Dims): Spatial {
  return Array.from({ length: dims }, () => n);
}

/** `3x3`, `2x2x2`, `64x128`. */
export function formatSpatial(s: Spatial): string {
  return s.join('x');
}

/**
 * The graph without its deep-supervision heads: what inference and export see. Ops that lead
 * to the Output are kept, in order; a graph without heads is returned as is.
 */
export function inferenceGraph(graph: Graph): Graph {
  if (!graph.deepSupervision) return graph;
  const needed = new Set<string>();
  const byName = new Map(graph.ops.map((op) => [op.name, op]));
  const output = graph.ops.find((op) => op.kind === 'Output');
  const stack = output ? [output.name] : [];
  while (stack.length > 0) {
    const name = stack.pop()!;
    if (needed.has(name)) continue;
    needed.add(name);
    stack.push(...(byName.get(name)?.inputs ?? []));
  }
  const { deepSupervision: _, ...rest } = graph;
  return { ...rest, ops: graph.ops.filter((op) => needed.has(op.name)) };
}

/** How a boundary head's interiors become instances (runtime/infer/boundary.ts splitInstances). */
export interface SplitSettings {
  /** Seeds are pixels whose P(interior) is above this (their holes filled where all is foreground). */
  readonly seedThreshold: number;
  /** Interiors come apart at a waist both sides rise this many pixels above (distance from the interior's edge). */
  readonly waistDepth: number;
}

/**
 * The split when a spec does not say. A confident interior (P > 0.7) is one seed unless it has a
 * waist: two sides each 1.5 pixels deeper than the waist (and 10 pixels large) come apart (nuclei
 * the network let touch). Measured against the earlier 2-pixel erosion on the DSB 2018 nuclei
 * (three trained models, validation and training images) instance F1 +0.008 to +0.016; on the
 * shipped model's held-out images of other kinds +0.027. Shallower waists and lower seeds split
 * more small touching nuclei (seeds 0.6 and waists 0.75: DSB nuclei +0.013) but cut large nuclei
 * at other magnifications (the shipped model's other kinds -0.021): a spec for one kind of image
 * can say so (specs/nuclei.yaml).
 */
export const defaultSplit: SplitSettings = { seedThreshold: 0.7, waistDepth: 1.5 };

/** The split in words, for inspect and reports: "seeds P(interior) > 0.7, waists 1.5 px (defaults)". */
export function splitText(split: SplitSettings | undefined): string {
  const s = split ?? defaultSplit;
  return `seeds P(interior) > ${s.seedThreshold}, waists ${s.waistDepth} px${split ? '' : ' (defaults)'}`;
}

/** The classes the masks have, as the spec counts them (output.classes: 1 for a binary mask, also under a boundary head's 3 channels). */
export function specClasses(graph: Pick<Graph, 'classes' | 'instances'>): number {
  return graph.instances ? 1 : graph.classes;
}

/** A per-axis factor in few characters: `4` when every axis agrees, else `1x2x2`. */
export function factorText(f: Spatial): string {
  return f.every((x) => x === f[0]) ? String(f[0]) : formatSpatial(f);
}
