import type { LayersModel } from '@tensorflow/tfjs';
import { getWeights } from '../compiler/backends/tfjs/index.js';
import { initialWeights, type WeightMap } from '../compiler/backends/weights.js';
import { weightSpecs } from '../compiler/ir/weights.js';
import {
  compileSpec,
  hasErrors,
  inferenceGraph,
  printGraph,
  type Compiled,
  type Diagnostic,
  type Graph,
} from '../compiler/index.js';
import { isDiagnostic, readSource } from './io.js';

/** Reads and compiles a spec file; a file that cannot be read gives one diagnostic. */
export function loadSpec(path: string): Compiled & { readonly ok: boolean } {
  const source = readSource(path);
  if (isDiagnostic(source))
    return {
      document: undefined,
      spec: undefined,
      graph: undefined,
      diagnostics: [source as Diagnostic],
      omitted: 0,
      ok: false,
    };
  const compiled = compileSpec(source);
  return { ...compiled, ok: !hasErrors(compiled.diagnostics) && compiled.graph !== undefined };
}

/**
 * Why a checkpoint trained from `trained` (its spec text) does not fit `graph`, or undefined when
 * it does: a spec whose text differs (reformatted, comments edited, renamed) fits when both lower
 * to the same network; otherwise the first differing op is named. Deep-supervision heads (training
 * only) may differ.
 */
export function networkMismatch(
  graph: Graph,
  trained: { name: string; file?: string; text: string },
  specFile: string,
): string | undefined {
  const theirs = compileSpec({ name: trained.file ?? `${trained.name}.yaml`, body: trained.text }).graph;
  // The first line is the model's name, which may change without changing the network.
  const mine = printGraph(inferenceGraph(graph)).split('\n').slice(1);
  const other = theirs ? printGraph(inferenceGraph(theirs)).split('\n').slice(1) : [];
  const i = mine.findIndex((line, k) => line !== other[k]);
  if (i < 0 && mine.length === other.length) return undefined;
  const detail =
    i >= 0
      ? `: ${specFile} has '${mine[i]!.trim()}' where the checkpoint's spec has '${(other[i] ?? '(nothing)').trim()}'`
      : '';
  return `the checkpoint was trained from a different network (spec '${trained.name}'${trained.file ? `, ${trained.file}` : ''})${detail}`;
}

/** A checkpoint's weights for `graph`: every weight the checkpoint has, deep-supervision heads it lacks from the initial weights. */
export function checkpointWeights(graph: Graph, model: LayersModel, seed: number): WeightMap {
  const trained = getWeights(model);
  const initial = initialWeights(graph, seed);
  return new Map(weightSpecs(graph).map((w) => [w.name, trained.get(w.name) ?? initial.get(w.name)!]));
}
