/**
 * A tfjs checkpoint (model.json + weights.bin + unetc.json) as a `SegmentationModel`, run with a
 * tfjs engine. What it needs comes from compiling the spec text its unetc.json keeps: the same IR
 * the checkpoint was built from, so sizes and margins are exact.
 */
import { mainOutput } from '../../compiler/backends/tfjs/index.js';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { LayersModel, Tensor } from '@tensorflow/tfjs';
import type { Graph } from '../../compiler/ir/types.js';
import { inferShapes, validSizes } from '../../compiler/shape/infer.js';
import { selectEngine, type Engine } from '../backend/index.js';
import { FILES, loadCheckpoint, recordedGraph, type CheckpointManifest } from '../checkpoint/index.js';
import type { HWC } from '../data/index.js';
import {
  activate,
  inputNormalization,
  ModelError,
  parseNormalization,
  type InputNormalization,
  type SegmentationModel,
} from './model.js';
import { fromList, progression, type SizeRule } from './sizes.js';

/** A recorded normalization: a name, or the data module's `{ mode }` settings; undefined when absent or unreadable. */
function recorded(value: unknown, file: string): InputNormalization | undefined {
  if (typeof value === 'string') return parseNormalization(value, file);
  const mode = typeof value === 'object' && value !== null ? (value as { mode?: unknown }).mode : undefined;
  return typeof mode === 'string'
    ? parseNormalization(mode === 'none' ? 'none' : `${mode}-per-image`, file)
    : undefined;
}

/**
 * The normalization a checkpoint was trained with: what its unetc.json records, else what the
 * run.json of the run folder it sits in (best/, last/) records, else what the spec it records says
 * (`input.normalize`: a checkpoint copied out of its run, a tfjs export), else the per-image
 * z-score (a checkpoint whose network cannot be rebuilt; every unetc run before `input.normalize`
 * trained that way).
 */
export function normalizationOf(manifest: CheckpointManifest, dir: string): InputNormalization {
  const manifestFile = join(dir, FILES.manifest);
  const m = manifest as unknown as Record<string, unknown>;
  const own = recorded(m.input_normalization ?? m.inputNormalization ?? m.normalization, manifestFile);
  if (own) return own;
  const runFile = join(dirname(dir), 'run.json');
  if (existsSync(runFile)) {
    let run: unknown;
    try {
      run = JSON.parse(readFileSync(runFile, 'utf8'));
    } catch {
      run = undefined; // not ours to judge here: the checkpoint itself is fine
    }
    const fromRun =
      typeof run === 'object' && run !== null
        ? recorded((run as { inputNormalization?: unknown }).inputNormalization, runFile)
        : undefined;
    if (fromRun) return fromRun;
  }
  const graph = recordedGraph(manifest);
  return typeof graph === 'string' ? 'zscore-per-image' : inputNormalization(graph);
}

function sizesOf(graph: Graph): { height: SizeRule; width: SizeRule } {
  if (graph.inputSize !== 'any')
    return { height: progression(graph.inputSize[0]!, 0), width: progression(graph.inputSize[1]!, 0) };
  return { height: fromList(validSizes(graph, 0)), width: fromList(validSizes(graph, 1)) };
}

/** Pixels lost per side, from the shape functions at the smallest accepted size. */
function marginOf(graph: Graph, sizes: { height: SizeRule; width: SizeRule }, file: string): [number, number] {
  const h = sizes.height.atLeast(1)!;
  const w = sizes.width.atLeast(1)!;
  const output = graph.ops.find((op) => op.kind === 'Output');
  const shape = output && inferShapes(graph, h, w).shapes.get(output.name);
  const mh = shape ? (h - shape.h) / 2 : NaN;
  const mw = shape ? (w - shape.w) / 2 : NaN;
  if (!(Number.isInteger(mh) && Number.isInteger(mw) && mh >= 0 && mw >= 0))
    throw new ModelError(file, 'its output is not the input less an equal margin on each side');
  return [mh, mw];
}

/**
 * A SegmentationModel around an in-memory tfjs model of `graph` (a loaded checkpoint, or the model
 * being trained: validation predicts as `unetc predict` does). `close` disposes the model.
 */
export function segmentationModelOf(
  engine: Engine,
  model: LayersModel,
  graph: Graph,
  where: { readonly path: string; readonly normalization: InputNormalization; readonly file?: string },
): SegmentationModel {
  const sizes = sizesOf(graph);
  const info = {
    path: where.path,
    format: 'tfjs' as const,
    name: graph.name,
    inputChannels: graph.inputChannels,
    classes: graph.classes,
    activation: graph.activation,
    threshold: graph.threshold,
    classNames: graph.classNames,
    normalization: where.normalization,
    sizes,
    margin: marginOf(graph, sizes, where.file ?? where.path),
    ...(graph.instances ? { instances: graph.instances } : {}),
    ...(graph.split ? { split: graph.split } : {}),
  };
  const tf = engine.tf;
  return {
    info,
    engine: engine.description,
    run: async (tile: HWC<Float32Array>) => {
      const out = tf.tidy(() =>
        mainOutput(
          model.predict(tf.tensor(tile.data, [1, tile.height, tile.width, tile.channels])) as Tensor | Tensor[],
        ),
      );
      try {
        const [, h, w, c] = out.shape;
        const data = (await out.data()) as Float32Array;
        // A fresh copy: the engine may reuse the buffer, and `activate` writes in place.
        const result = { height: h!, width: w!, channels: c!, data: Float32Array.from(data) };
        if (info.activation === 'none') activate(result.data, c!);
        return result;
      } finally {
        out.dispose();
      }
    },
    close: async () => {
      model.dispose();
    },
  };
}

/** Loads a checkpoint folder; `backend` picks the tfjs engine as `--backend` does. */
export async function loadTfjsModel(
  dir: string,
  options: { readonly backend?: string } = {},
): Promise<SegmentationModel> {
  const engine = await selectEngine(options.backend);
  const { model, manifest } = await loadCheckpoint(engine.tf, dir);
  try {
    const manifestFile = join(dir, FILES.manifest);
    const graph = recordedGraph(manifest);
    if (typeof graph === 'string') throw new ModelError(manifestFile, graph);
    return segmentationModelOf(engine, model, graph, {
      path: dir,
      normalization: normalizationOf(manifest, dir),
      file: manifestFile,
    });
  } catch (e) {
    model.dispose();
    throw e;
  }
}
