/**
 * A tiny SVG writer: elements as strings, numbers rounded to one decimal (so the same drawing
 * always gives the same bytes), every text and attribute value escaped. No DOM, no fonts to
 * load: text uses a generic font family, and widths are estimated for layout.
 */

/** Escapes text for XML content and attribute values. */
export function escapeXml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!,
  );
}

/** A coordinate as text: at most one decimal, no "-0", no trailing zeros. */
export function num(v: number): string {
  const r = Math.round(v * 10) / 10;
  return String(r === 0 ? 0 : r);
}

/**
 * Estimated width of a text line: DejaVu Sans (the usual fallback for sans-serif on Linux) is
 * about 0.6 em per digit or letter; a little generous so estimated boxes never clip.
 */
export function textWidth(text: string, size: number): number {
  let w = 0;
  for (const ch of text) w += /[.,:;'|il1 ()-]/.test(ch) ? 0.36 : /[A-Zmw%@]/.test(ch) ? 0.78 : 0.62;
  return w * size;
}

export const FONT = 'Helvetica, Arial, sans-serif';

export interface TextOptions {
  readonly size?: number;
  readonly anchor?: 'start' | 'middle' | 'end';
  readonly fill?: string;
  readonly weight?: 'bold';
  readonly italic?: boolean;
}

export interface LineStyle {
  readonly stroke: string;
  readonly width?: number;
  readonly dash?: string;
}

/** Collects elements in drawing order; `toString` wraps them in the <svg> element. */
export class Svg {
  private readonly parts: string[] = [];

  /** A rectangle; `tooltip` becomes its <title> (shown on hover in browsers). */
  rect(
    x: number,
    y: number,
    w: number,
    h: number,
    fill: string,
    stroke: string,
    o: { readonly rx?: number; readonly dash?: string; readonly tooltip?: string } = {},
  ): void {
    const extra = `${o.rx ? ` rx="${o.rx}"` : ''}${o.dash ? ` stroke-dasharray="${o.dash}"` : ''}`;
    const head = `<rect x="${num(x)}" y="${num(y)}" width="${num(w)}" height="${num(h)}" fill="${fill}" stroke="${stroke}"${extra}`;
    this.parts.push(o.tooltip !== undefined ? `${head}><title>${escapeXml(o.tooltip)}</title></rect>` : `${head}/>`);
  }

  text(x: number, y: number, content: string, o: TextOptions = {}): void {
    const attrs = [`x="${num(x)}"`, `y="${num(y)}"`, `font-size="${o.size ?? 10}"`];
    if (o.anchor && o.anchor !== 'start') attrs.push(`text-anchor="${o.anchor}"`);
    if (o.fill) attrs.push(`fill="${o.fill}"`);
    if (o.weight) attrs.push(`font-weight="${o.weight}"`);
    if (o.italic) attrs.push('font-style="italic"');
    this.parts.push(`<text ${attrs.join(' ')}>${escapeXml(content)}</text>`);
  }

  /** A straight or bent line through `points`, with an arrowhead at the last point. */
  arrow(points: readonly (readonly [number, number])[], style: LineStyle, head = true): void {
    // The line stops where the head begins, so its square end never pokes past the tip.
    const line = head ? shortenEnd(points, HEAD_LENGTH - 1) : points;
    this.path(
      line.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${num(x)} ${num(y)}`).join(' '),
      style,
      head ? arrowHead(points) : undefined,
    );
  }

  /** A path (`d` in SVG syntax, already rounded), with an optional arrowhead polygon. */
  path(d: string, style: LineStyle, headPoints?: string): void {
    const dash = style.dash ? ` stroke-dasharray="${style.dash}"` : '';
    this.parts.push(
      `<path d="${d}" fill="none" stroke="${style.stroke}" stroke-width="${style.width ?? 1.5}"${dash}/>`,
    );
    if (headPoints) this.parts.push(`<polygon points="${headPoints}" fill="${style.stroke}"/>`);
  }

  /** A circled plus (the sign of an elementwise sum). */
  plus(x: number, y: number, r: number, stroke: string): void {
    this.parts.push(
      `<circle cx="${num(x)}" cy="${num(y)}" r="${num(r)}" fill="#ffffff" stroke="${stroke}" stroke-width="1.3"/>`,
    );
    this.parts.push(
      `<path d="M${num(x - r + 2)} ${num(y)} L${num(x + r - 2)} ${num(y)} M${num(x)} ${num(y - r + 2)} L${num(x)} ${num(y + r - 2)}" stroke="${stroke}" stroke-width="1.3"/>`,
    );
  }

  /** The whole document: white background, a <title>, generic font. */
  toString(width: number, height: number, title: string): string {
    const w = num(Math.ceil(width));
    const h = num(Math.ceil(height));
    return [
      `<?xml version="1.0" encoding="UTF-8"?>`,
      `<svg xmlns="http://www.w3.org/2000/svg" ${SVG_MARK} width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" font-family="${FONT}">`,
      `<title>${escapeXml(title)}</title>`,
      `<rect x="0" y="0" width="${w}" height="${h}" fill="#ffffff"/>`,
      ...this.parts,
      '</svg>',
      '',
    ].join('\n');
  }
}

/** The attribute of every diagram's root: how unetc knows a file it may replace (see runtime/data/outputs.ts). */
export const SVG_MARK = 'data-generator="unetc viz"';

const HEAD_LENGTH = 7;

/** The polyline with its last segment shortened by `by` (never past its start). */
function shortenEnd(points: readonly (readonly [number, number])[], by: number): (readonly [number, number])[] {
  const out = [...points];
  const [x1, y1] = points[points.length - 1]!;
  const prev = points[points.length - 2];
  if (!prev) return out;
  const d = Math.hypot(x1 - prev[0], y1 - prev[1]);
  const t = d > by ? (d - by) / d : 0;
  out[out.length - 1] = [prev[0] + (x1 - prev[0]) * t, prev[1] + (y1 - prev[1]) * t];
  return out;
}

/** An arrowhead at the end of a polyline, pointing along its last segment. */
export function arrowHead(
  points: readonly (readonly [number, number])[],
  length = HEAD_LENGTH,
  halfWidth = 3.5,
): string {
  const [x1, y1] = points[points.length - 1]!;
  const [x0, y0] = points[points.length - 2] ?? [x1, y1 - 1];
  return headAt(x1, y1, x1 - x0, y1 - y0, length, halfWidth);
}

/** An arrowhead with its tip at (x, y) pointing along (dx, dy). */
export function headAt(x: number, y: number, dx: number, dy: number, length = HEAD_LENGTH, halfWidth = 3.5): string {
  const d = Math.hypot(dx, dy) || 1;
  const ux = dx / d;
  const uy = dy / d;
  const bx = x - ux * length;
  const by = y - uy * length;
  const pts: [number, number][] = [
    [x, y],
    [bx - uy * halfWidth, by + ux * halfWidth],
    [bx + uy * halfWidth, by - ux * halfWidth],
  ];
  return pts.map(([px, py]) => `${num(px)},${num(py)}`).join(' ');
}
