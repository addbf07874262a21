/**
 * IR ops to ONNX nodes, one function per op kind, following the tfjs -> ONNX table in
 * FACTS.md: explicit pads (never auto_pad for transposed convs, never output_shape),
 * BatchNormalization in inference mode with the layer's epsilon, Resize 'asymmetric' (tfjs
 * resizes with alignCorners = halfPixelCenters = false), Concat on channels, no Dropout,
 * GlobalAveragePool and a broadcasting Mul for squeeze-excitation.
 */
import {
  assertNever,
  type ActivationOp,
  type ConvOp,
  type ConvTransposeOp,
  type Graph,
  type Op,
} from '../../ir/index.js';
import type { WeightMap } from '../weights.js';
import type { Emitter } from './emitter.js';
import { foldBatchNorm, toOnnxKernel } from './layout.js';
import { float } from './proto.js';
import type { Shape } from '../../shape/index.js';
import { samePads, type AxisProfile } from './sizes.js';

export interface LowerInputs {
  readonly graph: Graph;
  readonly weights: WeightMap;
  /** One profile per spatial axis ([h, w], or [d, h, w] for a 3D graph). */
  readonly axes: readonly AxisProfile[];
  /** Every op's shape at the one input size of a static-size export (crops become constants). */
  readonly shapes?: ReadonlyMap<string, Shape>;
}

/** Emits every op of the graph, in the IR's (topological) order. */
export function lowerGraph(em: Emitter, inputs: LowerInputs): void {
  const byName = new Map(inputs.graph.ops.map((op) => [op.name, op]));
  for (const op of inputs.graph.ops) lowerOp(em, inputs, op, byName);
  if (em.outputIsInput) em.node('Identity', ['input'], ['output'], 'output');
}

function lowerOp(em: Emitter, ctx: LowerInputs, op: Op, byName: ReadonlyMap<string, Op>): void {
  const x = () => em.tensor(op.inputs[0] ?? '');
  const y = em.tensor(op.name);
  switch (op.kind) {
    case 'Input':
    case 'Dropout': // inference: identity, so consumers read its input (Emitter.tensor)
    case 'Output':
      return;
    case 'Conv':
      return lowerConv(em, ctx, op, byName);
    case 'ConvTranspose':
      return lowerConvTranspose(em, ctx, op);
    case 'BatchNorm': {
      if (em.foldedBatchNorms.has(op.name)) return; // computed by the conv's node
      const names = ['gamma', 'beta', 'moving_mean', 'moving_variance'].map((s) => weight(em, ctx, `${op.name}/${s}`));
      // One output only: inference mode. The epsilon must be the layer's (tfjs 1e-3, ONNX's default 1e-5).
      return em.node('BatchNormalization', [x(), ...names], [y], op.name, { epsilon: float(op.epsilon) });
    }
    case 'Activation':
      return lowerActivation(em, op, x(), y);
    case 'Pool':
      return em.node(op.mode === 'max' ? 'MaxPool' : 'AveragePool', [x()], [y], op.name, {
        kernel_shape: [...op.size],
        strides: [...op.stride],
      });
    case 'Upsample': {
      const scales = em.floats([1, 1, ...op.scale]);
      const attrs: Record<string, string> =
        op.mode === 'nearest' ? { mode: 'nearest', nearest_mode: 'floor' } : { mode: 'linear' };
      return em.node('Resize', [x(), '', scales], [y], op.name, {
        coordinate_transformation_mode: 'asymmetric',
        ...attrs,
      });
    }
    case 'Concat':
      return em.node(
        'Concat',
        op.inputs.map((n) => em.tensor(n)),
        [y],
        op.name,
        { axis: 1 },
      );
    case 'Add':
      return em.node(
        op.inputs.length === 2 ? 'Add' : 'Sum',
        op.inputs.map((n) => em.tensor(n)),
        [y],
        op.name,
      );
    case 'Crop':
      return ctx.shapes ? lowerStaticCrop(em, op, y, ctx.shapes, ctx.graph.dims) : lowerCrop(em, op, y, ctx.graph.dims);
    case 'GlobalAvgPool':
      return em.node('GlobalAveragePool', [x()], [y], op.name);
    case 'Multiply':
      // NCHW [N, C, H, W] x [N, C, 1, 1]: ONNX's numpy-style broadcasting scales each channel.
      return em.node(
        'Mul',
        op.inputs.map((n) => em.tensor(n)),
        [y],
        op.name,
      );
    default:
      return assertNever(op);
  }
}

/** An ONNX-layout copy of a non-kernel weight (1-D tensors need no transposition). */
function weight(em: Emitter, ctx: LowerInputs, name: string): string {
  const w = ctx.weights.get(name)!;
  return em.weight(name, w.shape, w.data);
}

function lowerConv(em: Emitter, ctx: LowerInputs, op: ConvOp, byName: ReadonlyMap<string, Op>): void {
  const kernel = toOnnxKernel(ctx.weights.get(`${op.name}/kernel`)!);
  const bias = op.bias ? ctx.weights.get(`${op.name}/bias`)!.data : undefined;
  const attrs: Record<string, number[] | string> = { kernel_shape: [...op.kernel], strides: [...op.stride] };
  if (op.padding === 'valid') attrs.pads = [...op.kernel, ...op.kernel].map(() => 0);
  else {
    const pads = samePads(op, ctx.axes);
    // A stride > 1 conv whose padding varies with the input size: SAME_UPPER is tfjs' rule at run time.
    if (pads) attrs.pads = pads;
    else attrs.auto_pad = 'SAME_UPPER';
  }
  const x = em.tensor(op.inputs[0] ?? '');
  const bnName = em.folds.get(op.name);
  if (bnName !== undefined) {
    const bn = byName.get(bnName);
    if (bn?.kind !== 'BatchNorm') throw new Error(`'${bnName}' is not a BatchNorm`);
    const get = (s: string) => ctx.weights.get(`${bnName}/${s}`)!.data;
    const folded = foldBatchNorm(kernel.data, bias, {
      gamma: get('gamma'),
      beta: get('beta'),
      mean: get('moving_mean'),
      variance: get('moving_variance'),
      epsilon: bn.epsilon,
    });
    // New names: these values are neither the conv's nor the BatchNorm's tfjs weights.
    const k = em.weight(`${op.name}+${bnName}/kernel`, kernel.dims, folded.kernel);
    const b = em.weight(`${op.name}+${bnName}/bias`, [op.channels], folded.bias);
    return em.node('Conv', [x, k, b], [em.tensor(bnName)], op.name, attrs);
  }
  const k = em.weight(`${op.name}/kernel`, kernel.dims, kernel.data);
  const ins = bias ? [x, k, weight(em, ctx, `${op.name}/bias`)] : [x, k];
  em.node('Conv', ins, [em.tensor(op.name)], op.name, attrs);
}

/**
 * tfjs' Conv2DTranspose: output n*s ('same') or (n-1)*s + max(k, s) ('valid'). ONNX gives
 * s*(n-1) + output_padding + k - pad_begin - pad_end, so 'same' crops t = max(k-s, 0) split
 * floor/ceil (what tfjs' backprop-input padding does) and output_padding = max(s-k, 0)
 * restores the rows a kernel smaller than its stride never reaches.
 */
function lowerConvTranspose(em: Emitter, ctx: LowerInputs, op: ConvTransposeOp): void {
  const begin: number[] = [];
  const end: number[] = [];
  const outputPadding: number[] = [];
  for (const axis of op.kernel.keys()) {
    const k = op.kernel[axis]!;
    const s = op.stride[axis]!;
    const t = op.padding === 'same' ? Math.max(k - s, 0) : 0;
    begin.push(Math.floor(t / 2));
    end.push(Math.ceil(t / 2));
    outputPadding.push(Math.max(s - k, 0));
  }
  const kernel = toOnnxKernel(ctx.weights.get(`${op.name}/kernel`)!);
  const k = em.weight(`${op.name}/kernel`, kernel.dims, kernel.data);
  const ins = [em.tensor(op.inputs[0] ?? ''), k, ...(op.bias ? [weight(em, ctx, `${op.name}/bias`)] : [])];
  em.node('ConvTranspose', ins, [em.tensor(op.name)], op.name, {
    kernel_shape: [...op.kernel],
    output_padding: outputPadding,
    pads: [...begin, ...end],
    strides: [...op.stride],
  });
}

function lowerActivation(em: Emitter, op: ActivationOp, x: string, y: string): void {
  switch (op.fn) {
    case 'relu':
      return em.node('Relu', [x], [y], op.name);
    case 'sigmoid':
      return em.node('Sigmoid', [x], [y], op.name);
    case 'leaky-relu':
      return em.node('LeakyRelu', [x], [y], op.name, { alpha: float(op.alpha) });
    case 'elu':
      return em.node('Elu', [x], [y], op.name, { alpha: float(op.alpha) });
    case 'softmax':
      // Opset >= 13: Softmax normalizes along `axis` alone (older opsets flatten from it).
      return em.node('Softmax', [x], [y], op.name, { axis: 1 });
    default:
      return assertNever(op.fn);
  }
}

/** The center crop of a static-size export: starts and ends known now, one Slice of constants. */
function lowerStaticCrop(em: Emitter, op: Op, y: string, shapes: ReadonlyMap<string, Shape>, dims: number): void {
  const spatial = (s: Shape) => (dims === 3 ? [s.d!, s.h, s.w] : [s.h, s.w]);
  const src = spatial(shapes.get(op.inputs[0] ?? '')!);
  const ref = spatial(shapes.get(op.inputs[1] ?? '')!);
  const starts = src.map((n, i) => Math.floor((n - ref[i]!) / 2));
  const ends = starts.map((a, i) => a + ref[i]!);
  em.node(
    'Slice',
    [em.tensor(op.inputs[0] ?? ''), em.int64(starts), em.int64(ends), em.int64(dims === 3 ? [2, 3, 4] : [2, 3])],
    [y],
    op.name,
  );
}

/**
 * Center crop of inputs[0] to inputs[1]'s H and W (D, H and W in 3D), computed from both tensors' shapes at run
 * time: start = (H_src - H_ref) / 2 (integer division: floor, as the IR's Crop), end = start +
 * H_ref, same for W. This is right for every input size the runtime is given, with no claim
 * about which sizes are valid; it costs a few tiny int64 nodes per skip connection.
 */
function lowerCrop(em: Emitter, op: Op, y: string, dims: number): void {
  const src = em.tensor(op.inputs[0] ?? '');
  const ref = em.tensor(op.inputs[1] ?? '');
  const two = em.int64([2]);
  const four = em.int64([2 + dims]);
  const hw = (t: string, tag: string) => {
    em.node('Shape', [t], [`${op.name}/${tag}_shape`], `${op.name}/${tag}_shape`);
    em.node('Slice', [`${op.name}/${tag}_shape`, two, four], [`${op.name}/${tag}_hw`], `${op.name}/${tag}_hw`);
    return `${op.name}/${tag}_hw`;
  };
  const srcHw = hw(src, 'src');
  const refHw = hw(ref, 'ref');
  const n = (s: string) => `${op.name}/${s}`;
  em.node('Sub', [srcHw, refHw], [n('margin')], n('margin'));
  em.node('Div', [n('margin'), two], [n('start')], n('start'));
  em.node('Add', [n('start'), refHw], [n('end')], n('end'));
  em.node('Slice', [src, n('start'), n('end'), em.int64(dims === 3 ? [2, 3, 4] : [2, 3])], [y], op.name);
}
