import { factorText, inferenceGraph, type DeepSupervision, type Graph } from '../ir/index.js';
import { inferShapes } from '../shape/index.js';
import { drawLegend, drawTitle, legendSize, titleHeight, type LegendEntry } from './legend.js';
import { downText, kernelText, sizeText, unetModel, unitText, upText as upText0, type UnetModel } from './model.js';
import { Svg, type LineStyle } from './svg.js';
import { layoutUnet, PLUS_RADIUS, type ArrowKind, type BoxKind } from './unet-layout.js';

/** The input size to draw the network at (every map's size follows from it); depth for 3D graphs. */
export interface VizSize {
  readonly depth?: number;
  readonly height: number;
  readonly width: number;
}

/** The size per spatial axis, as inferShapes takes it. */
export const vizSizes = (s: VizSize): number[] =>
  s.depth === undefined ? [s.height, s.width] : [s.depth, s.height, s.width];

/** A VizSize from sizes per axis ([h, w] or [d, h, w]). */
export const vizSize = (sizes: readonly number[]): VizSize =>
  sizes.length === 3
    ? { depth: sizes[0]!, height: sizes[1]!, width: sizes[2]! }
    : { height: sizes[0]!, width: sizes[1]! };

const MARGIN = 24;

/** Colors in the spirit of the 2015 figure: blue maps and convs, red pooling, green up-sampling. */
const BOX_STYLE: Record<BoxKind, { fill: string; stroke: string; dash?: string }> = {
  input: { fill: '#e6e6e6', stroke: '#555555' },
  map: { fill: '#dbe8f6', stroke: '#3b6ea5' },
  copy: { fill: '#ffffff', stroke: '#3b6ea5', dash: '3 2' },
  head: { fill: '#d3efe6', stroke: '#16876b' },
  output: { fill: '#fde3c8', stroke: '#c0651a' },
};

const ARROW_STYLE: Record<ArrowKind, LineStyle> = {
  conv: { stroke: '#2f6db5' },
  down: { stroke: '#c0392b', width: 2 },
  up: { stroke: '#2e8b57', width: 2 },
  skip: { stroke: '#7f8c8d', dash: '5 3' },
  head: { stroke: '#16876b' },
  activation: { stroke: '#c0651a' },
};

/** The conv-unit descriptions, most common first, with the blocks each one is used in. */
function unitGroups(model: UnetModel): { text: string; kernel: string; blocks: string[]; count: number }[] {
  const groups = new Map<string, { text: string; kernel: string; blocks: string[]; count: number }>();
  for (const block of [...model.encoders, model.bottleneck, ...model.decoders]) {
    for (const u of block.units) {
      const text = unitText(u);
      const g = groups.get(text) ?? { text, kernel: kernelText(u.conv.kernel), blocks: [], count: 0 };
      if (!g.blocks.includes(block.name)) g.blocks.push(block.name);
      g.count++;
      groups.set(text, g);
    }
  }
  // Stable: Map keeps first-seen order, and sort is stable for equal counts.
  return [...groups.values()].sort((a, b) => b.count - a.count);
}

function legendEntries(model: UnetModel, groups: ReturnType<typeof unitGroups>): LegendEntry[] {
  const dropout = [...model.encoders, model.bottleneck, ...model.decoders].some((b) =>
    b.units.some((u) => u.steps.includes('dropout')),
  );
  const volume = model.input.shape.d !== undefined;
  const entries: LegendEntry[] = [
    {
      kind: 'box',
      ...BOX_STYLE.map,
      text: `feature map: channels above, ${volume ? 'depth x height x width' : 'height x width'} below`,
    },
  ];
  const firstSkip = model.decoders.find((d) => d.skip)?.skip;
  if (firstSkip?.kind === 'concat')
    entries.push({ kind: 'box', ...BOX_STYLE.copy, text: 'copied encoder map (concatenated: skip + up channels)' });
  groups.forEach((g, i) => {
    const where = groups.length > 1 ? (i === 0 ? ' (other blocks)' : ` (${g.blocks.join(', ')})`) : '';
    entries.push({
      kind: 'arrow',
      direction: 'right',
      style: ARROW_STYLE.conv,
      text: `${g.text}${i === 0 && dropout ? ', dropout where set' : ''}${where}`,
    });
  });
  const enc = model.encoders[0]!;
  const factors = model.encoders
    .map((e) => (e.down.kind === 'Pool' ? e.down.stride : e.down.kind === 'Conv' ? e.down.stride : [2]))
    .flat();
  const halves = factors.every((f) => f === 2);
  entries.push({
    kind: 'arrow',
    direction: 'down',
    style: ARROW_STYLE.down,
    text: `${downText(enc.down)}${enc.down.kind === 'Conv' ? ' (strided conv)' : ''}: ${halves ? 'half the size' : 'each axis divided by the window (per level, as labelled)'}`,
  });
  const dec = model.decoders[0]!;
  const uniform = model.decoders.every((d) => upText0(d) === upText0(dec));
  const upText =
    dec.resize?.kind === 'Upsample'
      ? `${dec.resize.mode} upsampling x${dec.resize.scale[0]}, then conv 2x2`
      : uniform
        ? `${upText0(dec)} (transposed conv, stride ${dec.up.kind === 'ConvTranspose' ? factorText(dec.up.stride) : 2})`
        : 'up-conv (transposed conv; window and stride per level, as labelled)';
  entries.push({ kind: 'arrow', direction: 'up', style: ARROW_STYLE.up, text: upText });
  if (firstSkip) {
    const how =
      firstSkip.kind === 'add'
        ? 'add (encoder map + up-sampled map)'
        : firstSkip.crop
          ? 'crop+concat (center crop of the encoder map)'
          : 'concat (copy of the encoder map)';
    entries.push({ kind: 'arrow', direction: 'right', style: ARROW_STYLE.skip, text: `skip: ${how}` });
  }
  entries.push({
    kind: 'arrow',
    direction: 'right',
    style: ARROW_STYLE.head,
    text: `conv ${volume ? '1x1x1' : '1x1'}: one channel per class`,
  });
  if (model.activation !== 'none')
    entries.push({
      kind: 'arrow',
      direction: 'right',
      style: ARROW_STYLE.activation,
      text: `${model.activation} (output activation)`,
    });
  if (!firstSkip) entries.push({ kind: 'note', text: 'no skip connections' });
  const blocks = [...model.encoders, model.bottleneck, ...model.decoders];
  const tagged = (pick: (b: (typeof blocks)[number]) => boolean) => {
    const names = blocks.filter(pick).map((b) => b.name);
    return names.length === blocks.length ? 'every block' : names.join(', ');
  };
  if (blocks.some((b) => b.residual))
    entries.push({
      kind: 'note',
      text: `res: residual blocks (input added to output, 1x1 conv where channels change) in ${tagged((b) => b.residual)}`,
    });
  const gated = model.decoders.filter((d) => d.skip?.from.op === `${d.name}.att_scale`).map((d) => d.name);
  if (gated.length > 0)
    entries.push({
      kind: 'note',
      text: `att: attention gates (Oktay et al. 2018) scale the skips into ${gated.length === model.decoders.length ? 'every decoder' : gated.join(', ')}`,
    });
  if (blocks.some((b) => b.se > 0))
    entries.push({
      kind: 'note',
      text: `SE: squeeze-excitation after the last conv unit (ratio ${mostCommon(blocks.filter((b) => b.se > 0).map((b) => b.se))}) in ${tagged((b) => b.se > 0)}`,
    });
  return entries;
}

/** The value that occurs most often (the first of equals). */
function mostCommon(values: readonly number[]): number {
  const counts = new Map<number, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts].reduce((best, e) => (e[1] > best[1] ? e : best), [0, 0])[0];
}

/** Reads the U structure and shapes, or explains why there are none. */
function modelAt(training: Graph, size: VizSize): UnetModel {
  // Deep-supervision heads are drawn as a note, not as boxes: the U is the inference graph.
  const graph = inferenceGraph(training);
  const { shapes, failure } = inferShapes(graph, ...vizSizes(size));
  if (failure)
    throw new RangeError(
      `input ${vizSizes(size).join('x')} does not fit ${graph.name}: at ${failure.op.name}, ${failure.reason} (check it with checkInputSize first)`,
    );
  const model = unetModel(graph, shapes);
  if (!model)
    throw new RangeError(
      `${graph.name} is not a template U-Net (enc1..encN, bottleneck, decN..dec1): draw it with renderGraphSvg`,
    );
  return model;
}

/**
 * The classic U-shaped diagram of a template network at an input size: one row of feature-map
 * boxes per level, channels and height x width on every map, conv, pooling, up-sampling and
 * skip arrows, the head, a title and a legend. Deterministic (same graph and size, same bytes).
 * Throws a RangeError when the size does not fit (`checkInputSize` first) or the graph is not a
 * template network (`isUnetGraph`).
 */
export function renderUnetSvg(graph: Graph, size: VizSize): string {
  const model = modelAt(graph, size);
  const groups = unitGroups(model);
  const input = model.input.shape;
  const out = model.output.shape;
  const lines = [
    `U-Net, depth ${model.encoders.length}: input ${sizeText(input)}x${input.c} \u2192 output ${sizeText(out)}x${out.c}${model.activation !== 'none' ? ` (${model.activation})` : ''}`,
    ...(graph.description ? [graph.description] : []),
    ...(graph.deepSupervision ? [deepSupervisionText(graph.deepSupervision, graph.activation)] : []),
  ];
  const top = MARGIN + titleHeight(lines) + 36;
  const scene = layoutUnet(model, MARGIN, top, groups[0]?.kernel ?? '');
  const entries = legendEntries(model, groups);

  const svg = new Svg();
  const titleWidth = drawTitle(svg, MARGIN, MARGIN, graph.name, lines);
  const contentWidth = Math.max(scene.right - MARGIN, titleWidth);
  const legend = legendSize(entries, contentWidth);
  const width = MARGIN + Math.max(contentWidth, legend.width) + MARGIN;
  const legendTop = scene.bottom + 18;
  for (const a of scene.arrows) svg.arrow(a.points, ARROW_STYLE[a.kind]);
  for (const p of scene.plus) svg.plus(p.x, p.y, PLUS_RADIUS, ARROW_STYLE.skip.stroke);
  for (const b of scene.boxes) {
    const s = BOX_STYLE[b.kind];
    const shape = b.box.shape;
    svg.rect(b.x, b.y, b.w, b.h, s.fill, s.stroke, {
      ...(s.dash !== undefined ? { dash: s.dash } : {}),
      tooltip: `${b.box.op}: ${sizeText(shape)}x${shape.c}`,
    });
  }
  for (const t of scene.labels)
    svg.text(t.x, t.y, t.text, { size: t.size, anchor: t.anchor, fill: t.size < 10 ? '#444444' : '#1a1a1a' });
  drawLegend(svg, MARGIN, legendTop, entries, Math.max(contentWidth, legend.width));
  return svg.toString(width, legendTop + legend.height + MARGIN, `${graph.name}: U-Net diagram`);
}

/** The subtitle line of a network with deep-supervision heads. */
function deepSupervisionText(ds: DeepSupervision, activation: string): string {
  const heads = ds.heads.map((h) => `dec${h.level} (1/${factorText(h.factor)})`).join(', ');
  return `deep supervision while training: 1x1 conv${activation !== 'none' ? ` + ${activation}` : ''} heads on ${heads}, loss weights ${ds.heads.map((h) => h.weight.toFixed(3)).join(', ')} (main ${ds.mainWeight.toFixed(3)}); not exported`;
}

/** Whether `renderUnetSvg` can draw this graph (a template network's op names). */
export function isUnetGraph(training: Graph, size: VizSize): boolean {
  const graph = inferenceGraph(training);
  const { shapes, failure } = inferShapes(graph, ...vizSizes(size));
  return !failure && unetModel(graph, shapes) !== undefined;
}
