/**
 * The ONNX back end's entry point: a checked IR graph and its weights to the bytes of a
 * ModelProto. NCHW throughout (weights transposed here, no Transpose nodes), symbolic N/H/W.
 */
import type { Graph } from '../../ir/index.js';
import type { WeightMap } from '../weights.js';
import { Emitter } from './emitter.js';
import { checkWeights } from './layout.js';
import { lowerGraph } from './lower.js';
import { metadataProps } from './metadata.js';
import { encodeModel, tensorValueInfo } from './proto.js';
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
export function exportOnnxDetailed(graph: Graph, weights: WeightMap, options: OnnxOptions): OnnxExport {
  const opset = options.opset ?? DEFAULT_OPSET;
  const irVersion = irVersionFor(opset);
  checkWeights(graph, weights);
  const h = axisProfile(graph, 0);
  const w = axisProfile(graph, 1);
  if (h.validSizes.length === 0 || w.validSizes.length === 0) throw new Error(`graph '${graph.name}' accepts no input size; check it first`);

  const folds = options.foldBn ? foldablePairs(graph) : new Map<string, string>();
  const em = new Emitter(graph, folds);
  lowerGraph(em, { graph, weights, h, w });

  const outputOp = graph.ops.find((op) => op.kind === 'Output')!;
  const fixed = graph.inputSize === 'any' ? undefined : graph.inputSize;
  const input = tensorValueInfo('input', ['N', graph.inputChannels, fixed?.[0] ?? 'H', fixed?.[1] ?? 'W']);
  const output = tensorValueInfo('output', ['N', graph.classes, outputDim(graph, h, outputOp.name, 'H'), outputDim(graph, w, outputOp.name, 'W')]);
  const bytes = encodeModel({
    irVersion,
    opset,
    producerVersion: options.producerVersion,
    modelVersion: options.modelVersion ?? 1,
    docString: graph.description,
    graph: { name: graph.name, node: em.nodes, initializer: em.initializers, input: [input], output: [output] },
    metadata: metadataProps({
      graph,
      weights,
      h,
      w,
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
