import { Codes, error, type Diagnostic, type Span } from '../diagnostics/index.js';
import type { Graph } from '../ir/index.js';
import {
  axisName,
  describeSizes,
  formatSize,
  inferAxis,
  inferShapes,
  nearestSizes,
  SIZE_LIMIT,
  someSizeFits,
  spatialAxes,
  validSizes,
} from './infer.js';

/**
 * Checks one input size ([height, width], or [depth, height, width] for a 3D graph); on failure
 * says which op (and so which level) fails, why, and which sizes would work. `span` is where the
 * size came from (the spec's input.size), if anywhere.
 */
export function checkInputSize(
  graph: Graph,
  size: readonly number[],
  span: Span | undefined,
  origin: string,
): Diagnostic[] {
  const { failure } = inferShapes(graph, ...size);
  if (!failure) return [];
  const axis = failure.axis;
  const name = (a: number) => axisName(a, graph.dims);
  const requested = size[axis]!;
  const sizes = validSizes(graph, axis);
  const notes = [`${name(axis)}s that work: ${describeSizes(sizes)}`];
  const near = nearestSizes(sizes, requested);
  if (near.length > 0) notes.push(`nearest to ${requested}: ${near.join(' and ')}`);
  for (const other of spatialAxes(graph)) {
    if (other === axis) continue;
    const otherSizes = validSizes(graph, other);
    if (!otherSizes.includes(size[other]!))
      notes.push(
        `the ${name(other)} ${size[other]} does not fit either: ${name(other)}s that work: ${describeSizes(otherSizes)}`,
      );
  }
  return [
    error(
      Codes.sizeDoesNotFit,
      `input ${formatSize(size)}${origin} does not fit: at ${failure.op.name} the ${name(axis)} is ${failure.size}: ${failure.reason}`,
      span ?? failure.op.span,
      notes,
    ),
  ];
}

/** For specs that accept any size: at least one size must work on each axis (one error for all). */
export function checkSomeSizeFits(graph: Graph, span: Span | undefined, template: boolean): Diagnostic[] {
  const axes = spatialAxes(graph);
  const failing = axes.filter((axis) => !someSizeFits(graph, axis));
  if (failing.length === 0) return [];
  const names = failing.map((a) => axisName(a, graph.dims));
  const sides = names.length === 1 ? names[0]! : `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}`;
  // The size that gets deepest before failing names the op that is really in the way (a pooling
  // that drops a row at one size may pass at the next, which then fails at a merge).
  const axis = failing[0]!;
  const opIndex = new Map(graph.ops.map((op, i) => [op.name, i]));
  let deepest: { size: number; failure: NonNullable<ReturnType<typeof inferAxis>['failure']> } | undefined;
  for (let size = SIZE_LIMIT; size >= 1; size--) {
    const f = inferAxis(graph, axis, size).failure;
    if (f && (!deepest || opIndex.get(f.op.name)! > opIndex.get(deepest.failure.op.name)!))
      deepest = { size, failure: f };
  }
  const failure = deepest?.failure;
  const where = deepest ? `; even at ${deepest.size}, ${deepest.failure.op.name} fails: ${deepest.failure.reason}` : '';
  const notes = template ? ['reduce the depth, or use same padding'] : [];
  return [
    error(
      Codes.noSizeFits,
      `no input ${sides} from 1 to ${SIZE_LIMIT} fits this network${where}`,
      failure?.op.span ?? span,
      notes,
    ),
  ];
}

/** A size to show when the spec accepts any: 256 (64 for volumes) per axis if it fits, else the nearest that does. */
export function defaultSize(graph: Graph, preferred = graph.dims === 3 ? 64 : 256): number[] {
  return spatialAxes(graph).map((axis) => {
    const sizes = validSizes(graph, axis);
    if (sizes.includes(preferred) || sizes.length === 0) return preferred;
    return sizes.find((s) => s >= preferred) ?? sizes[sizes.length - 1]!;
  });
}
