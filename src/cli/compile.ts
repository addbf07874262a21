import type { LayersModel } from '@tensorflow/tfjs';
import { join } from 'node:path';
import { countInitializerValues } from '../compiler/backends/onnx/index.js';
import { describeParity, exportVerifiedOnnx } from '../runtime/export/onnx.js';
import { PYTORCH_FILES, writeVerifiedPytorch } from '../runtime/export/pytorch.js';
import { TFJS_FILES, writeVerifiedTfjs } from '../runtime/export/tfjs.js';
import { exportWeights } from '../runtime/export/weights.js';
import { INSTALL_TORCH } from '../runtime/torch/python.js';
import { buildModel, setWeights } from '../compiler/backends/tfjs/index.js';
import { roundWeightsToHalf } from '../compiler/backends/half.js';
import type { WeightMap } from '../compiler/backends/weights.js';
import { checkInputSize, type Graph } from '../compiler/index.js';
import { selectEngine, type Engine } from '../runtime/backend/index.js';
import type { InputNormalization } from '../runtime/infer/index.js';
import { PARITY_TOLERANCE } from '../runtime/verify/index.js';
import { bytes, parseSize, thousands } from './format.js';
import { guardOutputs } from '../runtime/data/index.js';
import { UnetcError } from '../util/error.js';
import { reportDiagnostics, UsageError, writeFileAtomic, type CliIO, type DiagnosticFormat } from './io.js';
import { loadSpec } from './load.js';

export interface CompileOptions {
  readonly target?: string;
  readonly output?: string;
  readonly weights?: string;
  readonly seed?: string;
  readonly verify: boolean;
  readonly opset?: string;
  readonly foldBn: boolean;
  /** Store the weights as float16 (rounded first, in the verified graph too). */
  readonly fp16Weights?: boolean;
  readonly backend?: string;
  readonly format: DiagnosticFormat;
  /** Replace an existing output that unetc did not write. */
  readonly overwrite?: boolean;
  /** HxW (or DxHxW): an ONNX file of that one input size, with constant crops (OpenCV DNN). */
  readonly staticSize?: string;
}

/** A failure the user can act on: printed as `error: ...`, exit 1, nothing written. */
export class CompileError extends UnetcError {
  constructor(problem: string) {
    super(undefined, problem);
  }
}

/**
 * `unetc compile SPEC --target onnx|tfjs|pytorch -o PATH`: builds the tfjs graph (with a checkpoint's
 * weights or seeded initial ones), exports, verifies numerically, and only then writes.
 */
export async function runCompile(io: CliIO, file: string, options: CompileOptions): Promise<number> {
  const target = options.target;
  if (target === undefined) throw new CompileError('give the target: --target onnx, tfjs or pytorch');
  if (target !== 'onnx' && target !== 'tfjs' && target !== 'pytorch')
    throw new CompileError(`unknown target '${target}': use --target onnx, tfjs or pytorch`);
  if (!options.output) throw new UsageError('give the output path with -o PATH');
  const seed = options.seed === undefined ? 0 : Number(options.seed);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
    throw new UsageError(`--seed takes a whole number from 0 to 4294967295, found '${options.seed}'`);
  const opset = options.opset === undefined ? undefined : Number(options.opset);
  if (opset !== undefined && !(Number.isInteger(opset) && opset >= 13 && opset <= 17))
    throw new UsageError(`--opset takes 13 to 17, found '${options.opset}'`);
  if (target === 'pytorch' && options.foldBn) throw new UsageError('--fold-bn is for --target onnx');
  const half = options.fp16Weights === true;
  // Folding computes new float32 weights from rounded ones: they would no longer be float16 values.
  if (half && options.foldBn)
    throw new UsageError('--fp16-weights and --fold-bn cannot be combined (folded weights are not float16 values)');

  // What would be replaced is refused before any work: a checkpoint's weights.bin, a user's file.
  const outputs =
    target === 'onnx'
      ? [options.output]
      : (target === 'tfjs' ? TFJS_FILES : PYTORCH_FILES).map((f) => join(options.output!, f));
  guardOutputs(outputs, { overwrite: options.overwrite, what: 'the export' });

  const spec = loadSpec(file);
  reportDiagnostics(io, spec.diagnostics, options.format);
  if (!spec.graph || !spec.document) return 1;
  const graph = spec.graph;
  const specText = spec.document.source.body;
  let staticSize: number[] | undefined;
  if (options.staticSize !== undefined) {
    if (target !== 'onnx')
      throw new UsageError('--static-size is for --target onnx (a tfjs model takes any size it can)');
    staticSize = parseSize(options.staticSize, graph.dims);
    if (!staticSize)
      throw new UsageError(
        `--static-size takes ${graph.dims === 3 ? 'DxHxW (e.g. 32x64x64) for this 3D spec' : 'HxW (e.g. 256x256)'} or one number, found '${options.staticSize}'`,
      );
    const problems = checkInputSize(graph, staticSize, undefined, ' (from --static-size)');
    if (problems.length > 0) {
      reportDiagnostics(io, problems, options.format);
      return 1;
    }
  }

  const engine = await selectEngine(options.backend);
  io.stderr(`engine: ${engine.description}\n`);
  const model = buildModel(engine.tf, graph);
  try {
    const chosen = await exportWeights(engine, graph, { text: specText, file }, options.weights, seed);
    const { normalization, manifest } = chosen;
    io.stderr(
      manifest
        ? `weights: ${options.weights} (trained from ${manifest.spec.file ?? manifest.spec.name}, seed ${manifest.seed}; inputs ${normalization})\n`
        : `weights: initial (He-normal, seed ${seed})\n`,
    );
    // float16 storage: round first, so the graph that verifies the export holds the stored values.
    const weights = half ? roundWeightsToHalf(chosen.weights) : chosen.weights;
    if (half) io.stderr('weights: rounded to float16 (stored at half the size)\n');
    setWeights(model, weights, engine.tf);
    if (target === 'onnx')
      return await compileOnnx(io, engine, graph, model, weights, specText, options.output, {
        opset,
        foldBn: options.foldBn,
        halfWeights: half,
        verify: options.verify,
        normalization,
        ...(staticSize ? { staticSize } : {}),
      });
    if (target === 'pytorch')
      return await compilePytorch(io, engine, graph, model, weights, specText, options.output, {
        normalization,
        verify: options.verify,
      });
    return await compileTfjs(
      io,
      engine,
      graph,
      model,
      { name: graph.name, file, text: specText },
      seed,
      options.output,
      options.verify,
      half,
    );
  } finally {
    model.dispose();
  }
}

async function compileOnnx(
  io: CliIO,
  engine: Engine,
  graph: Graph,
  model: LayersModel,
  weights: WeightMap,
  specText: string,
  output: string,
  o: {
    opset: number | undefined;
    foldBn: boolean;
    halfWeights: boolean;
    verify: boolean;
    normalization: InputNormalization;
    staticSize?: readonly number[];
  },
): Promise<number> {
  const { exported, parity, ok } = await exportVerifiedOnnx(engine, graph, model, weights, {
    specText,
    opset: o.opset,
    foldBn: o.foldBn,
    halfWeights: o.halfWeights,
    verify: o.verify,
    inputNormalization: o.normalization,
    ...(o.staticSize ? { staticSize: o.staticSize } : {}),
  });
  if (o.foldBn)
    io.stderr(
      `fold-bn: ${exported.foldedBatchNorms.length} BatchNorm${exported.foldedBatchNorms.length === 1 ? '' : 's'} folded into their convs\n`,
    );
  if (o.verify) {
    const line = `parity (onnxruntime vs tfjs ${engine.name}): max|diff|/max|ref| = ${describeParity(parity)}`;
    if (!ok) {
      io.stderr(
        `${line}\nerror: the ONNX model does not match the tfjs graph (tolerance ${PARITY_TOLERANCE}); nothing was written\n`,
      );
      return 1;
    }
    io.stdout(`${line}: ok (<= ${PARITY_TOLERANCE})\n`);
  }
  writeFileAtomic(output, exported.bytes);
  const values = countInitializerValues(exported.bytes);
  io.stdout(
    `wrote ${output} (${bytes(exported.bytes.length)}, opset ${exported.opset}, IR ${exported.irVersion}, ${thousands(values)} weight values${o.verify ? '' : ', not verified'})\n`,
  );
  return 0;
}

async function compilePytorch(
  io: CliIO,
  engine: Engine,
  graph: Graph,
  model: LayersModel,
  weights: WeightMap,
  specText: string,
  output: string,
  o: { normalization: InputNormalization; verify: boolean },
): Promise<number> {
  const r = await writeVerifiedPytorch(engine, graph, model, weights, { output, specText, ...o });
  if (r.unverified) io.stderr(`warning: not verified: ${r.unverified}; to verify, ${INSTALL_TORCH}\n`);
  if (r.python) {
    const line = `parity (PyTorch ${r.python.torch} vs tfjs ${engine.name}): max|diff|/max|ref| = ${describeParity(r.parity)}`;
    if (!r.ok) {
      io.stderr(
        `${line}\nerror: the PyTorch module does not match the tfjs graph (tolerance ${PARITY_TOLERANCE}); nothing was written\n`,
      );
      return 1;
    }
    io.stdout(`${line}: ok (<= ${PARITY_TOLERANCE})\n`);
  }
  io.stdout(
    `wrote ${output}/{${PYTORCH_FILES.join(',')}} (${bytes(r.exported.weights.length)} of weights${r.python ? '' : ', not verified'})\n`,
  );
  return 0;
}

async function compileTfjs(
  io: CliIO,
  engine: Engine,
  graph: Graph,
  model: LayersModel,
  spec: { name: string; file: string; text: string },
  seed: number,
  output: string,
  verify: boolean,
  fp16: boolean,
): Promise<number> {
  const r = await writeVerifiedTfjs(engine, graph, model, { output, spec, seed, verify, fp16 });
  if (!r.ok) {
    io.stderr(
      `error: the saved model predicts differently after loading (max|diff| ${r.maxAbsDiff}); nothing was written\n`,
    );
    return 1;
  }
  if (r.verifiedAt)
    io.stdout(`round trip: tf.loadLayersModel predicts bit-identically at ${r.verifiedAt.join('x')}: ok\n`);
  io.stdout(`wrote ${output}/{${TFJS_FILES.join(',')}}\n`);
  return 0;
}
