import { Codes, error, type Diagnostic, type Span } from '../diagnostics/index.js';
import type { Graph } from '../ir/index.js';
import { axisName, describeSizes, inferShapes, nearestSizes, SIZE_LIMIT, someSizeFits, validSizes, type Axis } from './infer.js';

/**
 * Checks one input size; on failure says which op (and so which level) fails, why, and which
 * sizes would work. `span` is where the size came from (the spec's input.size), if anywhere.
 */
export function checkInputSize(graph: Graph, height: number, width: number, span: Span | undefined, origin: string): Diagnostic[] {
  const { failure } = inferShapes(graph, height, width);
  if (!failure) return [];
  const axis = failure.axis;
  const requested = axis === 0 ? height : width;
  const sizes = validSizes(graph, axis);
  const notes = [`${axisName(axis)}s that work: ${describeSizes(sizes)}`];
  const near = nearestSizes(sizes, requested);
  if (near.length > 0) notes.push(`nearest to ${requested}: ${near.join(' and ')}`);
  const otherAxis = (1 - axis) as Axis;
  const otherSize = otherAxis === 0 ? height : width;
  const otherSizes = validSizes(graph, otherAxis);
  if (!otherSizes.includes(otherSize)) notes.push(`the ${axisName(otherAxis)} ${otherSize} does not fit either: ${axisName(otherAxis)}s that work: ${describeSizes(otherSizes)}`);
  return [
    error(
      Codes.sizeDoesNotFit,
      `input ${height}x${width}${origin} does not fit: at ${failure.op.name} the ${axisName(axis)} is ${failure.size}: ${failure.reason}`,
      span ?? failure.op.span,
      notes,
    ),
  ];
}

/** For specs that accept any size: at least one size must work on each axis (one error for both). */
export function checkSomeSizeFits(graph: Graph, span: Span | undefined, template: boolean): Diagnostic[] {
  const failing = ([0, 1] as const).filter((axis) => !someSizeFits(graph, axis));
  if (failing.length === 0) return [];
  const sides = failing.length === 2 ? 'height or width' : axisName(failing[0]!);
  // The largest size gets deepest before failing: its failure names the op that runs out of room.
  const { failure } = inferShapes(graph, SIZE_LIMIT, SIZE_LIMIT);
  const where = failure ? `; even at ${SIZE_LIMIT}, ${failure.op.name} fails: ${failure.reason}` : '';
  const notes = template ? ['reduce the depth, or use same padding'] : [];
  return [error(Codes.noSizeFits, `no input ${sides} from 1 to ${SIZE_LIMIT} fits this network${where}`, failure?.op.span ?? span, notes)];
}

/** A size to show when the spec accepts any: 256 if it fits, else the nearest that does. */
export function defaultSize(graph: Graph, preferred = 256): [number, number] {
  const pick = (axis: Axis) => {
    const sizes = validSizes(graph, axis);
    if (sizes.includes(preferred) || sizes.length === 0) return preferred;
    return sizes.find((s) => s >= preferred) ?? sizes[sizes.length - 1]!;
  };
  return [pick(0), pick(1)];
}
