/**
 * `compile --target tfjs`: a tfjs model folder (model.json, weights.bin, unetc.json) and
 * unetc-layers.js, saved to a staging folder beside the output, loaded back and checked to
 * predict bit-identically, and only then moved into place (unetc.json last).
 */
import type { LayersModel } from '@tensorflow/tfjs';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Graph } from '../../compiler/ir/index.js';
import type { Engine } from '../backend/index.js';
import { FILES, loadCheckpoint, saveCheckpoint } from '../checkpoint/index.js';
import { makeFolder, writeFileAtomicSync } from '../data/index.js';
import { UnetcError } from '../../util/error.js';
import { compare, predictTfjs, randomInput, verificationSizes } from '../verify/index.js';

/** The ES module a tfjs export carries for stock tfjs (web/unetc-layers.js; see the README). */
export const LAYERS_MODULE = 'unetc-layers.js';
const layersModule = fileURLToPath(new URL('../../../web/unetc-layers.js', import.meta.url));

/** The files of a tfjs export, in the order they are moved into place. */
export const TFJS_FILES = [FILES.model, FILES.weights, FILES.manifest, LAYERS_MODULE] as const;

export type TfjsExportResult =
  { readonly ok: true; readonly verifiedAt?: readonly number[] } | { readonly ok: false; readonly maxAbsDiff: number };

/**
 * Writes `model` (holding the weights to export) as a tfjs model folder at `output`; with
 * `verify`, only when the saved model loads back and predicts bit-identically at one of the
 * network's sizes (else nothing is written).
 */
export async function writeVerifiedTfjs(
  engine: Engine,
  graph: Graph,
  model: LayersModel,
  s: {
    readonly output: string;
    readonly spec: { readonly name: string; readonly file: string; readonly text: string };
    readonly seed: number;
    readonly verify: boolean;
    readonly fp16: boolean;
  },
): Promise<TfjsExportResult> {
  if (existsSync(s.output) && !statSync(s.output).isDirectory())
    throw new UnetcError(undefined, `cannot write '${s.output}': it is a file; --target tfjs writes a folder`);
  const parent = dirname(resolve(s.output));
  if (!existsSync(parent)) throw new UnetcError(undefined, `cannot write '${s.output}': no such folder '${parent}'`);
  const staging = mkdtempSync(join(parent, `.${basename(s.output)}.`));
  try {
    // Deep-supervision heads are for training: the exported model has the main output only.
    const exported =
      model.outputs.length > 1
        ? engine.tf.model({ inputs: model.inputs, outputs: model.outputs[0]!, name: model.name })
        : model;
    await saveCheckpoint(
      engine.tf,
      staging,
      exported,
      { spec: s.spec, graph, seed: s.seed, engine: engine.name },
      { fp16: s.fp16 },
    );
    let verifiedAt: number[] | undefined;
    if (s.verify) {
      const size = verificationSizes(graph)[0]!;
      const voxels = size.reduce((a, b) => a * b, 1);
      const input = randomInput(1, voxels, 1, graph.inputChannels, s.seed + 1);
      const dims = [1, ...size, graph.inputChannels];
      const loaded = await loadCheckpoint(engine.tf, staging);
      try {
        const diff = compare(
          await predictTfjs(engine.tf, model, input, dims),
          await predictTfjs(engine.tf, loaded.model, input, dims),
        );
        if (diff.maxAbsDiff !== 0) return { ok: false, maxAbsDiff: diff.maxAbsDiff };
      } finally {
        loaded.model.dispose();
      }
      verifiedAt = size;
    }
    makeFolder(s.output);
    rmSync(join(s.output, FILES.manifest), { force: true });
    for (const f of [FILES.model, FILES.weights, FILES.manifest]) renameSync(join(staging, f), join(s.output, f));
    // What a stock tfjs needs beside model.json: unetc's layer classes and rank-5 BatchNorm.
    writeFileAtomicSync(join(s.output, LAYERS_MODULE), readFileSync(layersModule));
    return verifiedAt ? { ok: true, verifiedAt } : { ok: true };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
