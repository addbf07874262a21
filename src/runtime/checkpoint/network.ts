/**
 * Whether a checkpoint's (or a run's) weights fit a graph, and the weights a graph takes from
 * one: compile, train --init and train --resume ask the same questions.
 */
import type { LayersModel } from '@tensorflow/tfjs';
import { getWeights } from '../../compiler/backends/tfjs/index.js';
import { initialWeights, type WeightMap } from '../../compiler/backends/weights.js';
import { inferenceGraph, type Graph } from '../../compiler/ir/index.js';
import { printGraph } from '../../compiler/ir/print.js';
import { weightSpecs } from '../../compiler/ir/weights.js';
import { recordedGraph, type NetworkRecord } from './graph.js';

/**
 * Why weights trained as `record` says (a checkpoint's unetc.json, a run's run.json) do not fit
 * `graph`, or undefined when they do: a spec whose text differs (reformatted, comments edited,
 * renamed, another mask threshold or instance split) fits when both are the same network;
 * otherwise the first differing op is named.
 * Deep-supervision heads (training only) may differ.
 */
export function networkMismatch(graph: Graph, record: NetworkRecord, specFile: string): string | undefined {
  const trained = record.spec;
  const theirs = recordedGraph(record);
  const mine = networkLines(graph);
  const other = typeof theirs === 'string' ? [] : networkLines(theirs);
  const i = mine.findIndex((line, k) => line !== other[k]);
  if (i < 0 && mine.length === other.length) return undefined;
  if (typeof theirs !== 'string' && (theirs.normalize ?? 'zscore') !== (graph.normalize ?? 'zscore')) {
    const same = networkMismatch({ ...graph, normalize: theirs.normalize }, record, specFile) === undefined;
    // The same weights' shapes, other input values: say that, not "another network".
    if (same)
      return `the checkpoint was trained on inputs normalized by ${theirs.normalize ?? 'zscore'} and ${specFile} says input.normalize: ${graph.normalize ?? 'zscore'}: its weights expect other values (use the spec it was trained with, or train from scratch)`;
  }
  const detail =
    i >= 0
      ? `: ${specFile} has '${mine[i]!.trim()}' where the checkpoint's spec has '${(other[i] ?? '(nothing)').trim()}'`
      : '';
  return `the checkpoint was trained from a different network (spec '${trained.name}'${trained.file ? `, ${trained.file}` : ''})${detail}`;
}

/**
 * The printed graph without what may change without changing the network: the first line (the
 * model's name), and the mask threshold and instance split (post-processing of the output).
 */
function networkLines(graph: Graph): string[] {
  const { split: _, ...network } = inferenceGraph(graph);
  return printGraph({ ...network, threshold: 0.5 })
    .split('\n')
    .slice(1);
}

/** A checkpoint's weights for `graph`: every weight the checkpoint has, deep-supervision heads it lacks from the initial weights. */
export function checkpointWeights(graph: Graph, model: LayersModel, seed: number): WeightMap {
  const trained = getWeights(model);
  const initial = initialWeights(graph, seed);
  return new Map(weightSpecs(graph).map((w) => [w.name, trained.get(w.name) ?? initial.get(w.name)!]));
}
