import { textWidth } from '../../src/compiler/viz/svg.js';
import { elements, textOf, type XmlElement } from './xml.js';

/**
 * Layout checks on a rendered SVG: estimated text boxes (the renderer's own width estimate),
 * rectangles and straight arrow segments, and what overlaps what. Catches labels drawn on top
 * of each other, text over boxes, and arrows through boxes or labels.
 */
export interface Box {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
  readonly what: string;
}

type Segment = readonly [number, number, number, number];

const n = (e: XmlElement, a: string) => Number(e.attrs[a] ?? 0);

export function scene(root: XmlElement): { texts: Box[]; rects: Box[]; segments: { seg: Segment; what: string }[] } {
  const width = n(root, 'width');
  const all = elements(root);
  const texts = all
    .filter((e) => e.name === 'text')
    .map((e) => {
      const size = n(e, 'font-size');
      const content = textOf(e);
      const w = textWidth(content, size) * (e.attrs['font-weight'] === 'bold' ? 1.08 : 1);
      const anchor = e.attrs['text-anchor'] ?? 'start';
      const x = n(e, 'x') - (anchor === 'middle' ? w / 2 : anchor === 'end' ? w : 0);
      return { x, y: n(e, 'y') - size * 0.75, w, h: size * 0.95, what: `text '${content}'` };
    });
  const rects = all
    .filter((e) => e.name === 'rect' && !(n(e, 'x') === 0 && n(e, 'y') === 0 && n(e, 'width') === width))
    .map((e) => ({
      x: n(e, 'x'),
      y: n(e, 'y'),
      w: n(e, 'width'),
      h: n(e, 'height'),
      what: `rect ${e.children.length > 0 ? textOf(e) : `at ${e.attrs.x},${e.attrs.y}`}`,
    }));
  const segments: { seg: Segment; what: string }[] = [];
  for (const e of all.filter((p) => p.name === 'path')) {
    const d = e.attrs.d ?? '';
    if (/[^MLml0-9.\s-]/.test(d)) continue; // curves: not checked here
    const pts = [...d.matchAll(/[ML]\s*(-?[\d.]+)[ ,](-?[\d.]+)/g)].map((m) => [Number(m[1]), Number(m[2])] as const);
    for (let i = 1; i < pts.length; i++)
      segments.push({ seg: [pts[i - 1]![0], pts[i - 1]![1], pts[i]![0], pts[i]![1]], what: `arrow ${d}` });
  }
  return { texts, rects, segments };
}

export function overlap(a: Box, b: Box, slack = 0): boolean {
  return a.x + slack < b.x + b.w && b.x + slack < a.x + a.w && a.y + slack < b.y + b.h && b.y + slack < a.y + a.h;
}

/** Whether a segment passes through the inside of a box (shrunk by `inset`), sampled every 0.5 px. */
export function crosses(seg: Segment, b: Box, inset: number): boolean {
  const [x0, y0, x1, y1] = seg;
  const steps = Math.max(1, Math.ceil(Math.hypot(x1 - x0, y1 - y0) * 2));
  for (let k = 0; k <= steps; k++) {
    const x = x0 + ((x1 - x0) * k) / steps;
    const y = y0 + ((y1 - y0) * k) / steps;
    if (x > b.x + inset && x < b.x + b.w - inset && y > b.y + inset && y < b.y + b.h - inset) return true;
  }
  return false;
}

/** Every clash in the drawing, as readable lines (empty when the layout is clean). */
export function clashes(root: XmlElement): string[] {
  const { texts, rects, segments } = scene(root);
  const out: string[] = [];
  texts.forEach((a, i) =>
    texts.slice(i + 1).forEach((b) => overlap(a, b, 0.5) && out.push(`${a.what} overlaps ${b.what}`)),
  );
  for (const t of texts) for (const r of rects) if (overlap(t, r, 0.5)) out.push(`${t.what} overlaps ${r.what}`);
  rects.forEach((a, i) =>
    rects.slice(i + 1).forEach((b) => overlap(a, b, 0.5) && out.push(`${a.what} overlaps ${b.what}`)),
  );
  for (const { seg, what } of segments) {
    for (const r of rects) if (crosses(seg, r, 1.5)) out.push(`${what} crosses ${r.what}`);
    for (const t of texts) if (crosses(seg, t, 0.5)) out.push(`${what} crosses ${t.what}`);
  }
  return out;
}

/** Whether every text lies inside the drawing. */
export function clipped(root: XmlElement): string[] {
  const w = n(root, 'width');
  const h = n(root, 'height');
  return scene(root)
    .texts.filter((t) => t.x < 0 || t.y < 0 || t.x + t.w > w || t.y + t.h > h)
    .map((t) => `${t.what} is clipped`);
}
