import { assertNever, type Graph, type Op } from '../ir/index.js';
import { inferShapes, type Shape } from '../shape/index.js';
import { closestSpaced, layoutGraph, type LaidEdge } from './graph-layout.js';
import { drawLegend, drawTitle, legendSize, titleHeight, type LegendEntry } from './legend.js';
import { kernelText, sizeText } from './model.js';
import { headAt, num, Svg, textWidth } from './svg.js';
import { vizSizes, type VizSize } from './unet.js';

/** The plain graph view: every op a box (name, op, output shape), layered top to bottom. */

const MARGIN = 24;
const NODE_H = 46;
const LAYER_GAP = 36;
const NAME_SIZE = 11;
const SIZE = 10;

type Family = 'input' | 'conv' | 'down' | 'up' | 'merge' | 'pointwise' | 'output';

const FAMILY_STYLE: Record<Family, { fill: string; stroke: string; text: string }> = {
  input: { fill: '#e6e6e6', stroke: '#555555', text: 'input' },
  conv: { fill: '#dbe8f6', stroke: '#3b6ea5', text: 'convolution' },
  down: { fill: '#f8dcd8', stroke: '#c0392b', text: 'pooling, global pooling' },
  up: { fill: '#d8efe0', stroke: '#2e8b57', text: 'transposed conv, upsampling' },
  merge: { fill: '#ece4f3', stroke: '#7a5a9a', text: 'concat, add, crop, multiply' },
  pointwise: { fill: '#fbf3d5', stroke: '#b08d1a', text: 'activation, BatchNorm, dropout' },
  output: { fill: '#fde3c8', stroke: '#c0651a', text: 'output' },
};

function family(op: Op): Family {
  switch (op.kind) {
    case 'Input':
      return 'input';
    case 'Conv':
      return 'conv';
    case 'Pool':
    case 'GlobalAvgPool':
      return 'down';
    case 'ConvTranspose':
    case 'Upsample':
      return 'up';
    case 'Concat':
    case 'Add':
    case 'Crop':
    case 'Multiply':
      return 'merge';
    case 'BatchNorm':
    case 'Activation':
    case 'Dropout':
      return 'pointwise';
    case 'Output':
      return 'output';
    default:
      return assertNever(op);
  }
}

/** An op in a few words: "conv 3x3, 8 filters", "maxpool 2x2", "relu", "concat". */
export function opText(op: Op): string {
  const stride = (s: readonly number[]) => (s.some((v) => v > 1) ? `/${s[0]}` : '');
  switch (op.kind) {
    case 'Input':
      return `input, ${op.channels} channel${op.channels === 1 ? '' : 's'}`;
    case 'Conv':
      return `conv ${kernelText(op.kernel)}${stride(op.stride)}${op.padding === 'valid' ? ' valid' : ''}, ${op.channels} filters`;
    case 'ConvTranspose':
      return `conv-transpose ${kernelText(op.kernel)}${stride(op.stride)}, ${op.channels} filters`;
    case 'Pool':
      return `${op.mode}pool ${kernelText(op.size)}${op.stride[0] !== op.size[0] ? `/${op.stride[0]}` : ''}`;
    case 'Upsample':
      return `upsample x${op.scale[0]} ${op.mode}`;
    case 'Activation':
      return op.fn === 'leaky-relu' || op.fn === 'elu' ? `${op.fn} ${op.alpha}` : op.fn;
    case 'BatchNorm':
      return 'batchnorm';
    case 'Dropout':
      return `dropout ${op.rate}`;
    case 'Concat':
      return 'concat';
    case 'Add':
      return 'add';
    case 'Crop':
      return 'center crop';
    case 'GlobalAvgPool':
      return 'global avgpool';
    case 'Multiply':
      return 'multiply';
    case 'Output':
      return `output (${op.activation})`;
    default:
      return assertNever(op);
  }
}

const shapeText = (s: Shape | undefined) => (s ? `${sizeText(s)}x${s.c}` : '?');

/**
 * Any graph (explicit or template) as a top-to-bottom layered DAG at an input size: boxes with
 * each op's name, what it does and its output shape (HxWxC), arrows from inputs to the ops that
 * read them. Shapes past an op that does
 * not fit the size show as '?'. Deterministic (same graph and size, same bytes).
 */
export function renderGraphSvg(graph: Graph, size: VizSize): string {
  const { shapes, failure } = inferShapes(graph, ...vizSizes(size));
  const texts = new Map(
    graph.ops.map((op) => [op.name, { name: op.name, op: opText(op), shape: shapeText(shapes.get(op.name)) }]),
  );
  const widthOf = (name: string) => {
    const t = texts.get(name)!;
    return Math.max(84, textWidth(t.name, NAME_SIZE) * 1.08, textWidth(t.op, SIZE), textWidth(t.shape, SIZE)) + 16;
  };
  const layout = layoutGraph(graph.ops.map((op) => ({ id: op.name, width: widthOf(op.name), inputs: op.inputs })));

  const lines = [
    `graph: ${graph.ops.length} ops, input ${vizSizes(size).join('x')}x${graph.inputChannels} \u2192 ${failure ? `does not fit (at ${failure.op.name})` : `output ${shapeText(shapes.get(graph.ops[graph.ops.length - 1]?.name ?? ''))}`}`,
  ];
  if (graph.description) lines.push(graph.description);
  const svg = new Svg();
  const titleWidth = drawTitle(svg, MARGIN, MARGIN, graph.name, lines);
  const top = MARGIN + titleHeight(lines) + 20;
  const families = [...new Set(graph.ops.map(family))].sort(
    (a, b) => Object.keys(FAMILY_STYLE).indexOf(a) - Object.keys(FAMILY_STYLE).indexOf(b),
  );
  const entries: LegendEntry[] = families.map((f) => ({
    kind: 'box',
    fill: FAMILY_STYLE[f].fill,
    stroke: FAMILY_STYLE[f].stroke,
    text: FAMILY_STYLE[f].text,
  }));
  const contentWidth = Math.max(layout.width, titleWidth, 260);
  const legend = legendSize(entries, contentWidth);
  const left = MARGIN + (Math.max(contentWidth, legend.width) - layout.width) / 2;
  const layerTop = (layer: number) => top + layer * (NODE_H + LAYER_GAP);
  const box = (name: string) => {
    const n = layout.nodes.get(name)!;
    const w = widthOf(name);
    return { x: left + n.x - w / 2, y: layerTop(n.layer), w };
  };

  const xOf = (name: string) => layout.nodes.get(name)!.x;
  const outs = ports(
    layout.edges,
    (e) => e.from,
    (e) => e.via[0] ?? xOf(e.to),
    xOf,
    widthOf,
  );
  const ins = ports(
    layout.edges,
    (e) => e.to,
    (e) => e.via[e.via.length - 1] ?? xOf(e.from),
    xOf,
    widthOf,
  );
  for (const e of layout.edges)
    drawEdge(
      svg,
      e,
      [left + outs.get(e)!, box(e.from).y + NODE_H],
      [left + ins.get(e)!, box(e.to).y - 1],
      left,
      layerTop,
    );
  for (const op of graph.ops) {
    const b = box(op.name);
    const style = FAMILY_STYLE[family(op)];
    const t = texts.get(op.name)!;
    svg.rect(b.x, b.y, b.w, NODE_H, style.fill, style.stroke, { rx: 4, tooltip: `${t.name}: ${t.op} -> ${t.shape}` });
    const cx = b.x + b.w / 2;
    svg.text(cx, b.y + 14, t.name, { size: NAME_SIZE, anchor: 'middle', weight: 'bold', fill: '#1a1a1a' });
    svg.text(cx, b.y + 27, t.op, { size: SIZE, anchor: 'middle', fill: '#333333' });
    svg.text(cx, b.y + 40, t.shape, {
      size: SIZE,
      anchor: 'middle',
      fill: failure && t.shape === '?' ? '#c0392b' : '#555555',
    });
  }
  const legendTop = layerTop(layout.layers) - LAYER_GAP + 28;
  drawLegend(svg, MARGIN, legendTop, entries, Math.max(contentWidth, legend.width));
  return svg.toString(
    MARGIN * 2 + Math.max(contentWidth, legend.width),
    legendTop + legend.height + MARGIN,
    `${graph.name}: graph diagram`,
  );
}

/**
 * Where edges meet a box (x in layout coordinates): each as close to where it heads as the box
 * allows (an edge to the box right below leaves from the center, one to a far neighbor near
 * the corner), kept 12 px apart, in the order of where they head, so they never cross there.
 */
function ports(
  edges: readonly LaidEdge[],
  at: (e: LaidEdge) => string,
  heading: (e: LaidEdge) => number,
  xOf: (name: string) => number,
  widthOf: (name: string) => number,
): Map<LaidEdge, number> {
  const groups = new Map<string, LaidEdge[]>();
  for (const e of edges) groups.set(at(e), [...(groups.get(at(e)) ?? []), e]);
  const out = new Map<LaidEdge, number>();
  for (const [name, list] of groups) {
    const cx = xOf(name);
    const half = widthOf(name) / 2 - 8;
    const clamp = (x: number) => Math.min(cx + half, Math.max(cx - half, x));
    const sorted = [...list].sort((a, b) => heading(a) - heading(b) || a.port - b.port);
    const xs = closestSpaced(
      sorted.map((e) => clamp(heading(e))),
      sorted.map(() => 12),
    );
    sorted.forEach((e, i) => out.set(e, clamp(xs[i]!)));
  }
  return out;
}

/** An edge: down from the source, through its dummy points (vertical runs), into the target. */
function drawEdge(
  svg: Svg,
  e: LaidEdge,
  start: readonly [number, number],
  end: readonly [number, number],
  left: number,
  layerTop: (layer: number) => number,
): void {
  const sourceLayer = Math.round((start[1] - NODE_H - layerTop(0)) / (NODE_H + LAYER_GAP));
  // Each dummy is a vertical run through its layer; curves join the runs between layers.
  const runs: [number, number, number][] = e.via.map((x, i) => [
    left + x,
    layerTop(sourceLayer + 1 + i),
    layerTop(sourceLayer + 1 + i) + NODE_H,
  ]);
  let d = `M${num(start[0])} ${num(start[1])}`;
  let [px, py] = start;
  const curveTo = (x: number, y: number) => {
    if (Math.abs(x - px) < 0.05) d += ` L${num(x)} ${num(y)}`;
    else {
      const my = (py + y) / 2;
      d += ` C${num(px)} ${num(my)} ${num(x)} ${num(my)} ${num(x)} ${num(y)}`;
    }
  };
  for (const [x, y0, y1] of runs) {
    curveTo(x, y0);
    d += ` L${num(x)} ${num(y1)}`;
    [px, py] = [x, y1];
  }
  curveTo(end[0], end[1] - 6);
  svg.path(d, { stroke: '#6b7785', width: 1.3 }, headAt(end[0], end[1], 0, 1));
}
