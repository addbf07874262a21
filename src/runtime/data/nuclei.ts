/**
 * Nucleus shapes for the synthetic data: rotated ellipses whose radius is perturbed by a few
 * random harmonics (a smooth lumpy outline plus a little high-frequency roughness), placed with
 * optional clustering, and rasterized into an instance label map. Overlaps are resolved per pixel
 * by the smaller normalized radial distance, so two overlapping nuclei meet along a curve as
 * touching nuclei do, and the label map never has a pixel claimed twice.
 */
import type { Random } from '../../util/random.js';

/** One nucleus, in pixel coordinates (pixel centers at integer positions). */
export interface Nucleus {
  readonly cx: number;
  readonly cy: number;
  /** Semi-axes in pixels (before the outline perturbation). */
  readonly a: number;
  readonly b: number;
  readonly angle: number;
  /** Radial perturbation: r(phi) = 1 + sum amp * cos(k * phi + phase), k = 1, 2, ... */
  readonly amps: readonly number[];
  readonly phases: readonly number[];
  /** A small, bright, condensed nucleus (mitotic-looking): rendered brighter and smoother. */
  readonly condensed: boolean;
}

/** How a scene's nuclei are sized and placed. */
export interface Layout {
  /** Mean equivalent radius in pixels. */
  readonly radius: number;
  /** Nuclei to try to place. */
  readonly count: number;
  /** Outline irregularity, about 0 (smooth ellipse) to 1 (lumpy). */
  readonly irregularity: number;
  /** Largest elongation (major / minor axis). */
  readonly elongation: number;
  /** Fraction of nuclei placed near a cluster center instead of uniformly. */
  readonly clustering: number;
  /** Fraction of neighbour pairs allowed to touch or overlap. */
  readonly touching: number;
}

/** A nucleus of about equivalent radius `r` at (cx, cy). */
export function drawNucleus(
  rng: Random,
  cx: number,
  cy: number,
  r: number,
  layout: Layout,
  condensed = false,
): Nucleus {
  const e = 1 + Math.min(layout.elongation - 1, Math.abs(rng.normal()) * 0.45 * (layout.elongation - 1));
  const amps: number[] = [];
  const phases: number[] = [];
  // Low harmonics give the lumpy, egg- or kidney-like outline; 6..9 a slight roughness.
  for (let k = 1; k <= 9; k++) {
    const scale = k === 1 ? 0.03 : k <= 5 ? 0.11 / k : 0.012;
    amps.push(scale * layout.irregularity * rng.normal());
    phases.push(rng.uniform(0, 2 * Math.PI));
  }
  const sum = amps.reduce((s, x) => s + Math.abs(x), 0);
  // Keep the radius positive and the shape star-shaped around its center.
  if (sum > 0.35) for (let k = 0; k < amps.length; k++) amps[k] = ((amps[k] ?? 0) * 0.35) / sum;
  return { cx, cy, a: r * Math.sqrt(e), b: r / Math.sqrt(e), angle: rng.uniform(0, Math.PI), amps, phases, condensed };
}

/** Draws and places nuclei: rejection sampling keeps most pairs apart, a few may touch. */
export function placeNuclei(rng: Random, height: number, width: number, layout: Layout): Nucleus[] {
  const clusters = Array.from({ length: 1 + Math.floor(rng.next() * 3) }, () => ({
    x: rng.uniform(0.15, 0.85) * width,
    y: rng.uniform(0.15, 0.85) * height,
    s: rng.uniform(0.08, 0.2) * Math.min(height, width) + 2 * layout.radius,
  }));
  const placed: { n: Nucleus; r: number }[] = [];
  for (let i = 0; i < layout.count; i++) {
    // A few small bright nuclei (condensed, mitotic-looking) mixed in, as in real cultures.
    const condensed = rng.next() < 0.04;
    const spread = Math.min(1.8, Math.max(0.5, Math.exp(0.22 * rng.normal())));
    const r = Math.max(2, layout.radius * spread * (condensed ? 0.6 : 1));
    for (let attempt = 0; attempt < 25; attempt++) {
      let cx: number;
      let cy: number;
      const cluster = clusters[Math.floor(rng.next() * clusters.length)];
      if (cluster && rng.next() < layout.clustering) {
        cx = cluster.x + cluster.s * rng.normal();
        cy = cluster.y + cluster.s * rng.normal();
      } else {
        cx = rng.uniform(-0.3 * r, width - 1 + 0.3 * r);
        cy = rng.uniform(-0.3 * r, height - 1 + 0.3 * r);
      }
      if (cx < -0.3 * r || cy < -0.3 * r || cx > width - 1 + 0.3 * r || cy > height - 1 + 0.3 * r) continue;
      const minSep = rng.next() < layout.touching ? 0.7 : 1.0;
      const free = placed.every((p) => Math.hypot(p.n.cx - cx, p.n.cy - cy) >= minSep * (p.r + r));
      if (!free) continue;
      placed.push({ n: drawNucleus(rng, cx, cy, r, layout, condensed), r });
      break;
    }
  }
  return placed.map((p) => p.n);
}

/** Instance labels (0 background, 1..K) and each labelled pixel's normalized radial distance. */
export interface Raster {
  readonly labels: Uint16Array;
  /** 0 at a nucleus center, 1 on its outline; 1 for background. */
  readonly dist: Float32Array;
  readonly count: number;
  /** For label k (1..K), the index of its nucleus in the input: kept[k - 1]. */
  readonly kept: readonly number[];
}

/**
 * Rasterizes nuclei at pixel centers. Instances left with fewer than `minArea` pixels (slivers
 * cut by the border or by a neighbour) are dropped, and the rest renumbered 1..K in placement order.
 */
export function rasterize(nuclei: readonly Nucleus[], height: number, width: number, minArea = 15): Raster {
  const owner = new Uint16Array(height * width);
  const dist = new Float32Array(height * width).fill(1);
  nuclei.forEach((n, i) => {
    const slack = 1 + n.amps.reduce((s, x) => s + Math.abs(x), 0);
    const reach = Math.max(n.a, n.b) * slack + 1;
    const cos = Math.cos(n.angle);
    const sin = Math.sin(n.angle);
    const x0 = Math.max(0, Math.floor(n.cx - reach));
    const x1 = Math.min(width - 1, Math.ceil(n.cx + reach));
    const y0 = Math.max(0, Math.floor(n.cy - reach));
    const y1 = Math.min(height - 1, Math.ceil(n.cy + reach));
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        const dx = x - n.cx;
        const dy = y - n.cy;
        const u = (dx * cos + dy * sin) / n.a;
        const v = (-dx * sin + dy * cos) / n.b;
        const rho = Math.hypot(u, v);
        if (rho >= slack) continue;
        const phi = Math.atan2(v, u);
        let bound = 1;
        for (let k = 0; k < n.amps.length; k++)
          bound += (n.amps[k] ?? 0) * Math.cos((k + 1) * phi + (n.phases[k] ?? 0));
        const d = rho / bound;
        const p = y * width + x;
        if (d < 1 && d < (dist[p] ?? 1)) {
          dist[p] = d;
          owner[p] = i + 1;
        }
      }
    }
  });
  return renumber(owner, dist, nuclei.length, minArea);
}

function renumber(owner: Uint16Array, dist: Float32Array, n: number, minArea: number): Raster {
  const area = new Uint32Array(n + 1);
  for (let p = 0; p < owner.length; p++) area[owner[p] ?? 0]! += 1;
  const id = new Uint16Array(n + 1);
  const kept: number[] = [];
  for (let i = 1; i <= n; i++) {
    if ((area[i] ?? 0) < minArea) continue;
    kept.push(i - 1);
    id[i] = kept.length;
  }
  for (let p = 0; p < owner.length; p++) {
    const k = id[owner[p] ?? 0] ?? 0;
    owner[p] = k;
    if (k === 0) dist[p] = 1;
  }
  return { labels: owner, dist, count: kept.length, kept };
}
