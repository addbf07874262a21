/**
 * Line charts as inline SVG: axes with "nice" ticks and labels, one polyline per series with
 * point markers, a legend, and an optional marked x (the best epoch). No script, no fonts to load.
 */
import { escapeHtml } from './html.js';

export interface Series {
  readonly label: string;
  readonly color: string;
  readonly points: readonly (readonly [number, number])[];
  readonly dash?: string;
}

export interface ChartOptions {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly Series[];
  readonly width?: number;
  readonly height?: number;
  /** Clamp the y axis to this range (scores: [0, 1]); the axis still zooms to the data inside it. */
  readonly yClamp?: readonly [number, number];
  /** A vertical marker at this x, labelled (e.g. the best epoch). */
  readonly marker?: { readonly x: number; readonly label: string };
  /** Decimals of the y tick labels (default: from the tick step). */
  readonly yDigits?: number;
}

/** A tick step of 1, 2 or 5 x 10^k giving about `count` intervals over `span`. */
export function niceStep(span: number, count: number): number {
  const raw = span / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

/** An axis range around [lo, hi] on multiples of a nice step, with its ticks. */
export function niceAxis(
  lo: number,
  hi: number,
  count = 5,
  clamp?: readonly [number, number],
): { lo: number; hi: number; step: number; ticks: number[] } {
  if (!(hi > lo)) {
    const pad = Math.abs(lo) > 0 ? Math.abs(lo) * 0.05 : 0.5;
    [lo, hi] = [lo - pad, hi + pad];
  }
  if (clamp) [lo, hi] = [Math.max(clamp[0], lo), Math.min(clamp[1], hi)];
  const step = niceStep(hi - lo, count);
  let a = Math.floor(lo / step + 1e-9) * step;
  let b = Math.ceil(hi / step - 1e-9) * step;
  if (clamp) [a, b] = [Math.max(clamp[0], a), Math.min(clamp[1], b)];
  if (!(b > a)) b = a + step;
  [a, b] = [Number(a.toPrecision(12)), Number(b.toPrecision(12))];
  const ticks: number[] = [];
  for (let t = a; t <= b + step * 1e-6; t += step) ticks.push(Number(t.toPrecision(12)));
  return { lo: a, hi: b, step, ticks };
}

const num = (v: number) => (Math.round(v * 10) / 10).toString();
const digitsOf = (step: number) => Math.max(0, Math.min(6, -Math.floor(Math.log10(step) + 1e-9)));

/** The chart as an `<svg>` element (scales with its container: viewBox, width 100%). */
export function lineChart(o: ChartOptions): string {
  const W = o.width ?? 640;
  const H = o.height ?? 340;
  const left = 64;
  const right = 20;
  const top = 44 + 18 * Math.ceil(o.series.length / 3);
  const bottom = 52;
  const pw = W - left - right;
  const ph = H - top - bottom;
  const all = o.series.flatMap((s) => s.points);
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]).filter(Number.isFinite);
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-label="${escapeHtml(o.title)}">`,
  );
  out.push(`<title>${escapeHtml(o.title)}</title>`);
  out.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(`<text x="${left}" y="22" class="chart-title">${escapeHtml(o.title)}</text>`);
  if (xs.length === 0 || ys.length === 0) {
    out.push(
      `<text x="${W / 2}" y="${H / 2}" text-anchor="middle" class="chart-empty">no epochs recorded yet</text></svg>`,
    );
    return out.join('\n');
  }
  // x: epochs, integer ticks; a single epoch still gets an axis from 0.
  const x = niceAxis(
    Math.min(...xs) === Math.max(...xs) ? Math.min(...xs) - 1 : Math.min(...xs),
    Math.max(...xs),
    Math.min(10, Math.max(1, Math.max(...xs) - Math.min(...xs))),
  );
  const xStep = Math.max(1, x.step);
  const xTicks = x.ticks.filter((t) => Number.isInteger(t) && t % xStep === 0);
  const yPad = (Math.max(...ys) - Math.min(...ys)) * 0.08;
  const y = niceAxis(Math.min(...ys) - yPad, Math.max(...ys) + yPad, 5, o.yClamp);
  const px = (v: number) => left + ((v - x.lo) / (x.hi - x.lo)) * pw;
  const py = (v: number) => top + ph - ((v - y.lo) / (y.hi - y.lo)) * ph;
  const yDigits = o.yDigits ?? digitsOf(y.step);

  // Grid and ticks.
  for (const t of y.ticks) {
    out.push(`<line x1="${left}" y1="${num(py(t))}" x2="${left + pw}" y2="${num(py(t))}" class="grid"/>`);
    out.push(`<text x="${left - 8}" y="${num(py(t) + 4)}" text-anchor="end" class="tick">${t.toFixed(yDigits)}</text>`);
  }
  for (const t of xTicks) {
    out.push(`<line x1="${num(px(t))}" y1="${top + ph}" x2="${num(px(t))}" y2="${top + ph + 5}" class="axis"/>`);
    out.push(`<text x="${num(px(t))}" y="${top + ph + 19}" text-anchor="middle" class="tick">${t}</text>`);
  }
  out.push(`<line x1="${left}" y1="${top}" x2="${left}" y2="${top + ph}" class="axis"/>`);
  out.push(`<line x1="${left}" y1="${top + ph}" x2="${left + pw}" y2="${top + ph}" class="axis"/>`);
  out.push(
    `<text x="${left + pw / 2}" y="${H - 10}" text-anchor="middle" class="axis-label">${escapeHtml(o.xLabel)}</text>`,
  );
  out.push(
    `<text transform="translate(16 ${top + ph / 2}) rotate(-90)" text-anchor="middle" class="axis-label">${escapeHtml(o.yLabel)}</text>`,
  );

  if (o.marker) {
    // The label goes in the title row (right-aligned): inside the plot it would cross a curve.
    const mx = num(px(o.marker.x));
    out.push(`<line x1="${mx}" y1="${top}" x2="${mx}" y2="${top + ph}" class="marker"/>`);
    out.push(
      `<text x="${left + pw}" y="22" text-anchor="end" class="marker-label">\u25C6 ${escapeHtml(o.marker.label)}</text>`,
    );
  }

  // Series: polyline and markers.
  for (const s of o.series) {
    const pts = s.points.filter((p) => Number.isFinite(p[1]));
    const d = pts.map((p) => `${num(px(p[0]))},${num(py(p[1]))}`).join(' ');
    if (pts.length > 1)
      out.push(
        `<polyline points="${d}" fill="none" stroke="${s.color}" stroke-width="2.2" stroke-linejoin="round"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`,
      );
    if (pts.length <= 40)
      for (const p of pts)
        out.push(
          `<circle cx="${num(px(p[0]))}" cy="${num(py(p[1]))}" r="3.2" fill="${s.color}"><title>${escapeHtml(`${s.label}, epoch ${p[0]}: ${p[1].toFixed(4)}`)}</title></circle>`,
        );
  }

  // Legend: up to three entries a row, under the title.
  o.series.forEach((s, i) => {
    const lx = left + (i % 3) * 180;
    const ly = 40 + 18 * Math.floor(i / 3);
    out.push(
      `<line x1="${lx}" y1="${ly - 4}" x2="${lx + 22}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2.5"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`,
    );
    out.push(`<text x="${lx + 28}" y="${ly}" class="legend">${escapeHtml(s.label)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n');
}
