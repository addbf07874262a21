import { join } from 'node:path';
import { checkInputSize } from '../compiler/index.js';
import { guardOutputs } from '../runtime/data/index.js';
import { compileModel, type CompileResult } from '../runtime/export/compile.js';
import { describeParity } from '../runtime/export/onnx.js';
import { PYTORCH_FILES } from '../runtime/export/pytorch.js';
import { TFJS_FILES } from '../runtime/export/tfjs.js';
import { INSTALL_TORCH } from '../runtime/torch/python.js';
import { PARITY_TOLERANCE, type ParityResult } from '../runtime/verify/index.js';
import { UnetcError } from '../util/error.js';
import { bytes, parseSize, thousands } from './format.js';
import { reportDiagnostics, UsageError, type CliIO, type DiagnosticFormat } from './io.js';
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
 * weights or seeded initial ones), exports, verifies numerically, and only then writes (the work
 * is runtime/export/compile.ts's; this checks the flags and prints).
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

  const events = compileModel({
    graph,
    spec: { name: graph.name, file, text: spec.document.source.body },
    target,
    output: options.output,
    ...(options.weights === undefined ? {} : { weights: options.weights }),
    seed,
    verify: options.verify,
    ...(options.backend === undefined ? {} : { backend: options.backend }),
    ...(opset === undefined ? {} : { opset }),
    foldBn: options.foldBn,
    fp16: half,
    ...(staticSize ? { staticSize } : {}),
  });
  let next = await events.next();
  for (; !next.done; next = await events.next()) {
    const e = next.value;
    if (e.kind === 'engine') io.stderr(`engine: ${e.engine.description}\n`);
    else {
      const { manifest, normalization } = e.chosen;
      io.stderr(
        manifest
          ? `weights: ${options.weights} (trained from ${manifest.spec.file ?? manifest.spec.name}, seed ${manifest.seed}; inputs ${normalization})\n`
          : `weights: initial (He-normal, seed ${seed})\n`,
      );
      if (e.half) io.stderr('weights: rounded to float16 (stored at half the size)\n');
    }
  }
  return say(io, next.value, options.output, options);
}

/** The parity line of a verified export, on stdout; with the refusal on stderr when it failed (false). */
function sayParity(
  io: CliIO,
  runtime: string,
  what: string,
  r: { readonly engine: string; readonly parity: readonly ParityResult[]; readonly ok: boolean },
): boolean {
  const line = `parity (${runtime} vs tfjs ${r.engine}): max|diff|/max|ref| = ${describeParity(r.parity)}`;
  if (r.ok) io.stdout(`${line}: ok (<= ${PARITY_TOLERANCE})\n`);
  else
    io.stderr(
      `${line}\nerror: ${what} does not match the tfjs graph (tolerance ${PARITY_TOLERANCE}); nothing was written\n`,
    );
  return r.ok;
}

/** The export's result in words: what was verified and written, or why nothing was (exit 1). */
function say(io: CliIO, r: CompileResult, output: string, o: CompileOptions): number {
  if (r.target === 'onnx') {
    const folded = r.exported.foldedBatchNorms.length;
    if (o.foldBn) io.stderr(`fold-bn: ${folded} BatchNorm${folded === 1 ? '' : 's'} folded into their convs\n`);
    if (o.verify && !sayParity(io, 'onnxruntime', 'the ONNX model', r)) return 1;
    io.stdout(
      `wrote ${output} (${bytes(r.exported.bytes.length)}, opset ${r.exported.opset}, IR ${r.exported.irVersion}, ${thousands(r.values)} weight values${o.verify ? '' : ', not verified'})\n`,
    );
    return 0;
  }
  if (r.target === 'pytorch') {
    if (r.unverified) io.stderr(`warning: not verified: ${r.unverified}; to verify, ${INSTALL_TORCH}\n`);
    if (r.python && !sayParity(io, `PyTorch ${r.python.torch}`, 'the PyTorch module', r)) return 1;
    io.stdout(
      `wrote ${output}/{${PYTORCH_FILES.join(',')}} (${bytes(r.exported.weights.length)} of weights${r.python ? '' : ', not verified'})\n`,
    );
    return 0;
  }
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
