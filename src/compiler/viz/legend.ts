import { textWidth, type LineStyle, type Svg } from './svg.js';

/** Title block and legend, shared by both views. */

export const TITLE_SIZE = 16;
export const SUBTITLE_SIZE = 11;

/** The lines under the title, and the height the title block takes. */
export function titleHeight(lines: readonly string[]): number {
  return TITLE_SIZE + 6 + lines.length * (SUBTITLE_SIZE + 5);
}

/** Draws the model name in bold with subtitle lines under it; returns its width. */
export function drawTitle(svg: Svg, x: number, y: number, name: string, lines: readonly string[]): number {
  svg.text(x, y + TITLE_SIZE, name, { size: TITLE_SIZE, weight: 'bold', fill: '#1a1a1a' });
  lines.forEach((line, i) =>
    svg.text(x, y + TITLE_SIZE + 6 + (i + 1) * (SUBTITLE_SIZE + 5) - 4, line, { size: SUBTITLE_SIZE, fill: '#444444' }),
  );
  return Math.max(textWidth(name, TITLE_SIZE) * 1.1, ...lines.map((l) => textWidth(l, SUBTITLE_SIZE)));
}

/** A legend entry: a small sample of a box or an arrow, and what it means. */
export type LegendEntry =
  | {
      readonly kind: 'box';
      readonly fill: string;
      readonly stroke: string;
      readonly dash?: string;
      readonly text: string;
    }
  | {
      readonly kind: 'arrow';
      readonly direction: 'right' | 'down' | 'up';
      readonly style: LineStyle;
      readonly text: string;
    }
  | { readonly kind: 'note'; readonly text: string };

const ROW = 18;
const SAMPLE = 34;
const SIZE = 10;

/** Columns that fit `maxWidth` (at least one), entries filled column by column. */
export function legendSize(
  entries: readonly LegendEntry[],
  maxWidth: number,
): { width: number; height: number; columns: number; columnWidth: number } {
  const columnWidth = Math.max(...entries.map((e) => SAMPLE + 8 + textWidth(e.text, SIZE))) + 24;
  const columns = Math.max(1, Math.min(entries.length, Math.floor(maxWidth / columnWidth)));
  const rows = Math.ceil(entries.length / columns);
  return { width: columns * columnWidth, height: 22 + rows * ROW, columns, columnWidth };
}

/** Draws the legend with a heading at (x, y); `maxWidth` decides the columns. */
export function drawLegend(svg: Svg, x: number, y: number, entries: readonly LegendEntry[], maxWidth: number): void {
  const { columns, columnWidth } = legendSize(entries, maxWidth);
  svg.text(x, y + 11, 'Legend', { size: 11, weight: 'bold', fill: '#333333' });
  entries.forEach((e, i) => {
    const rows = Math.ceil(entries.length / columns);
    const cx = x + Math.floor(i / rows) * columnWidth;
    const cy = y + 22 + (i % rows) * ROW + ROW / 2;
    if (e.kind === 'box')
      svg.rect(cx + SAMPLE / 2 - 6, cy - 7, 12, 14, e.fill, e.stroke, e.dash !== undefined ? { dash: e.dash } : {});
    if (e.kind === 'arrow') {
      const m = cx + SAMPLE / 2;
      const points: [number, number][] =
        e.direction === 'right'
          ? [
              [cx + 2, cy],
              [cx + SAMPLE - 2, cy],
            ]
          : e.direction === 'down'
            ? [
                [m, cy - 8],
                [m, cy + 8],
              ]
            : [
                [m, cy + 8],
                [m, cy - 8],
              ];
      svg.arrow(points, e.style);
    }
    svg.text(cx + (e.kind === 'note' ? 0 : SAMPLE + 8), cy + 4, e.text, {
      size: SIZE,
      fill: '#333333',
      italic: e.kind === 'note',
    });
  });
}
