/**
 * `unetc compile`'s work: a checked spec's network built in tfjs with a checkpoint's weights (or
 * seeded initial ones), exported to ONNX, tfjs or PyTorch, verified numerically against that
 * graph, and only then written. The CLI parses the flags and prints the events and the result.
 */
import type { LayersModel } from '@tensorflow/tfjs';
import { countInitializerValues } from '../../compiler/backends/onnx/index.js';
import { roundWeightsToHalf } from '../../compiler/backends/half.js';
import { buildModel, setWeights } from '../../compiler/backends/tfjs/index.js';
import type { WeightMap } from '../../compiler/backends/weights.js';
import type { Graph } from '../../compiler/ir/index.js';
import { selectEngine, type Engine } from '../backend/index.js';
import { writeFileAtomicSync } from '../data/index.js';
import { exportVerifiedOnnx, type VerifiedExport } from './onnx.js';
import { writeVerifiedPytorch, type PytorchExportResult } from './pytorch.js';
import { writeVerifiedTfjs, type TfjsExportResult } from './tfjs.js';
import { exportWeights, type ExportWeights } from './weights.js';

export type CompileTarget = 'onnx' | 'tfjs' | 'pytorch';

export interface CompileRequest {
  readonly graph: Graph;
  readonly spec: { readonly name: string; readonly file: string; readonly text: string };
  readonly target: CompileTarget;
  /** The .onnx file, or the folder of a tfjs or PyTorch export. */
  readonly output: string;
  /** A checkpoint folder whose weights to export; initial weights seeded by `seed` without one. */
  readonly weights?: string;
  readonly seed: number;
  readonly verify: boolean;
  readonly backend?: string;
  /** ONNX: the opset, BatchNorms folded into their convs, one fixed input size. */
  readonly opset?: number;
  readonly foldBn?: boolean;
  readonly staticSize?: readonly number[];
  /** Weights stored as float16 (rounded first, in the graph that verifies the export too). */
  readonly fp16?: boolean;
}

/** What happened on the way, for the CLI to say. */
export type CompileEvent =
  | { readonly kind: 'engine'; readonly engine: Engine }
  | { readonly kind: 'weights'; readonly chosen: ExportWeights; readonly half: boolean };

/** One target's export, verified or refused (`ok` false: nothing was written). */
type Exported =
  | ({ readonly target: 'onnx'; readonly values: number } & VerifiedExport)
  | ({ readonly target: 'pytorch' } & PytorchExportResult)
  | ({ readonly target: 'tfjs' } & TfjsExportResult);

/** The export and the tfjs engine that verified it. */
export type CompileResult = { readonly engine: string } & Exported;

export async function* compileModel(r: CompileRequest): AsyncGenerator<CompileEvent, CompileResult> {
  const engine = await selectEngine(r.backend);
  yield { kind: 'engine', engine };
  const model = buildModel(engine.tf, r.graph);
  try {
    const chosen = await exportWeights(engine, r.graph, r.spec, r.weights, r.seed);
    const half = r.fp16 === true;
    yield { kind: 'weights', chosen, half };
    // float16 storage: round first, so the graph that verifies the export holds the stored values.
    const weights = half ? roundWeightsToHalf(chosen.weights) : chosen.weights;
    setWeights(model, weights, engine.tf);
    return { engine: engine.name, ...(await exportTo(r, engine, model, weights, chosen)) };
  } finally {
    model.dispose();
  }
}

async function exportTo(
  r: CompileRequest,
  engine: Engine,
  model: LayersModel,
  weights: WeightMap,
  chosen: ExportWeights,
): Promise<Exported> {
  if (r.target === 'onnx') {
    const v = await exportVerifiedOnnx(engine, r.graph, model, weights, {
      specText: r.spec.text,
      opset: r.opset,
      foldBn: r.foldBn,
      halfWeights: r.fp16,
      verify: r.verify,
      inputNormalization: chosen.normalization,
      ...(r.staticSize ? { staticSize: r.staticSize } : {}),
    });
    if (v.ok) writeFileAtomicSync(r.output, v.exported.bytes);
    return { target: 'onnx', values: v.ok ? countInitializerValues(v.exported.bytes) : 0, ...v };
  }
  if (r.target === 'pytorch') {
    const p = await writeVerifiedPytorch(engine, r.graph, model, weights, {
      output: r.output,
      specText: r.spec.text,
      normalization: chosen.normalization,
      verify: r.verify,
    });
    return { target: 'pytorch', ...p };
  }
  const t = await writeVerifiedTfjs(engine, r.graph, model, {
    output: r.output,
    spec: r.spec,
    seed: r.seed,
    verify: r.verify,
    fp16: r.fp16 === true,
  });
  return { target: 'tfjs', ...t };
}
