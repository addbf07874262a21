import type { Span } from '../diagnostics/index.js';
import { filled, type AuxHead, type Dims, type Graph, type Spatial } from '../ir/index.js';
import { keySpan, pointer, valueSpan, type SpecDocument } from '../spec/document.js';
import {
  bottleneckFilters,
  deepSupervisionLevels,
  defaults,
  inputDims,
  levelFilters,
  type BlockTemplate,
  type Kernel,
  type NetworkSpec,
  type SpecValue,
} from '../spec/model.js';
import { GraphBuilder } from './builder.js';
import { appendHead, auxHead, graphHeader } from './head.js';

/** A block's settings after the template, per-level rates and its override are merged. */
interface BlockSettings {
  readonly name: string;
  readonly filters: number;
  readonly convs: number;
  readonly kernel: Spatial;
  readonly padding: 'same' | 'valid';
  readonly order: readonly string[];
  readonly dropout: number;
  readonly dropoutAt: 'conv' | 'block';
  readonly bias: boolean;
  readonly residual: boolean;
  /** Squeeze-excitation's reduction ratio; 0: none. */
  readonly se: number;
  readonly span: Span | undefined;
}

const toSpatial = (k: Kernel, dims: Dims): Spatial => (typeof k === 'number' ? filled(k, dims) : [...k]);

function settings(
  doc: SpecDocument,
  net: NetworkSpec,
  name: string,
  filters: number,
  level: number,
  dims: Dims,
): BlockSettings {
  const t: BlockTemplate = net.block ?? {};
  const o = net.blocks?.[name] ?? {};
  const rates = t.dropout ?? defaults.dropout;
  const levelRate = typeof rates === 'number' ? rates : (rates[level] ?? 0);
  const overridePath = pointer(['network', 'blocks', name]);
  return {
    name,
    filters: o.filters ?? filters,
    convs: o.convs ?? t.convs ?? defaults.convs,
    kernel: toSpatial(o.kernel ?? t.kernel ?? defaults.kernel, dims),
    padding: o.padding ?? t.padding ?? defaults.padding,
    order: o.order ?? t.order ?? defaults.order,
    dropout: o.dropout ?? levelRate,
    dropoutAt: o.dropout_at ?? t.dropout_at ?? defaults.dropout_at,
    bias: o.bias ?? t.bias ?? defaults.bias,
    residual: o.residual ?? t.residual ?? defaults.residual,
    se: o.se ?? t.se ?? defaults.se,
    span: net.blocks?.[name]
      ? keySpan(doc, overridePath)
      : (valueSpan(doc, '/network/block') ?? valueSpan(doc, '/network')),
  };
}

/** Lowers a template network: encoder levels, bottleneck, decoder levels, head. */
export function lowerTemplate(doc: SpecDocument, spec: SpecValue): Graph {
  const net = spec.network!;
  const t = net.block ?? {};
  const b = new GraphBuilder();
  const dims = inputDims(spec);
  const one = filled(1, dims);
  const two = filled(2, dims);
  /** The down-sampling factor after encoder level `level` (and the up-sampling into decoder level `level`). */
  const poolOf = (level: number): Spatial => toSpatial(net.blocks?.[`enc${level}`]?.pool ?? net.pool ?? 2, dims);
  const filters = levelFilters(net);
  const leakyAlpha = t.leaky_alpha ?? defaults.leaky_alpha;
  const bn = { epsilon: t.bn_epsilon ?? defaults.bn_epsilon, momentum: t.bn_momentum ?? defaults.bn_momentum };

  /** The conv units of one block; returns the block's output op. */
  const block = (s: BlockSettings, input: string): string => {
    let x = input;
    const prefix = s.name;
    for (let u = 1; u <= s.convs; u++) {
      for (const step of s.order) {
        const c = b.channels(x);
        switch (step) {
          case 'conv':
            x = b.add(`${prefix}.conv${u}`, [x], s.filters, s.span, {
              kind: 'Conv',
              kernel: s.kernel,
              stride: one,
              padding: s.padding,
              bias: s.bias,
            });
            break;
          case 'relu':
            x = b.add(`${prefix}.relu${u}`, [x], c, s.span, { kind: 'Activation', fn: 'relu', alpha: 0 });
            break;
          case 'leaky-relu':
            x = b.add(`${prefix}.lrelu${u}`, [x], c, s.span, {
              kind: 'Activation',
              fn: 'leaky-relu',
              alpha: leakyAlpha,
            });
            break;
          case 'elu':
            x = b.add(`${prefix}.elu${u}`, [x], c, s.span, {
              kind: 'Activation',
              fn: 'elu',
              alpha: defaults.elu_alpha,
            });
            break;
          case 'batchnorm':
            x = b.add(`${prefix}.bn${u}`, [x], c, s.span, { kind: 'BatchNorm', ...bn });
            break;
          case 'dropout':
            if (s.dropout > 0 && s.dropoutAt === 'conv')
              x = b.add(`${prefix}.drop${u}`, [x], c, s.span, { kind: 'Dropout', rate: s.dropout });
            break;
        }
      }
    }
    if (s.se > 0) x = squeezeExcite(s, x);
    if (s.residual) x = residual(s, input, x);
    if (s.dropout > 0 && s.dropoutAt === 'block')
      x = b.add(`${prefix}.drop`, [x], b.channels(x), s.span, { kind: 'Dropout', rate: s.dropout });
    return x;
  };

  /**
   * Squeeze-excitation (Hu et al. 2018) of a block's output x: global average pool, 1x1 conv to
   * max(1, floor(C / r)) and ReLU, 1x1 conv to C and sigmoid, then x times that per-channel gate.
   * The two 1x1 convs are the paper's fully connected layers, with their biases.
   */
  const squeezeExcite = (s: BlockSettings, x: string): string => {
    const c = b.channels(x);
    const hidden = Math.max(1, Math.floor(c / s.se));
    const n = (suffix: string) => `${s.name}.se_${suffix}`;
    const conv1x1 = { kind: 'Conv', kernel: one, stride: one, padding: 'valid', bias: true } as const;
    let g = b.add(n('pool'), [x], c, s.span, { kind: 'GlobalAvgPool' });
    g = b.add(n('reduce'), [g], hidden, s.span, conv1x1);
    g = b.add(n('relu'), [g], hidden, s.span, { kind: 'Activation', fn: 'relu', alpha: 0 });
    g = b.add(n('expand'), [g], c, s.span, conv1x1);
    g = b.add(n('gate'), [g], c, s.span, { kind: 'Activation', fn: 'sigmoid', alpha: 0 });
    return b.add(n('scale'), [x, g], c, s.span, { kind: 'Multiply' });
  };

  /**
   * The residual connection (He et al. 2016) of a block from `input` to its output x: identity
   * when the channels agree, else a 1x1 projection (with BatchNorm when the block's order has
   * one); under 'valid' padding the shortcut is center-cropped to x first (cropping before the
   * 1x1 conv gives the same numbers for fewer multiply-adds).
   */
  const residual = (s: BlockSettings, input: string, x: string): string => {
    let sc = input;
    if (s.padding === 'valid') sc = b.add(`${s.name}.res_crop`, [sc, x], b.channels(sc), s.span, { kind: 'Crop' });
    if (b.channels(sc) !== b.channels(x)) {
      sc = b.add(`${s.name}.proj`, [sc], b.channels(x), s.span, {
        kind: 'Conv',
        kernel: one,
        stride: one,
        padding: 'valid',
        bias: s.bias,
      });
      if (s.order.includes('batchnorm'))
        sc = b.add(`${s.name}.proj_bn`, [sc], b.channels(x), s.span, { kind: 'BatchNorm', ...bn });
    }
    return b.add(`${s.name}.residual`, [x, sc], b.channels(x), s.span, { kind: 'Add' });
  };

  let x = b.add('input', [], spec.input.channels, valueSpan(doc, '/input'), { kind: 'Input' });
  const skips: string[] = [];
  const downSpan = valueSpan(doc, '/network/down') ?? valueSpan(doc, '/network/depth');
  const down = net.down ?? defaults.down;
  for (let level = 1; level <= net.depth; level++) {
    const out = block(settings(doc, net, `enc${level}`, filters[level - 1] ?? 1, level - 1, dims), x);
    skips.push(out);
    const c = b.channels(out);
    x =
      down === 'conv'
        ? b.add(`enc${level}.down`, [out], c, downSpan, {
            kind: 'Conv',
            kernel: poolOf(level),
            stride: poolOf(level),
            padding: 'valid',
            bias: true,
          })
        : b.add(`enc${level}.pool`, [out], c, downSpan, {
            kind: 'Pool',
            mode: down === 'maxpool' ? 'max' : 'avg',
            size: poolOf(level),
            stride: poolOf(level),
          });
  }
  x = block(settings(doc, net, 'bottleneck', bottleneckFilters(net), net.depth, dims), x);

  // Unpadded convs shrink the decoder path more than the encoder's: skips are center-cropped.
  const anyValid = t.padding === 'valid' || Object.values(net.blocks ?? {}).some((o) => o.padding === 'valid');
  const up = net.up ?? defaults.up;
  const skip = net.skip ?? defaults.skip;
  const upSpan = valueSpan(doc, '/network/up') ?? valueSpan(doc, '/network/depth');
  const skipSpan = valueSpan(doc, '/network/skip') ?? valueSpan(doc, '/network/depth');
  const attention = net.attention ?? defaults.attention;
  const attSpan = valueSpan(doc, '/network/attention') ?? skipSpan;
  /**
   * An additive attention gate (Oktay et al. 2018) on the skip x, gated by the decoder's
   * up-sampled map g (already at x's size, so no resampling): F_int = max(1, floor(F_l / 2)),
   * q = ReLU(Conv1x1(x) + Conv1x1(g)), alpha = Sigmoid(Conv1x1(q) to 1 channel), x * alpha
   * (the 1-channel map broadcast over x's channels). All three 1x1 convs have biases.
   */
  const attentionGate = (name: string, x: string, g: string): string => {
    const fl = b.channels(x);
    const fInt = Math.max(1, Math.floor(fl / 2));
    const n = (suffix: string) => `${name}.att_${suffix}`;
    const conv1x1 = { kind: 'Conv', kernel: one, stride: one, padding: 'valid', bias: true } as const;
    const ax = b.add(n('x'), [x], fInt, attSpan, conv1x1);
    const ag = b.add(n('g'), [g], fInt, attSpan, conv1x1);
    let q = b.add(n('add'), [ax, ag], fInt, attSpan, { kind: 'Add' });
    q = b.add(n('relu'), [q], fInt, attSpan, { kind: 'Activation', fn: 'relu', alpha: 0 });
    q = b.add(n('psi'), [q], 1, attSpan, conv1x1);
    q = b.add(n('sigmoid'), [q], 1, attSpan, { kind: 'Activation', fn: 'sigmoid', alpha: 0 });
    return b.add(n('scale'), [x, q], fl, attSpan, { kind: 'Multiply' });
  };
  const dsLevels = deepSupervisionLevels(net);
  const heads: AuxHead[] = [];
  for (let level = net.depth; level >= 1; level--) {
    const s = settings(doc, net, `dec${level}`, filters[level - 1] ?? 1, level - 1, dims);
    const name = s.name;
    let y =
      up === 'transpose'
        ? b.add(`${name}.up`, [x], s.filters, upSpan, {
            kind: 'ConvTranspose',
            kernel: poolOf(level),
            stride: poolOf(level),
            padding: 'same',
            bias: true,
          })
        : b.add(
            `${name}.up`,
            [b.add(`${name}.resize`, [x], b.channels(x), upSpan, { kind: 'Upsample', scale: poolOf(level), mode: up })],
            s.filters,
            upSpan,
            {
              kind: 'Conv',
              kernel: two,
              stride: one,
              padding: 'same',
              bias: true,
            },
          );
    if (skip !== 'none') {
      let from = skips[level - 1]!;
      if (anyValid) from = b.add(`${name}.crop`, [from, y], b.channels(from), skipSpan, { kind: 'Crop' });
      if (attention) from = attentionGate(name, from, y);
      y =
        skip === 'concat'
          ? b.add(`${name}.concat`, [from, y], b.channels(from) + b.channels(y), skipSpan, { kind: 'Concat' })
          : b.add(`${name}.add`, [from, y], b.channels(y), skipSpan, { kind: 'Add' });
    }
    x = block(s, y);
    if (dsLevels.includes(level)) {
      // The pooling between the input and this level, per axis.
      const factor = one.map((_, a) =>
        Array.from({ length: level - 1 }, (_, l) => poolOf(l + 1)[a]!).reduce((p, f) => p * f, 1),
      );
      heads.push({ op: auxHead(b, doc, spec, x, level), level, factor, weight: 2 ** -(level - 1) });
    }
  }
  appendHead(b, doc, spec, x);
  if (heads.length === 0) return { ...graphHeader(spec), ops: b.ops };
  const total = 1 + heads.reduce((a, h) => a + h.weight, 0);
  const deepSupervision = { mainWeight: 1 / total, heads: heads.map((h) => ({ ...h, weight: h.weight / total })) };
  return { ...graphHeader(spec), ops: b.ops, deepSupervision };
}
