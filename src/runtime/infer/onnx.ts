/**
 * Inference on an exported ONNX model with onnxruntime-node (CPU). The model's graph input is
 * `input` [N, C, H, W] and its output `output` [N, classes, H', W'] (see the ONNX back end).
 */
import { availableParallelism } from 'node:os';
import * as ort from 'onnxruntime-node';

/** A loaded model: the ORT session and the names of its input and output. */
export interface OnnxSession {
  readonly session: ort.InferenceSession;
  readonly inputName: string;
  readonly outputName: string;
  /** Where the model came from, for error messages. */
  readonly origin: string;
}

export interface OnnxSessionOptions {
  /** Intra-op threads; default: every available core. */
  readonly threads?: number;
}

const messageOf = (e: unknown) => (e instanceof Error ? e.message : String(e));

/**
 * Loads a model from its bytes or a file path. Throws an Error that names the model when ORT
 * rejects it (a corrupt or truncated file, an unsupported op or opset).
 */
export async function createOnnxSession(
  model: Uint8Array | string,
  options: OnnxSessionOptions = {},
): Promise<OnnxSession> {
  const origin = typeof model === 'string' ? `'${model}'` : `model bytes (${model.length} bytes)`;
  const threads = options.threads ?? availableParallelism();
  if (!Number.isInteger(threads) || threads < 1)
    throw new Error(`threads must be a positive integer, got ${String(threads)}`);
  const sessionOptions: ort.InferenceSession.SessionOptions = {
    intraOpNumThreads: threads,
    // One graph branch at a time: a U-Net is a chain, and inter-op threads would compete with intra-op ones.
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionProviders: ['cpu'],
    // Fatal only: ORT would print its errors to stderr, and the library never prints; the
    // errors reach the caller as exceptions instead.
    logSeverityLevel: 4,
  };
  let session: ort.InferenceSession;
  try {
    session =
      typeof model === 'string'
        ? await ort.InferenceSession.create(model, sessionOptions)
        : await ort.InferenceSession.create(model, sessionOptions);
  } catch (e) {
    throw new Error(`cannot load ONNX model from ${origin}: ${messageOf(e)}`, { cause: e });
  }
  const inputName = session.inputNames[0];
  const outputName = session.outputNames[0];
  if (inputName === undefined || outputName === undefined) {
    await session.release();
    throw new Error(`ONNX model from ${origin} has no ${inputName === undefined ? 'input' : 'output'}`);
  }
  return { session, inputName, outputName, origin };
}

/** A float32 tensor's values and dims, detached from ORT. */
export interface OnnxResult {
  readonly data: Float32Array;
  readonly dims: number[];
}

/** Runs one batch, `input` in NCHW order with `dims` [n, c, h, w]. */
export async function runOnnx(s: OnnxSession, input: Float32Array, dims: readonly number[]): Promise<OnnxResult> {
  const expected = dims.reduce((a, b) => a * b, 1);
  if (input.length !== expected)
    throw new Error(`input has ${input.length} values, but dims [${dims.join(', ')}] need ${expected}`);
  let results: ort.InferenceSession.ReturnType;
  try {
    results = await s.session.run({ [s.inputName]: new ort.Tensor('float32', input, [...dims]) });
  } catch (e) {
    throw new Error(`ONNX inference failed for input [${dims.join(', ')}] (model ${s.origin}): ${messageOf(e)}`, {
      cause: e,
    });
  }
  const out = results[s.outputName];
  if (!out || out.type !== 'float32') throw new Error(`ONNX model ${s.origin} gave no float32 '${s.outputName}'`);
  return { data: out.data as Float32Array, dims: [...out.dims] };
}

/** Frees the session's native memory. */
export async function closeOnnxSession(s: OnnxSession): Promise<void> {
  await s.session.release();
}
