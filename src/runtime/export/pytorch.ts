/**
 * `compile --target pytorch`: the module and weights of a graph (compiler/backends/pytorch),
 * written to a staging folder beside the output, run in PyTorch against the tfjs graph that
 * holds the same weights, and only then moved into place. Without a python that has torch the
 * export is written unverified and says why.
 */
import type { LayersModel } from '@tensorflow/tfjs';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import {
  exportPytorch,
  MANIFEST_FILE,
  MODULE_FILE,
  WEIGHTS_FILE,
  type PytorchExport,
} from '../../compiler/backends/pytorch/index.js';
import type { WeightMap } from '../../compiler/backends/weights.js';
import type { Graph } from '../../compiler/ir/index.js';
import { inferShapes, shapeSizes } from '../../compiler/shape/index.js';
import type { Engine, Tf } from '../backend/index.js';
import { UNETC_VERSION } from '../checkpoint/index.js';
import { makeFolder } from '../data/index.js';
import { findTorchPython, runPythonModule, type TorchPython } from '../torch/python.js';
import { UnetcError } from '../../util/error.js';
import {
  compare,
  PARITY_TOLERANCE,
  predictTfjs,
  randomInput,
  saturatedShare,
  toChannelsFirst,
  verificationSizes,
  type ParityResult,
} from '../verify/index.js';

/** The files of a PyTorch export, in the order they are moved into place (the manifest last). */
export const PYTORCH_FILES = [MODULE_FILE, WEIGHTS_FILE, MANIFEST_FILE] as const;

export interface TorchParityCase {
  /** A folder holding a PyTorch export. */
  readonly folder: string;
  readonly graph: Graph;
  /** The reference output, channels-first, for a channels-last input of `size`. */
  readonly reference: (input: Float32Array, size: readonly number[]) => Promise<Float32Array>;
  /** Default: verificationSizes(graph). */
  readonly sizes?: readonly (readonly number[])[];
}

/**
 * Runs each export in PyTorch (eval mode, one python process for all) on seeded inputs and
 * compares with its reference: one list of results per case, one result per size.
 */
export async function torchParity(
  py: TorchPython,
  cases: readonly TorchParityCase[],
  seed = 1,
): Promise<ParityResult[][]> {
  const scratch = mkdtempSync(join(tmpdir(), 'unetc-torch-parity-'));
  try {
    const planned = await Promise.all(
      cases.map(async (c, i) => {
        const items = [];
        for (const [j, size] of (c.sizes ?? verificationSizes(c.graph)).entries()) {
          const ch = c.graph.inputChannels;
          const voxels = size.reduce((a, b) => a * b, 1);
          const input = randomInput(1, voxels, 1, ch, seed + size.reduce((a, s) => a * 7919 + s, 0));
          const file = join(scratch, `${i}-${j}.f32`);
          writeFileSync(file, new Uint8Array(toChannelsFirst(input, 1, size, ch).buffer));
          items.push({ size, file, shape: [1, ch, ...size], reference: await c.reference(input, size) });
        }
        return { folder: resolve(c.folder), items };
      }),
    );
    const job = {
      threads: 1,
      cases: planned.map((c) => ({ folder: c.folder, inputs: c.items.map((i) => ({ file: i.file, shape: i.shape })) })),
    };
    writeFileSync(join(scratch, 'job.json'), JSON.stringify(job));
    runPythonModule(py, 'unetc_torch.parity', [join(scratch, 'job.json')], 'running the PyTorch module');
    return planned.map((c, i) =>
      c.items.map((item) => {
        const bytes = readFileSync(`${item.file}.out`);
        const actual = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
        return {
          size: item.size,
          height: item.size[item.size.length - 2]!,
          width: item.size[item.size.length - 1]!,
          ...compare(item.reference, actual),
          saturated: cases[i]!.graph.activation === 'none' ? 0 : saturatedShare(item.reference),
        };
      }),
    );
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** A tfjs model as a parity reference: its output at `size`, channels-first. */
export function tfjsReference(tf: Tf, model: LayersModel, graph: Graph): TorchParityCase['reference'] {
  return async (input, size) => {
    const out = inferShapes(graph, ...size).shapes.get('output');
    if (!out) throw new Error(`verification size ${size.join('x')} does not fit the network`);
    const nhwc = await predictTfjs(tf, model, input, [1, ...size, graph.inputChannels]);
    return toChannelsFirst(nhwc, 1, shapeSizes(out), out.c);
  };
}

/** Writes an export's three files into `folder` (which must exist). */
export function writePytorchFiles(folder: string, exported: PytorchExport): void {
  writeFileSync(join(folder, MODULE_FILE), exported.source);
  writeFileSync(join(folder, WEIGHTS_FILE), exported.weights);
  writeFileSync(join(folder, MANIFEST_FILE), exported.manifest);
}

export interface PytorchExportResult {
  readonly exported: PytorchExport;
  /** Empty when not verified. */
  readonly parity: readonly ParityResult[];
  /** True when verified within PARITY_TOLERANCE, or not verified. */
  readonly ok: boolean;
  /** Why it was not verified (no python with torch), when verification was asked for. */
  readonly unverified?: string;
  /** The python that verified it. */
  readonly python?: TorchPython;
}

/**
 * Exports `graph` with `weights` to `output` (a folder): staged beside it, verified against the
 * tfjs `model` holding the same weights unless `verify` is false, then moved in (nothing is
 * written when parity fails).
 */
export async function writeVerifiedPytorch(
  engine: Engine,
  graph: Graph,
  model: LayersModel,
  weights: WeightMap,
  s: { readonly output: string; readonly specText: string; readonly normalization: string; readonly verify: boolean },
): Promise<PytorchExportResult> {
  const exported = exportPytorch(graph, weights, {
    specSource: s.specText,
    producerVersion: UNETC_VERSION,
    inputNormalization: s.normalization,
  });
  if (existsSync(s.output) && !statSync(s.output).isDirectory())
    throw new UnetcError(undefined, `cannot write '${s.output}': it is a file; --target pytorch writes a folder`);
  const parent = dirname(resolve(s.output));
  makeFolder(parent);
  const staging = mkdtempSync(join(parent, `.${basename(s.output)}.`));
  try {
    writePytorchFiles(staging, exported);
    let result: PytorchExportResult = { exported, parity: [], ok: true };
    if (s.verify) {
      const py = findTorchPython();
      if (typeof py === 'string') result = { ...result, unverified: py };
      else {
        const [parity = []] = await torchParity(py, [
          { folder: staging, graph, reference: tfjsReference(engine.tf, model, graph) },
        ]);
        result = { exported, parity, ok: parity.every((r) => r.relative <= PARITY_TOLERANCE), python: py };
      }
    }
    if (!result.ok) return result;
    makeFolder(s.output);
    for (const f of PYTORCH_FILES) renameSync(join(staging, f), join(s.output, f));
    return result;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
