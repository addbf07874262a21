/**
 * What the pure shape functions say about every input size the exported model may see. The
 * ONNX graph has symbolic H and W, so any choice that depends on the size (a stride-2 'same'
 * conv's padding, whether the output keeps the input's size) is decided over all valid sizes.
 */
import type { Graph, Op } from '../../ir/index.js';
import { describeSizes, inferAxis, SIZE_LIMIT, validSizes, type Axis } from '../../shape/index.js';

export interface AxisProfile {
  readonly axis: Axis;
  /** Input sizes the network accepts on this axis: all up to SIZE_LIMIT, or the spec's fixed one. */
  readonly validSizes: readonly number[];
  /** For each valid input size (same order), every op's output size on this axis. */
  readonly runs: readonly ReadonlyMap<string, number>[];
}

/** Runs the shape functions over every candidate input size of one axis. */
export function axisProfile(graph: Graph, axis: Axis): AxisProfile {
  const candidates =
    graph.inputSize === 'any' ? Array.from({ length: SIZE_LIMIT }, (_, i) => i + 1) : [graph.inputSize[axis]!];
  const validSizes: number[] = [];
  const runs: Map<string, number>[] = [];
  for (const size of candidates) {
    const r = inferAxis(graph, axis, size);
    if (r.failure) continue;
    validSizes.push(size);
    runs.push(r.sizes);
  }
  return { axis, validSizes, runs };
}

/** The sizes one op's output takes across all valid inputs. */
export function sizesOf(profile: AxisProfile, opName: string): number[] {
  return profile.runs.map((r) => r.get(opName) ?? 0);
}

/**
 * The output's dim on one axis: a number for fixed-size specs; else `base` when the network
 * preserves the size for every valid input (so runtimes can tie output to input), else `${base}_out`.
 */
export function outputDim(graph: Graph, profile: AxisProfile, outputOp: string, base: string): number | string {
  const outs = sizesOf(profile, outputOp);
  if (graph.inputSize !== 'any') return outs[0] ?? 0;
  return outs.every((s, i) => s === profile.validSizes[i]) ? base : `${base}_out`;
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/** The step between valid sizes (16 for a depth-4 U-Net, also for the 2015 one's 188 + 16k). */
export function spatialStep(sizes: readonly number[]): number {
  const first = sizes[0] ?? 0;
  let step = 0;
  for (const s of sizes) step = gcd(step, s - first);
  return step === 0 ? first : step;
}

/**
 * The sizes the network itself accepts on one axis, whatever size the spec fixes (a fixed
 * [320, 480] spec still says which other sizes its weights would work at).
 */
export function networkSizes(graph: Graph, profile: AxisProfile): readonly number[] {
  return graph.inputSize === 'any' ? profile.validSizes : validSizes(graph, profile.axis);
}

/** `spatial_divisor` metadata: one number when every axis agrees, else `HxW` (`DxHxW` in 3D). */
export function spatialDivisor(...axes: readonly (readonly number[])[]): string {
  const steps = axes.map(spatialStep);
  return steps.every((s) => s === steps[0]) ? String(steps[0]) : steps.join('x');
}

/** `valid_sizes` metadata, in the words of `unetc check` ("multiples of 16", "188 + 16k (...)"). */
export function validSizesText(...axes: readonly (readonly number[])[]): string {
  const texts = axes.map(describeSizes);
  if (texts.every((t) => t === texts[0])) return texts[0]!;
  const names = axes.length === 3 ? ['depth', 'height', 'width'] : ['height', 'width'];
  return texts.map((t, i) => `${names[i]}: ${t}`).join('; ');
}

/**
 * Explicit [top, left, bottom, right] pads ([begin per axis..., end per axis...]) for a 'same' conv, as tfjs computes them:
 * total = max((ceil(n/s) - 1) * s + k - n, 0), the odd one at the end. With stride 1 this is
 * k - 1 for every n; with stride > 1 it depends on n, so it is constant only if every valid
 * input gives this op the same total. Undefined when it is not (the caller falls back to
 * auto_pad SAME_UPPER, which is the same rule evaluated at run time).
 */
export function samePads(
  op: Op & { readonly kernel: readonly number[]; readonly stride: readonly number[] },
  axes: readonly AxisProfile[],
): number[] | undefined {
  const begin: number[] = [];
  const end: number[] = [];
  for (const [axis, profile] of axes.entries()) {
    const k = op.kernel[axis]!;
    const s = op.stride[axis]!;
    const totals = new Set(
      sizesOf(profile, op.inputs[0] ?? '').map((n) => Math.max((Math.ceil(n / s) - 1) * s + k - n, 0)),
    );
    if (s === 1) totals.add(k - 1);
    if (totals.size !== 1) return undefined;
    const t = [...totals][0]!;
    begin.push(Math.floor(t / 2));
    end.push(Math.ceil(t / 2));
  }
  return [...begin, ...end];
}
