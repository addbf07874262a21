/**
 * A PyTorch export's three files: the module (emit.ts), weights.bin (float32 little-endian in
 * tfjs layout, weightSpecs order: the bytes whose sha256 is an ONNX export's `weights_sha256`)
 * and weights.json (format, spec, input normalization, sha256, each weight's name and shape).
 */
import type { Graph } from '../../ir/index.js';
import { sourceSha256, weightsSha256 } from '../onnx/metadata.js';
import { checkWeights } from '../onnx/layout.js';
import { weightSpecs, type WeightMap } from '../weights.js';
import { emitPytorchSource, WEIGHTS_FORMAT, WEIGHTS_VERSION } from './emit.js';

export interface PytorchOptions {
  /** The spec's source text (its sha256 goes into the module and the manifest). */
  readonly specSource: string;
  readonly producerVersion: string;
  /** How inputs must be scaled for these weights (a checkpoint's; 'none' for initial weights). */
  readonly inputNormalization: string;
}

export interface PytorchExport {
  /** model.py */
  readonly source: string;
  /** weights.bin */
  readonly weights: Uint8Array;
  /** weights.json */
  readonly manifest: string;
}

/** The module and the weights of `graph`; throws when `weights` are not exactly the graph's. */
export function exportPytorch(graph: Graph, weights: WeightMap, options: PytorchOptions): PytorchExport {
  checkWeights(graph, weights);
  const specSha256 = sourceSha256(options.specSource);
  const specs = weightSpecs(graph);
  const bytes = new Uint8Array(4 * specs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0));
  const view = new DataView(bytes.buffer);
  let offset = 0;
  for (const spec of specs)
    for (const v of weights.get(spec.name)!.data) {
      view.setFloat32(offset, v, true);
      offset += 4;
    }
  const manifest = {
    format: WEIGHTS_FORMAT,
    version: WEIGHTS_VERSION,
    spec: graph.name,
    spec_sha256: specSha256,
    input_normalization: options.inputNormalization,
    sha256: weightsSha256(graph, weights),
    weights: specs.map((s) => ({ name: s.name, shape: s.shape })),
  };
  return {
    source: emitPytorchSource(graph, { specSha256, producerVersion: options.producerVersion }),
    weights: bytes,
    manifest: `${JSON.stringify(manifest, null, 1)}\n`,
  };
}
