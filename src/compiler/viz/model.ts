import type { ConvOp, Graph, Op } from '../ir/index.js';
import type { Shape } from '../shape/index.js';

/**
 * What the U view draws, read off a template network's IR by its stable op names (enc1.conv1,
 * enc1.pool, bottleneck.conv2, dec1.up, dec1.concat, head.conv, output). Layout and drawing
 * come later; this is only the network's structure with every map's shape.
 */

/** One feature map: the output of `op`. */
export interface MapBox {
  readonly op: string;
  readonly shape: Shape;
}

/** A conv unit: the conv and what follows it in the block (activation, BatchNorm, dropout). */
export interface ConvUnit {
  readonly conv: ConvOp;
  /** Output of the whole unit (the same shape as the conv's). */
  readonly box: MapBox;
  /** What follows the conv, in order: 'ReLU', 'BatchNorm', 'dropout', ... */
  readonly steps: readonly string[];
}

export interface Block {
  /** enc1..encN, bottleneck, decN..dec1. */
  readonly name: string;
  readonly units: readonly ConvUnit[];
  /** Whether the block adds its input to its output (a residual block). */
  readonly residual: boolean;
  /** Squeeze-excitation's reduction ratio (input channels / squeezed channels); 0: none. */
  readonly se: number;
}

export interface Encoder extends Block {
  /** The pooling or strided conv after the block, and its output (the next level's first map). */
  readonly down: Op;
  readonly downBox: MapBox;
}

export interface Decoder extends Block {
  /** The transposed conv, or the 2x2 conv after an upsample (`resize`). */
  readonly up: Op;
  readonly resize: Op | undefined;
  readonly upBox: MapBox;
  /** The skip connection into this level, if any: the (cropped) encoder map and the merge. */
  readonly skip:
    | { readonly kind: 'concat' | 'add'; readonly crop: boolean; readonly from: MapBox; readonly merged: MapBox }
    | undefined;
}

export interface UnetModel {
  readonly input: MapBox;
  /** enc1..encN (top to bottom). */
  readonly encoders: readonly Encoder[];
  readonly bottleneck: Block;
  /** decN..dec1 (bottom to top). */
  readonly decoders: readonly Decoder[];
  readonly head: MapBox & { readonly conv: ConvOp };
  /** The output activation ('none' when the logits are the output) and the output map. */
  readonly activation: Graph['activation'];
  readonly output: MapBox;
}

const STEP_NAMES: Record<string, string> = {
  relu: 'ReLU',
  'leaky-relu': 'leaky ReLU',
  elu: 'ELU',
  sigmoid: 'sigmoid',
  softmax: 'softmax',
};

function stepName(op: Op): string | undefined {
  if (op.kind === 'Activation') return STEP_NAMES[op.fn] ?? op.fn;
  if (op.kind === 'BatchNorm') return 'BatchNorm';
  if (op.kind === 'Dropout') return 'dropout';
  return undefined;
}

/**
 * Reads the U structure off a template network; undefined for an explicit graph (or any
 * graph whose op names are not the template's). `shapes` must hold every op (a size that fits).
 */
export function unetModel(graph: Graph, shapes: ReadonlyMap<string, Shape>): UnetModel | undefined {
  const byName = new Map(graph.ops.map((op) => [op.name, op]));
  const box = (name: string): MapBox | undefined => {
    const shape = shapes.get(name);
    return shape && byName.has(name) ? { op: name, shape } : undefined;
  };
  const block = (name: string): Block | undefined => {
    const units: { conv: ConvOp; box: MapBox; steps: string[] }[] = [];
    for (const op of graph.ops) {
      if (!op.name.startsWith(`${name}.`)) continue;
      // The shortcut, squeeze-excitation and attention-gate ops are not conv units: the diagram tags the block instead.
      if (/^(proj|res_|residual|se_|att_)/.test(op.name.slice(name.length + 1))) continue;
      if (op.kind === 'Conv' && /\.conv\d+$/.test(op.name)) {
        const b = box(op.name);
        if (!b) return undefined;
        units.push({ conv: op, box: b, steps: [] });
        continue;
      }
      const step = stepName(op);
      const last = units[units.length - 1];
      if (step !== undefined && last) last.steps.push(step);
    }
    const reduce = byName.get(`${name}.se_reduce`);
    const se =
      reduce && reduce.channels > 0
        ? Math.round((byName.get(reduce.inputs[0] ?? '')?.channels ?? 0) / reduce.channels)
        : 0;
    return units.length > 0 ? { name, units, residual: byName.get(`${name}.residual`)?.kind === 'Add', se } : undefined;
  };

  const input = box('input');
  if (!input || byName.get('input')?.kind !== 'Input') return undefined;
  let depth = 0;
  while (byName.has(`enc${depth + 1}.conv1`)) depth++;
  if (depth === 0) return undefined;

  const encoders: Encoder[] = [];
  for (let level = 1; level <= depth; level++) {
    const b = block(`enc${level}`);
    const down = byName.get(`enc${level}.pool`) ?? byName.get(`enc${level}.down`);
    const downBox = down && box(down.name);
    if (!b || !down || !downBox) return undefined;
    encoders.push({ ...b, down, downBox });
  }
  const bottleneck = block('bottleneck');
  if (!bottleneck) return undefined;

  const decoders: Decoder[] = [];
  for (let level = depth; level >= 1; level--) {
    const name = `dec${level}`;
    const b = block(name);
    const up = byName.get(`${name}.up`);
    const upBox = up && box(up.name);
    if (!b || !up || !upBox) return undefined;
    const merge = byName.get(`${name}.concat`) ?? byName.get(`${name}.add`);
    const merged = merge && box(merge.name);
    const from = merge && box(merge.inputs[0] ?? '');
    const skip =
      merge && merged && from
        ? {
            kind: merge.kind === 'Add' ? ('add' as const) : ('concat' as const),
            crop: byName.get(`${name}.crop`)?.kind === 'Crop',
            from,
            merged,
          }
        : undefined;
    decoders.push({ ...b, up, resize: byName.get(`${name}.resize`), upBox, skip });
  }

  const headConv = byName.get('head.conv');
  const head = box('head.conv');
  const output = box('output');
  if (!headConv || headConv.kind !== 'Conv' || !head || !output) return undefined;
  return {
    input,
    encoders,
    bottleneck,
    decoders,
    head: { ...head, conv: headConv },
    activation: graph.activation,
    output,
  };
}

/** "3x3" (square) or "3x5". */
export const kernelText = (k: readonly number[]): string => k.join('x');

/** "256x256": a map's height x width. */
export const sizeText = (s: Shape): string => (s.d === undefined ? `${s.h}x${s.w}` : `${s.d}x${s.h}x${s.w}`);

/** How a conv unit reads in the legend: "conv 3x3, ReLU, BatchNorm" (dropout is listed apart). */
export function unitText(u: ConvUnit): string {
  const conv = `conv ${kernelText(u.conv.kernel)}${u.conv.padding === 'valid' ? ' (unpadded)' : ''}`;
  return [conv, ...u.steps.filter((s) => s !== 'dropout')].join(', ');
}

/** The down step's label: "maxpool 2x2", "avgpool 2x2", "conv 2x2/2". */
export function downText(op: Op): string {
  if (op.kind === 'Pool') return `${op.mode}pool ${kernelText(op.size)}`;
  if (op.kind === 'Conv') return `conv ${kernelText(op.kernel)}/${op.stride[0]}`;
  return op.kind;
}

/** The up step's label: "up-conv 2x2", or "bilinear x2" / "nearest x2" (then a 2x2 conv). */
export function upText(d: Decoder): string {
  if (d.resize?.kind === 'Upsample') return `${d.resize.mode} x${d.resize.scale[0]}`;
  if (d.up.kind === 'ConvTranspose') return `up-conv ${kernelText(d.up.kernel)}`;
  return d.up.kind;
}

/** The skip's label: "concat", "crop+concat", "add". */
export function skipText(skip: NonNullable<Decoder['skip']>): string {
  return `${skip.crop ? 'crop+' : ''}${skip.kind}`;
}
