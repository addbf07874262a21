/**
 * The model's `metadata_props`: what produced it (spec, weight and graph hashes, unetc version) and
 * what a consumer needs to use it (layout, normalization, activation, threshold, class names,
 * the sizes it accepts), so an exported file explains itself.
 */
import { createHash } from 'node:crypto';
import type { Graph } from '../../ir/index.js';
import { weightSpecs, type WeightMap } from '../weights.js';
import { floatBytes } from './proto.js';
import { networkSizes, spatialDivisor, validSizesText, type AxisProfile } from './sizes.js';

/**
 * sha256 over the float32 little-endian bytes of every weight in tfjs (NHWC) layout, in
 * weightSpecs order, nothing else: the same value whichever backend holds the weights, and
 * unchanged by export options such as BatchNorm folding.
 */
export function weightsSha256(graph: Graph, weights: WeightMap): string {
  const hash = createHash('sha256');
  for (const spec of weightSpecs(graph)) {
    const w = weights.get(spec.name);
    if (!w) throw new Error(`missing weight '${spec.name}'`);
    hash.update(floatBytes(w.data));
  }
  return hash.digest('hex');
}

/** sha256 of the spec's source text as UTF-8 (or its bytes). */
export function sourceSha256(source: string | Uint8Array): string {
  return createHash('sha256').update(source).digest('hex');
}

export interface MetadataInputs {
  readonly graph: Graph;
  readonly weights: WeightMap;
  /** One profile per spatial axis. */
  readonly axes: readonly AxisProfile[];
  readonly specSource: string | Uint8Array;
  readonly unetcVersion: string;
  readonly inputNormalization: string;
  /** The encoded GraphProto (see storedGraph): its hash lets a reader detect a damaged file. */
  readonly graphBytes: Uint8Array;
}

/** Every metadata entry (encodeModel sorts them by key). */
export function metadataProps(m: MetadataInputs): Record<string, string> {
  const g = m.graph;
  const sizes = m.axes.map((a) => networkSizes(g, a));
  return {
    class_names: JSON.stringify(g.classNames ?? null),
    graph_sha256: sourceSha256(m.graphBytes),
    input_layout: g.dims === 3 ? 'NCDHW' : 'NCHW',
    input_normalization: m.inputNormalization,
    ...(g.instances ? { instances: g.instances } : {}),
    ...(g.split
      ? { instance_split: JSON.stringify({ seed_threshold: g.split.seedThreshold, waist_depth: g.split.waistDepth }) }
      : {}),
    model_name: g.name,
    output_activation: g.activation,
    source_spec_sha256: sourceSha256(m.specSource),
    spatial_divisor: spatialDivisor(...sizes),
    threshold: String(g.threshold),
    unetc_version: m.unetcVersion,
    valid_sizes: validSizesText(...sizes),
    weights_sha256: weightsSha256(g, m.weights),
  };
}
