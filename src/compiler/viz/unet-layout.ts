import {
  sizeText,
  skipText,
  downText,
  upText,
  kernelText,
  type ConvUnit,
  type MapBox,
  type UnetModel,
} from './model.js';
import { textWidth } from './svg.js';

/**
 * Geometry of the U view, as in the 2015 paper's figure: one row per level (enc1/dec1 at the
 * top, the bottleneck at the bottom), each block a run of boxes left to right. A level's first
 * map sits right below (encoder) or above (decoder) the map it comes from, so pooling and
 * up-sampling arrows are vertical and the rows step inward into a U. Skips run horizontally
 * across each row. Labels go above (channels) and below (height x width) each box, except
 * where a vertical arrow meets the box: there the label moves to the arrow's side.
 */

export type BoxKind = 'input' | 'map' | 'copy' | 'head' | 'output';
export type ArrowKind = 'conv' | 'down' | 'up' | 'skip' | 'head' | 'activation';
export type Anchor = 'start' | 'middle' | 'end';

export interface Label {
  readonly x: number;
  readonly y: number;
  readonly text: string;
  readonly anchor: Anchor;
  readonly size: number;
}

export interface BoxGeom {
  readonly kind: BoxKind;
  readonly box: MapBox;
  /** Left edge, top edge, size. */
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

export interface ArrowGeom {
  readonly kind: ArrowKind;
  readonly points: readonly (readonly [number, number])[];
}

export interface UnetScene {
  readonly boxes: readonly BoxGeom[];
  readonly arrows: readonly ArrowGeom[];
  readonly labels: readonly Label[];
  /** Centers of the circled plus signs where additive skips join (radius PLUS_RADIUS). */
  readonly plus: readonly { readonly x: number; readonly y: number }[];
  /** Right and bottom edges of everything drawn. */
  readonly right: number;
  readonly bottom: number;
}

/** Box center to box center within a row, and between the last decoder map and the head. */
const PITCH = 64;
const HEAD_PITCH = 84;
/** Between one row's boxes and the next row's: room for two label lines and an arrow label. */
const GAP = 58;
const LABEL = 10;
export const PLUS_RADIUS = 6;
const SMALL = 9;

/** Box width grows with log2(channels); height shrinks with the level. */
export const boxWidth = (channels: number): number => Math.min(40, Math.max(6, 6 + 3 * Math.log2(channels)));
export const rowHeight = (level: number): number => Math.max(26, Math.round(120 * 0.72 ** level));

/**
 * Lays out the U view with its top-left corner (below the title) at (left, top). Conv arrows
 * whose kernel is not `mainKernel` (the legend's, e.g. "3x3") get the kernel as a label.
 */
export function layoutUnet(model: UnetModel, left: number, top: number, mainKernel: string): UnetScene {
  const depth = model.encoders.length;
  const rowTop: number[] = [top];
  for (let l = 0; l < depth; l++) rowTop.push(rowTop[l]! + rowHeight(l) + GAP);
  const mid = (row: number) => rowTop[row]! + rowHeight(row) / 2;

  const boxes: BoxGeom[] = [];
  const arrows: ArrowGeom[] = [];
  const labels: Label[] = [];
  const plus: { x: number; y: number }[] = [];
  const label = (x: number, y: number, text: string, anchor: Anchor = 'middle', size = LABEL) =>
    labels.push({ x, y, text, anchor, size });

  /** Places a box centered at x on a row; returns its geometry. */
  const place = (kind: BoxKind, box: MapBox, cx: number, row: number, w = boxWidth(box.shape.c)): BoxGeom => {
    const g = { kind, box, x: cx - w / 2, y: rowTop[row]!, w, h: rowHeight(row) };
    boxes.push(g);
    return g;
  };
  const right = (g: BoxGeom) => g.x + g.w;
  const center = (g: BoxGeom) => g.x + g.w / 2;
  const bottom = (g: BoxGeom) => g.y + g.h;
  const channelsAbove = (g: BoxGeom, anchor: Anchor = 'middle', text = String(g.box.shape.c)) =>
    label(anchor === 'middle' ? center(g) : anchor === 'start' ? center(g) + 5 : center(g) - 5, g.y - 5, text, anchor);
  const sizeBelow = (g: BoxGeom, anchor: Anchor = 'middle') =>
    label(
      anchor === 'middle' ? center(g) : anchor === 'start' ? center(g) + 5 : center(g) - 5,
      bottom(g) + 12,
      sizeText(g.box.shape),
      anchor,
      SMALL,
    );
  const horizontal = (kind: ArrowKind, from: BoxGeom, to: BoxGeom, row: number) =>
    arrows.push({
      kind,
      points: [
        [right(from) + 1, mid(row)],
        [to.x - 1, mid(row)],
      ],
    });
  /** The conv units of a block after its first map. */
  const units = (first: BoxGeom, list: readonly ConvUnit[], row: number, pitch: number): BoxGeom[] => {
    let prev = first;
    const out: BoxGeom[] = [];
    list.forEach((u, i) => {
      const g = place('map', u.box, center(first) + (i + 1) * pitch, row);
      horizontal('conv', prev, g, row);
      if (kernelText(u.conv.kernel) !== mainKernel)
        label((right(prev) + g.x) / 2, mid(row) - 5, kernelText(u.conv.kernel), 'middle', SMALL);
      out.push(g);
      prev = g;
    });
    return out;
  };

  // Encoder: input, then per level the block's maps; pooling drops straight down from the last one.
  let first = place('input', model.input, left + 30, 0);
  channelsAbove(first);
  sizeBelow(first);
  label(center(first), first.y - 18, 'input', 'middle', SMALL);
  const encLast: BoxGeom[] = [];
  model.encoders.forEach((enc, l) => {
    const maps = units(first, enc.units, l, PITCH);
    maps.forEach((g, i) => {
      channelsAbove(g);
      sizeBelow(g, i === maps.length - 1 ? 'start' : 'middle');
    });
    const last = maps[maps.length - 1]!;
    encLast.push(last);
    const next = place('map', enc.downBox, center(last), l + 1);
    arrows.push({
      kind: 'down',
      points: [
        [center(last), bottom(last) + 3],
        [center(last), next.y - 2],
      ],
    });
    label(center(last) - 7, bottom(last) + GAP / 2 + 4, downText(enc.down), 'end', SMALL);
    channelsAbove(next, 'end');
    sizeBelow(next);
    first = next;
  });

  // Bottleneck: its pitch widens until every row has room between its encoder and decoder sides.
  const bUnits = model.bottleneck.units.length;
  const deficit = Math.max(
    0,
    ...model.decoders.map((_, i) => rowNeed(model, depth - 1 - i) - innerDistance(model, depth - 1 - i, PITCH)),
  );
  const bPitch = PITCH + Math.ceil(deficit / bUnits);
  const bMaps = units(first, model.bottleneck.units, depth, bPitch);
  bMaps.forEach((g, i) => {
    channelsAbove(g, i === bMaps.length - 1 ? 'start' : 'middle');
    sizeBelow(g);
  });
  let source = bMaps[bMaps.length - 1]!;

  // Decoder: each level's up-sampled map sits right above the map it comes from.
  model.decoders.forEach((dec, i) => {
    const row = depth - 1 - i;
    const up = place('map', dec.skip?.kind === 'add' ? dec.skip.merged : dec.upBox, center(source), row);
    arrows.push({
      kind: 'up',
      points: [
        [center(source), source.y - 3],
        [center(up), bottom(up) + 2],
      ],
    });
    label(center(source) + 7, bottom(up) + GAP / 2 + 4, upText(dec), 'start', SMALL);
    sizeBelow(up, 'end');
    let leftEdge = up;
    if (dec.skip?.kind === 'concat') {
      const w = boxWidth(dec.skip.from.shape.c);
      leftEdge = place('copy', dec.skip.from, up.x - w / 2, row, w);
      label((leftEdge.x + right(up)) / 2, up.y - 5, `${dec.skip.from.shape.c}+${dec.upBox.shape.c}`);
    } else {
      channelsAbove(up);
    }
    if (dec.skip) {
      const from = encLast[row]!;
      // An additive skip ends in a circled plus right before the map it is added to.
      const end = dec.skip.kind === 'add' ? leftEdge.x - 2 * PLUS_RADIUS - 3 : leftEdge.x - 1;
      if (dec.skip.kind === 'add') plus.push({ x: leftEdge.x - PLUS_RADIUS - 2, y: mid(row) });
      arrows.push({
        kind: 'skip',
        points: [
          [right(from) + 1, mid(row)],
          [end, mid(row)],
        ],
      });
      label((right(from) + end) / 2, mid(row) - 5, skipText(dec.skip), 'middle', SMALL);
    }
    const maps = units(up, dec.units, row, PITCH);
    maps.forEach((g, j) => {
      channelsAbove(g, j === maps.length - 1 && row > 0 ? 'start' : 'middle');
      sizeBelow(g);
    });
    source = maps[maps.length - 1]!;
  });

  // Head: the 1x1 conv to the classes, then the output activation.
  const head = place('head', model.head, center(source) + HEAD_PITCH, 0);
  horizontal('head', source, head, 0);
  label((right(source) + head.x) / 2, mid(0) - 5, `conv ${kernelText(model.head.conv.kernel)}`, 'middle', SMALL);
  channelsAbove(head);
  sizeBelow(head);
  let end = head;
  if (model.activation !== 'none') {
    end = place('output', model.output, center(head) + HEAD_PITCH, 0);
    horizontal('activation', head, end, 0);
    label((right(head) + end.x) / 2, mid(0) - 5, model.activation, 'middle', SMALL);
    channelsAbove(end);
    sizeBelow(end);
  }
  label(center(end), end.y - 18, 'output', 'middle', SMALL);

  const textRight = Math.max(
    ...labels.map((t) =>
      t.anchor === 'start'
        ? t.x + textWidth(t.text, t.size)
        : t.anchor === 'middle'
          ? t.x + textWidth(t.text, t.size) / 2
          : t.x,
    ),
  );
  return {
    boxes,
    arrows,
    labels,
    plus,
    right: Math.max(textRight, ...boxes.map(right)),
    bottom: rowTop[depth]! + rowHeight(depth) + 16,
  };
}

/**
 * Distance between the last encoder map's center and the decoder's up-sampled map's center on
 * a row, for a bottleneck pitch: each level below the row adds its encoder and decoder units.
 */
function innerDistance(model: UnetModel, row: number, bottleneckPitch: number): number {
  const depth = model.encoders.length;
  let d = model.bottleneck.units.length * bottleneckPitch;
  for (let l = row + 1; l < depth; l++)
    d += (model.encoders[l]!.units.length + model.decoders[depth - 1 - l]!.units.length) * PITCH;
  return d;
}

/** What a row needs between those two centers: the skip and its label, and both size labels. */
function rowNeed(model: UnetModel, row: number): number {
  const depth = model.encoders.length;
  const enc = model.encoders[row]!;
  const dec = model.decoders[depth - 1 - row]!;
  const encBox = enc.units[enc.units.length - 1]!.box;
  const half = boxWidth(encBox.shape.c) / 2 + boxWidth(dec.upBox.shape.c) / 2;
  const sizes = 10 + textWidth(sizeText(encBox.shape), SMALL) + textWidth(sizeText(dec.upBox.shape), SMALL) + 16;
  const skip = dec.skip
    ? half +
      (dec.skip.kind === 'concat' ? boxWidth(dec.skip.from.shape.c) : 2 * PLUS_RADIUS + 4) +
      textWidth(skipText(dec.skip), SMALL) +
      40
    : 0;
  return Math.max(half + 36, sizes, skip);
}
