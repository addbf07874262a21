/**
 * The ONNX back end's entry point: a checked IR graph and its weights to the bytes of a
 * ModelProto. NCHW (NCDHW for 3D graphs) throughout (weights transposed here, no Transpose
 * nodes), symbolic N/H/W (N/D/H/W).
 */
import { inferenceGraph, type Graph } from '../../ir/index.js';
import { weightSpecs } from '../../ir/weights.js';
import { inferShapes, spatialAxes, type Shape } from '../../shape/index.js';
import type { WeightMap } from '../weights.js';
import { Emitter } from './emitter.js';
import { checkWeights } from './layout.js';
import { lowerGraph } from './lower.js';
import { metadataProps } from './metadata.js';
import { encodeGraph, encodeModel, tensorValueInfo } from './proto.js';
import { axisProfile, outputDim } from './sizes.js';
import { DEFAULT_OPSET, irVersionFor } from './versions.js';

export interface OnnxOptions {
  /** unetc's version: the model's producer_version and the `unetc_version` metadata. */
  readonly producerVersion: string;
  /** The spec's source text, hashed into `source_spec_sha256`. */
  readonly specSource: string | Uint8Array;
  /** ONNX opset, 13..17; default 13 (IR version 7). */
  readonly opset?: number;
  /** ModelProto.model_version; default 1. */
  readonly modelVersion?: number;
  /** How inputs must be scaled before inference (`input_normalization` metadata); default 'none'. */
  readonly inputNormalization?: string;
  /** Fold each BatchNorm into the Conv directly before it when that conv feeds only the BatchNorm. */
  readonly foldBn?: boolean;
  /**
   * Store the weights as float16 initializers, each cast to float right away (half the file).
   * The caller rounds the weights to float16 first (half.ts), so that what it compares against holds the same values.
   */
  readonly halfWeights?: boolean;
  /**
   * One input size ([h, w] or [d, h, w]) fixed in the file: every dim a number (batch 1) and every
   * skip crop a constant Slice, with no Shape arithmetic at run time, for consumers without
   * dynamic shapes (OpenCV DNN). It must be a size the network takes.
   */
  readonly staticSize?: readonly number[];
}

export interface OnnxExport {
  readonly bytes: Uint8Array;
  readonly opset: number;
  readonly irVersion: number;
  /** The BatchNorms folded into their convs (empty unless `foldBn`). */
  readonly foldedBatchNorms: readonly string[];
}

/**
 * Conv -> BatchNorm pairs that can be folded: the BatchNorm reads the conv directly, and the
 * conv's output goes nowhere else (else the unnormalized value would still be needed).
 */
export function foldablePairs(graph: Graph): Map<string, string> {
  const readers = new Map<string, string[]>();
  for (const op of graph.ops) for (const i of op.inputs) readers.set(i, [...(readers.get(i) ?? []), op.name]);
  const byName = new Map(graph.ops.map((op) => [op.name, op]));
  const pairs = new Map<string, string>();
  for (const op of graph.ops) {
    if (op.kind !== 'BatchNorm') continue;
    const conv = byName.get(op.inputs[0] ?? '');
    const r = readers.get(conv?.name ?? '') ?? [];
    if (conv?.kind === 'Conv' && r.length === 1 && r[0] === op.name) pairs.set(conv.name, op.name);
  }
  return pairs;
}

/** Exports and reports what was done (opset, IR version, folded BatchNorms). Throws on bad options or weights. */
export function exportOnnxDetailed(trainingGraph: Graph, trainingWeights: WeightMap, options: OnnxOptions): OnnxExport {
  const opset = options.opset ?? DEFAULT_OPSET;
  const irVersion = irVersionFor(opset);
  checkWeights(trainingGraph, trainingWeights);
  // Deep-supervision heads are for training only: the file has the main head alone.
  const graph = inferenceGraph(trainingGraph);
  const keep = new Set(weightSpecs(graph).map((w) => w.name));
  const weights: WeightMap =
    graph === trainingGraph ? trainingWeights : new Map([...trainingWeights].filter(([name]) => keep.has(name)));
  const axes = spatialAxes(graph).map((axis) => axisProfile(graph, axis));
  if (axes.some((a) => a.validSizes.length === 0))
    throw new Error(`graph '${graph.name}' accepts no input size; check it first`);

  let shapes: ReadonlyMap<string, Shape> | undefined;
  if (options.staticSize) {
    const inferred = inferShapes(graph, ...options.staticSize);
    if (options.staticSize.length !== graph.dims || inferred.failure)
      throw new Error(`static size ${options.staticSize.join('x')} is not an input size graph '${graph.name}' takes`);
    shapes = inferred.shapes;
  }
  const folds = options.foldBn ? foldablePairs(graph) : new Map<string, string>();
  const em = new Emitter(graph, folds, options.halfWeights === true);
  lowerGraph(em, { graph, weights, axes, ...(shapes ? { shapes } : {}) });

  const outputOp = graph.ops.find((op) => op.kind === 'Output')!;
  const fixed = options.staticSize ?? (graph.inputSize === 'any' ? undefined : graph.inputSize);
  const names = graph.dims === 3 ? ['D', 'H', 'W'] : ['H', 'W'];
  const out = shapes?.get(outputOp.name);
  const outFixed = out ? (graph.dims === 3 ? [out.d!, out.h, out.w] : [out.h, out.w]) : undefined;
  const batch = shapes ? 1 : 'N';
  const input = tensorValueInfo('input', [batch, graph.inputChannels, ...names.map((n, axis) => fixed?.[axis] ?? n)]);
  const output = tensorValueInfo('output', [
    batch,
    graph.classes,
    ...names.map((n, axis) => outFixed?.[axis] ?? outputDim(graph, axes[axis]!, outputOp.name, n)),
  ]);
  const graphProto = {
    name: graph.name,
    node: em.nodes,
    initializer: em.initializers,
    input: [input],
    output: [output],
  };
  const bytes = encodeModel({
    irVersion,
    opset,
    producerVersion: options.producerVersion,
    modelVersion: options.modelVersion ?? 1,
    docString: graph.description,
    graph: graphProto,
    metadata: metadataProps({
      graphBytes: encodeGraph(graphProto),
      graph,
      weights,
      axes,
      specSource: options.specSource,
      unetcVersion: options.producerVersion,
      inputNormalization: options.inputNormalization ?? 'none',
    }),
  });
  return { bytes, opset, irVersion, foldedBatchNorms: [...folds.values()] };
}

/** The bytes of an ONNX ModelProto for `graph` with `weights` (tfjs names and layouts). Deterministic. */
export function exportOnnx(graph: Graph, weights: WeightMap, options: OnnxOptions): Uint8Array {
  return exportOnnxDetailed(graph, weights, options).bytes;
}
