import type { LayersModel } from '@tensorflow/tfjs';
import { exportOnnxDetailed, type OnnxExport } from '../../compiler/backends/onnx/index.js';
import type { WeightMap } from '../../compiler/backends/weights.js';
import type { Graph } from '../../compiler/ir/index.js';
import type { Engine } from '../backend/index.js';
import { UNETC_VERSION } from '../checkpoint/index.js';
import { closeOnnxSession, createOnnxSession } from '../infer/onnx.js';
import { onnxParity, PARITY_TOLERANCE, verificationSizes, type ParityResult } from '../verify/index.js';

export interface VerifiedExport {
  readonly exported: OnnxExport;
  /** Empty when verification was skipped. */
  readonly parity: readonly ParityResult[];
  /** True when verified within PARITY_TOLERANCE (or not verified at all). */
  readonly ok: boolean;
}

export interface ExportSettings {
  readonly specText: string;
  readonly opset?: number;
  readonly foldBn?: boolean;
  /** float16 initializers (the weights must already be rounded to float16, in the tfjs model too). */
  readonly halfWeights?: boolean;
  readonly inputNormalization?: string;
  /** One fixed input size (see OnnxOptions.staticSize); verified at that size alone. */
  readonly staticSize?: readonly number[];
  readonly verify: boolean;
}

/**
 * Exports the IR with `weights` to ONNX and, unless told not to, runs the file in onnxruntime
 * against the tfjs `model` (holding the same weights) at two input sizes.
 */
export async function exportVerifiedOnnx(
  engine: Engine,
  graph: Graph,
  model: LayersModel,
  weights: WeightMap,
  s: ExportSettings,
): Promise<VerifiedExport> {
  const exported = exportOnnxDetailed(graph, weights, {
    producerVersion: UNETC_VERSION,
    specSource: s.specText,
    opset: s.opset,
    foldBn: s.foldBn,
    halfWeights: s.halfWeights,
    inputNormalization: s.inputNormalization,
    ...(s.staticSize ? { staticSize: s.staticSize } : {}),
  });
  if (!s.verify) return { exported, parity: [], ok: true };
  const session = await createOnnxSession(exported.bytes);
  try {
    const parity = await onnxParity(
      engine.tf,
      model,
      session,
      graph,
      s.staticSize ? [[...s.staticSize]] : verificationSizes(graph),
    );
    return { exported, parity, ok: parity.every((r) => r.relative <= PARITY_TOLERANCE) };
  } finally {
    await closeOnnxSession(session);
  }
}

/** "8.1e-7 at 48x48, 8.7e-7 at 64x80" */
export function describeParity(results: readonly ParityResult[]): string {
  const text = results.map((r) => `${r.relative.toExponential(1)} at ${r.size.join('x')}`).join(', ');
  const saturated = Math.max(0, ...results.map((r) => r.saturated));
  return saturated > 0.5
    ? `${text} (weak: ${Math.round(saturated * 100)}% of the outputs are saturated at exactly 0 or 1)`
    : text;
}
