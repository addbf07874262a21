/**
 * Validation images for the report: the image contrast-stretched for display, the true mask and
 * the prediction drawn over it, each as an RGB PNG data: URI, and the image's Dice. Plain typed
 * arrays; images larger than the display size are shrunk first (box filter; masks by nearest).
 */
import { encode } from 'fast-png';
import type { HWC } from '../data/index.js';
import { ConfusionCounts } from '../eval/metrics.js';

/** One validation image with its masks (class ids per pixel, H*W, row-major). */
export interface ReportSample {
  readonly name: string;
  /** The image as read (HWC, 1 or 3 channels, values in [0, 1]); not normalized. */
  readonly image: HWC<Float32Array>;
  readonly truth: ArrayLike<number>;
  readonly predicted: ArrayLike<number>;
}

/** The three pictures of a sample and its Dice, ready for the page. */
export interface SamplePanels {
  readonly name: string;
  readonly width: number;
  readonly height: number;
  readonly dice: number;
  readonly image: string;
  readonly truth: string;
  readonly predicted: string;
}

/** Class colors (class 1 first): truth green and prediction red for one class. */
const TRUTH = [0, 230, 90] as const;
const PREDICTED = [255, 40, 60] as const;
const PALETTE: readonly (readonly [number, number, number])[] = [
  [230, 25, 75],
  [60, 180, 75],
  [67, 99, 216],
  [245, 130, 49],
  [145, 30, 180],
  [66, 212, 244],
  [240, 50, 230],
  [191, 239, 69],
];

/** Foreground Dice of one image (mean over foreground classes; absent from both scores 1). */
export function imageDice(predicted: ArrayLike<number>, truth: ArrayLike<number>, classes: number): number {
  const k = classes === 1 ? 2 : classes;
  const clamp = (a: ArrayLike<number>) =>
    Uint8Array.from(a as ArrayLike<number>, (v) => (classes === 1 ? (v > 0 ? 1 : 0) : Math.min(v, k - 1)));
  return new ConfusionCounts(k).add(clamp(predicted), clamp(truth)).scores().dice;
}

/** Gray display values in [0, 1]: channel mean, stretched between the 0.5th and 99.5th percentiles. */
function displayGray(image: HWC<Float32Array>): Float32Array {
  const { height, width, channels, data } = image;
  const n = height * width;
  const gray = new Float32Array(n);
  for (let p = 0; p < n; p++) {
    let s = 0;
    for (let c = 0; c < channels; c++) s += data[p * channels + c]!;
    gray[p] = s / channels;
  }
  const sorted = Float32Array.from(gray).sort();
  const lo = sorted[Math.floor((n - 1) * 0.005)]!;
  const hi = sorted[Math.ceil((n - 1) * 0.995)]!;
  const span = hi - lo > 1e-6 ? hi - lo : 1;
  for (let p = 0; p < n; p++) gray[p] = Math.min(1, Math.max(0, (gray[p]! - lo) / span));
  return gray;
}

/** Shrinks by an integer factor: box mean for the image, nearest (top-left) for masks. */
function shrink(gray: Float32Array, h: number, w: number, f: number): Float32Array {
  const oh = Math.floor(h / f);
  const ow = Math.floor(w / f);
  const out = new Float32Array(oh * ow);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      let s = 0;
      for (let dy = 0; dy < f; dy++) for (let dx = 0; dx < f; dx++) s += gray[(y * f + dy) * w + x * f + dx]!;
      out[y * ow + x] = s / (f * f);
    }
  }
  return out;
}

function shrinkMask(mask: ArrayLike<number>, h: number, w: number, f: number): Uint16Array {
  const oh = Math.floor(h / f);
  const ow = Math.floor(w / f);
  const out = new Uint16Array(oh * ow);
  for (let y = 0; y < oh; y++) for (let x = 0; x < ow; x++) out[y * ow + x] = mask[y * f * w + x * f] ?? 0;
  return out;
}

/** Pixels of a labelled region with a 4-neighbour of another label (or the image edge). */
function contour(mask: Uint16Array, h: number, w: number): Uint8Array {
  const out = new Uint8Array(h * w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = mask[y * w + x]!;
      if (v === 0) continue;
      const differs = (yy: number, xx: number) => yy < 0 || xx < 0 || yy >= h || xx >= w || mask[yy * w + xx] !== v;
      if (differs(y - 1, x) || differs(y + 1, x) || differs(y, x - 1) || differs(y, x + 1)) out[y * w + x] = 1;
    }
  }
  return out;
}

const colorOf = (cls: number, classes: number, binary: readonly [number, number, number]) =>
  classes <= 2 ? binary : PALETTE[(cls - 1) % PALETTE.length]!;

/** RGB PNG of the gray image, with `fill` blended in at `alpha` and `edges` drawn solid. */
function picture(
  gray: Float32Array,
  h: number,
  w: number,
  layers: {
    fill?: Uint16Array;
    fillColor?: (c: number) => readonly number[];
    alpha?: number;
    edges?: Uint8Array;
    edgeMask?: Uint16Array;
    edgeColor?: (c: number) => readonly number[];
  },
): string {
  const rgb = new Uint8Array(h * w * 3);
  for (let p = 0; p < h * w; p++) {
    const g = gray[p]! * 255;
    let r = g;
    let gg = g;
    let b = g;
    const f = layers.fill?.[p] ?? 0;
    if (f > 0 && layers.fillColor) {
      const c = layers.fillColor(f);
      const a = layers.alpha ?? 0.45;
      r = r * (1 - a) + c[0]! * a;
      gg = gg * (1 - a) + c[1]! * a;
      b = b * (1 - a) + c[2]! * a;
    }
    if (layers.edges?.[p] && layers.edgeColor)
      [r, gg, b] = layers.edgeColor(layers.edgeMask?.[p] ?? 1) as [number, number, number];
    rgb[p * 3] = Math.round(r);
    rgb[p * 3 + 1] = Math.round(gg);
    rgb[p * 3 + 2] = Math.round(b);
  }
  const png = encode({ width: w, height: h, data: rgb, channels: 3, depth: 8 });
  return `data:image/png;base64,${Buffer.from(png).toString('base64')}`;
}

/**
 * The sample's pictures: the image; the truth (filled, with its outline); the prediction filled
 * with the truth's outline on top (one class: green truth, red prediction; several: a color per
 * class, truth outlined in white). Shrunk to at most `maxSide` pixels a side.
 */
export function samplePanels(s: ReportSample, classes: number, maxSide = 256): SamplePanels {
  const { height: H, width: W } = s.image;
  if (s.truth.length !== H * W || s.predicted.length !== H * W) {
    throw new RangeError(
      `${s.name}: masks have ${s.truth.length} and ${s.predicted.length} pixels, the image ${H}x${W}`,
    );
  }
  const f = Math.max(1, Math.ceil(Math.max(H, W) / maxSide));
  const h = Math.floor(H / f);
  const w = Math.floor(W / f);
  const norm = (m: ArrayLike<number>) =>
    Uint16Array.from(m as ArrayLike<number>, (v) => (classes === 1 ? (v > 0 ? 1 : 0) : v));
  const gray = shrink(displayGray(s.image), H, W, f);
  const truth = shrinkMask(norm(s.truth), H, W, f);
  const predicted = shrinkMask(norm(s.predicted), H, W, f);
  const truthEdges = contour(truth, h, w);
  const several = classes > 2;
  return {
    name: s.name,
    width: w,
    height: h,
    dice: imageDice(s.predicted, s.truth, classes),
    image: picture(gray, h, w, {}),
    truth: picture(gray, h, w, {
      fill: truth,
      fillColor: (c) => colorOf(c, classes, TRUTH),
      alpha: 0.35,
      edges: truthEdges,
      edgeMask: truth,
      edgeColor: (c) => colorOf(c, classes, TRUTH),
    }),
    predicted: picture(gray, h, w, {
      fill: predicted,
      fillColor: (c) => colorOf(c, classes, PREDICTED),
      alpha: 0.5,
      edges: truthEdges,
      edgeMask: truth,
      edgeColor: (c) => (several ? [255, 255, 255] : colorOf(c, classes, TRUTH)),
    }),
  };
}
