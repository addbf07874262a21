import { expect } from 'vitest';
import { exportOnnxDetailed } from '../../src/compiler/backends/onnx/index.js';
import { buildModel, setWeights } from '../../src/compiler/backends/tfjs/index.js';
import { randomWeights } from '../../src/compiler/backends/weights.js';
import type { Graph } from '../../src/compiler/index.js';
import type { Engine } from '../../src/runtime/backend/index.js';
import { closeOnnxSession, createOnnxSession } from '../../src/runtime/infer/onnx.js';
import { onnxParity, verificationSizes } from '../../src/runtime/verify/index.js';

export interface WorstParityOptions {
  /** Seed of the random weights (BatchNorm statistics included). */
  readonly weightsSeed?: number;
  /** Edits the exported bytes first: deliberately broken exports for negative controls. */
  readonly corrupt?: (bytes: Uint8Array) => Uint8Array;
  readonly opset?: number;
  readonly foldBn?: boolean;
}

/**
 * The export's promise, checked end to end: the worst max|diff|/max|ref| between tfjs and
 * onnxruntime over the verification sizes, for random weights.
 */
export async function worstParity(engine: Engine, graph: Graph, options: WorstParityOptions = {}): Promise<number> {
  const weights = randomWeights(graph, options.weightsSeed ?? 11);
  const model = buildModel(engine.tf, graph);
  setWeights(model, weights, engine.tf);
  let bytes = exportOnnxDetailed(graph, weights, {
    producerVersion: 'test',
    specSource: graph.name,
    ...(options.opset === undefined ? {} : { opset: options.opset }),
    ...(options.foldBn === undefined ? {} : { foldBn: options.foldBn }),
  }).bytes;
  if (options.corrupt) bytes = options.corrupt(bytes);
  const session = await createOnnxSession(bytes, { threads: 1 });
  try {
    const results = await onnxParity(engine.tf, model, session, graph, verificationSizes(graph), 3);
    expect(results.length).toBeGreaterThan(0);
    return Math.max(...results.map((r) => r.relative));
  } finally {
    await closeOnnxSession(session);
    model.dispose();
  }
}
