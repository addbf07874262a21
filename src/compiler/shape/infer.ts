import { assertNever, type Graph, type Op } from '../ir/index.js';
import {
  convAxis,
  convTransposeAxis,
  cropAxis,
  globalPoolAxis,
  mergeAxis,
  poolAxis,
  scaleAxis,
  upsampleAxis,
  type AxisResult,
} from './ops.js';

/** One op's output: height, width, channels, and depth in a 3D graph. */
export interface Shape {
  /** Depth: 3D graphs only. */
  readonly d?: number;
  readonly h: number;
  readonly w: number;
  readonly c: number;
}

/** An index into a graph's spatial sizes: height 0, width 1 in 2D; depth 0, height 1, width 2 in 3D. */
export type Axis = number;
/** The axes of a graph: [0, 1], or [0, 1, 2] for a 3D graph. */
export const spatialAxes = (graph: Pick<Graph, 'dims'>): Axis[] => Array.from({ length: graph.dims ?? 2 }, (_, i) => i);
export const axisName = (axis: Axis, dims: 2 | 3 = 2) =>
  dims === 3 ? (['depth', 'height', 'width'][axis] ?? 'axis') : axis === 0 ? 'height' : 'width';
/** `12x34`, or `8x12x34` for a 3D size. */
export const formatSize = (sizes: readonly number[]) => sizes.join('x');
/** The sizes of a shape in axis order, without channels. */
export const shapeSizes = (s: Shape): number[] => (s.d === undefined ? [s.h, s.w] : [s.d, s.h, s.w]);

export interface AxisFailure {
  readonly op: Op;
  readonly axis: Axis;
  readonly reason: string;
  /** The size this op received on the failing axis. */
  readonly size: number;
}

function opAxis(op: Op, axis: Axis, inputs: readonly number[], size: number): AxisResult {
  const x = inputs[0] ?? size;
  switch (op.kind) {
    case 'Input':
      return { ok: true, size };
    case 'Conv':
      return convAxis(x, op.kernel[axis]!, op.stride[axis]!, op.padding);
    case 'ConvTranspose':
      return convTransposeAxis(x, op.kernel[axis]!, op.stride[axis]!, op.padding);
    case 'Pool':
      return poolAxis(x, op.size[axis]!, op.stride[axis]!);
    case 'Upsample':
      return upsampleAxis(x, op.scale[axis]!);
    case 'Concat':
    case 'Add':
      return mergeAxis(inputs);
    case 'Crop':
      return cropAxis(x, inputs[1] ?? x);
    case 'GlobalAvgPool':
      return globalPoolAxis(x);
    case 'Multiply':
      return scaleAxis(x, inputs[1] ?? x);
    case 'BatchNorm':
    case 'Activation':
    case 'Dropout':
    case 'Output':
      return { ok: true, size: x };
    default:
      return assertNever(op);
  }
}

/** Sizes along one axis for an input of `size`, or the first op that fails. */
export function inferAxis(
  graph: Graph,
  axis: Axis,
  size: number,
): { sizes: Map<string, number>; failure?: AxisFailure } {
  const sizes = new Map<string, number>();
  for (const op of graph.ops) {
    const ins = op.inputs.map((n) => sizes.get(n) ?? 0);
    const r = opAxis(op, axis, ins, size);
    if (!r.ok) {
      const reason =
        axis === (graph.dims ?? 2) - 1
          ? r.reason.replace('row(s)', 'column(s)')
          : axis === 0 && graph.dims === 3
            ? r.reason.replace('row(s)', 'slice(s)')
            : r.reason;
      return { sizes, failure: { op, axis, reason, size: ins[0] ?? size } };
    }
    sizes.set(op.name, r.size);
  }
  return { sizes };
}

/**
 * Every op's output shape for an input of height x width (depth x height x width for a 3D
 * graph), or the first failure.
 */
export function inferShapes(graph: Graph, ...size: number[]): { shapes: Map<string, Shape>; failure?: AxisFailure } {
  const axes = spatialAxes(graph).map((axis) => inferAxis(graph, axis, size[axis] ?? size[size.length - 1] ?? 1));
  const failure = axes.find((a) => a.failure)?.failure;
  const shapes = new Map<string, Shape>();
  for (const op of graph.ops) {
    const s = axes.map((a) => a.sizes.get(op.name));
    if (s.some((v) => v === undefined)) break;
    const [a, b, c] = s as number[];
    shapes.set(op.name, c === undefined ? { h: a!, w: b!, c: op.channels } : { d: a!, h: b!, w: c, c: op.channels });
  }
  return failure ? { shapes, failure } : { shapes };
}

/** The largest size searched for sizes that work. */
export const SIZE_LIMIT = 4096;

/** Every input size in 1..limit that the network accepts along one axis. */
export function validSizes(graph: Graph, axis: Axis, limit = SIZE_LIMIT): number[] {
  const out: number[] = [];
  for (let s = 1; s <= limit; s++) if (!inferAxis(graph, axis, s).failure) out.push(s);
  return out;
}

/** Whether some input size in 1..limit works along one axis (stops at the first). */
export function someSizeFits(graph: Graph, axis: Axis, limit = SIZE_LIMIT): boolean {
  for (let s = 1; s <= limit; s++) if (!inferAxis(graph, axis, s).failure) return true;
  return false;
}

/** "multiples of 16" / "188 + 16k (188, 204, 220, ...)" / a plain list. */
export function describeSizes(sizes: readonly number[]): string {
  if (sizes.length === 0) return 'none';
  const [a, b] = sizes;
  if (b === undefined) return `only ${a}`;
  const step = b - a!;
  const regular = sizes.every((s, i) => s === a! + i * step);
  if (!regular) return `${sizes.slice(0, 6).join(', ')}${sizes.length > 6 ? ', ...' : ''}`;
  if (a === 1 && step === 1) return 'any';
  if (a === step) return `multiples of ${step}`;
  if (step === 1) return `${a} or more`;
  return `${a} + ${step}k (${sizes.slice(0, 3).join(', ')}, ...)`;
}

/** The sizes that work just below and above `size`. */
export function nearestSizes(sizes: readonly number[], size: number): number[] {
  const below = [...sizes].reverse().find((s) => s < size);
  const above = sizes.find((s) => s > size);
  return [below, above].filter((s): s is number => s !== undefined);
}
