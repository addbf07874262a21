/**
 * Running a network on an image of any size. Each axis is planned on its own: an image that fits
 * one tile is reflection-padded (at its end) up to the next size the network accepts, run once
 * and cropped back; a larger one is covered by overlapping tiles whose
 * outputs are blended with a raised-cosine window, so seams do not show. Networks with unpadded
 * ('valid') convs, whose output is smaller than their input by a margin on each side, get their
 * context from the neighbouring pixels, or from a reflection at the image border (the 2015
 * paper's overlap-tile strategy).
 *
 * Pure functions over HWC typed arrays and a `TileRunner` callback: nothing here knows about
 * ONNX or tfjs, so the arithmetic is tested exactly with fake models.
 */
import { crop, type HWC } from '../data/index.js';
import type { SizeRule } from './sizes.js';
import { UnetcError } from '../../util/error.js';

/** Runs the network on one tile (HWC) and returns its output (HWC, any number of channels). */
export type TileRunner = (tile: HWC<Float32Array>) => Promise<HWC<Float32Array>>;

/** How to cover an image with tiles. */
export interface TilingOptions {
  /** The sizes the network accepts, per axis. */
  readonly sizes: { readonly height: SizeRule; readonly width: SizeRule };
  /** The largest tile side in input pixels (default 512), rounded down to a size the network accepts. */
  readonly tile?: number;
  /** Overlap between neighbouring tiles as a fraction of the tile's output side, in [0, 1) (default 0.25). */
  readonly overlap?: number;
  /** [height, width] pixels the network's output loses on each side (0 for 'same' padding). */
  readonly margin?: readonly [number, number];
}

/** One tile along one axis. */
export interface AxisTile {
  /** Where the tile's input starts, in image coordinates (negative or past the end: reflected). */
  readonly inStart: number;
  readonly inSize: number;
  /** The image coordinate of the output's first pixel (inStart + margin). */
  readonly outStart: number;
  /** The image range [keepStart, keepEnd) this tile contributes to. */
  readonly keepStart: number;
  readonly keepEnd: number;
  /** Blending weight for each pixel of the kept range (all positive). */
  readonly weights: Float64Array;
}

/** Tiles along one axis, in order. */
export interface AxisPlan {
  readonly tiles: readonly AxisTile[];
}

/** A request the network cannot serve (a tile smaller than its margins, no accepted size). */
export class TilingError extends UnetcError {
  constructor(problem: string) {
    super(undefined, problem);
  }
}

const DEFAULT_TILE = 512;
const DEFAULT_OVERLAP = 0.25;

/** Raised cosine from ~0 to ~1 over u in (0, 1); ramp(u) + ramp(1 - u) = 1, so two ramps over one overlap sum to 1. */
const ramp = (u: number): number => 0.5 - 0.5 * Math.cos(Math.PI * u);

/** Weights of one tile's output: ramps up over the overlap with the previous tile, down over the next. */
export function windowOf(size: number, rampIn: number, rampOut: number): Float64Array {
  const w = new Float64Array(size);
  for (let t = 0; t < size; t++) {
    // The +0.5 centres each pixel in its ramp step, so no weight is exactly 0 (the sum never divides by 0).
    const a = t < rampIn ? ramp((t + 0.5) / rampIn) : 1;
    const b = size - 1 - t < rampOut ? ramp((size - 1 - t + 0.5) / rampOut) : 1;
    w[t] = a * b;
  }
  return w;
}

/**
 * Plans one axis of length `n`; see the module comment. Tiles start on the network's shift grid
 * (`rule.step`, 2^depth): a U-Net's pooling makes it shift-equivariant only by multiples of it,
 * so on this grid every tile sees the image as one big run would (exactly so for 'valid' networks,
 * whose tiles get real context instead of zero padding). Throws a TilingError when it cannot.
 */
export function planAxis(
  n: number,
  rule: SizeRule,
  options: { readonly tile: number; readonly overlap: number; readonly margin: number },
): AxisPlan {
  const { tile, overlap, margin: m } = options;
  if (!(Number.isInteger(n) && n >= 1)) throw new RangeError(`planAxis: length must be a positive integer, got ${n}`);
  if (!(overlap >= 0 && overlap < 1)) throw new RangeError(`planAxis: overlap must be in [0, 1), got ${overlap}`);
  const inTile = rule.atMost(tile) ?? rule.atLeast(tile);
  if (inTile === undefined) throw new TilingError(`the network accepts no input size (${rule.text})`);
  const outTile = inTile - 2 * m;
  if (n + 2 * m <= inTile) {
    // One tile: reflect-pad at the end up to the smallest accepted size (it exists: inTile is one).
    const inSize = rule.atLeast(n + 2 * m)!;
    return {
      tiles: [{ inStart: -m, inSize, outStart: 0, keepStart: 0, keepEnd: n, weights: new Float64Array(n).fill(1) }],
    };
  }
  const grid = Math.max(1, rule.step);
  if (outTile < grid) {
    throw new TilingError(
      `a ${inTile}-pixel tile is too small: the network's output loses ${m} pixels on each side, leaving ${outTile} (at least ${grid} needed); use a larger --tile`,
    );
  }
  const ov = Math.min(Math.round(overlap * outTile), outTile - 1);
  // The last tile starts at the first grid position that reaches the end (it may overhang by less
  // than a grid step, reflected). The others are spread evenly in between and snapped to the grid:
  // snapping is monotone and commutes with shifts by the stride (a whole number of grid steps, at
  // most the tile), so no gap between tiles exceeds the stride and nothing is left uncovered.
  const stride = Math.max(grid, Math.floor((outTile - ov) / grid) * grid);
  const last = Math.ceil((n - outTile) / grid) * grid;
  const count = Math.ceil(last / stride) + 1;
  const snapped = Array.from({ length: count }, (_, i) => Math.round((i * last) / (count - 1) / grid) * grid);
  const starts = [...new Set(snapped)];
  const tiles = starts.map((a, i): AxisTile => {
    const rampIn = i > 0 ? starts[i - 1]! + outTile - a : 0;
    const rampOut = i < starts.length - 1 ? a + outTile - starts[i + 1]! : 0;
    const keepEnd = Math.min(n, a + outTile);
    return {
      inStart: a - m,
      inSize: inTile,
      outStart: a,
      keepStart: a,
      keepEnd,
      weights: windowOf(outTile, rampIn, rampOut).subarray(0, keepEnd - a),
    };
  });
  return { tiles };
}

/**
 * Advice on a --tile the user gave, or undefined when it is fine: a size the network does not take
 * is rounded (say to what), and a tile only a few pooling cells across gives each pixel little
 * context, so masks get worse than with the default (measured: tile 8 on a multiple-of-8 network,
 * Dice 0.89 of the default's). The floor is 64 pixels, or 4 cells of the network's grid.
 */
export function tileAdvice(
  tile: number,
  sizes: { readonly height: SizeRule; readonly width: SizeRule },
): string | undefined {
  const used = [sizes.height, sizes.width].map((r) => r.atMost(tile) ?? r.atLeast(tile));
  const floor = Math.max(64, ...[sizes.height, sizes.width].map((r) => 4 * Math.max(1, r.step)));
  const rounded = used.some((u) => u !== tile)
    ? `--tile ${tile} is not a size the network takes: tiles are ${used.join('x')}`
    : undefined;
  const small =
    Math.min(...used.map((u) => u ?? 0)) < floor
      ? `tiles under ${floor} pixels give each pixel little context and worse masks; the default is ${DEFAULT_TILE}`
      : undefined;
  return rounded && small ? `${rounded}; ${small}` : (rounded ?? small);
}

/** Both axes' plans for an image. */
export function planTiles(height: number, width: number, options: TilingOptions): { rows: AxisPlan; cols: AxisPlan } {
  const tile = options.tile ?? DEFAULT_TILE;
  const overlap = options.overlap ?? DEFAULT_OVERLAP;
  const [mh, mw] = options.margin ?? [0, 0];
  return {
    rows: planAxis(height, options.sizes.height, { tile, overlap, margin: mh }),
    cols: planAxis(width, options.sizes.width, { tile, overlap, margin: mw }),
  };
}

/**
 * Runs `run` over the tiles of `image` and blends the outputs into one HWC raster of the
 * image's height and width. Weighted sums are kept in float64 and divided once at the end, so
 * a model that returns its input gives the input back bit for bit.
 */
export async function runTiled(
  image: HWC<Float32Array>,
  run: TileRunner,
  options: TilingOptions,
): Promise<HWC<Float32Array>> {
  const { height: H, width: W } = image;
  const { rows, cols } = planTiles(H, W, options);
  let channels = 0;
  let sum = new Float64Array(0);
  const weight = new Float64Array(H * W);
  for (const ty of rows.tiles) {
    for (const tx of cols.tiles) {
      const out = await run(crop(image, ty.inStart, tx.inStart, ty.inSize, tx.inSize));
      const [mh, mw] = [ty.outStart - ty.inStart, tx.outStart - tx.inStart];
      if (out.height !== ty.inSize - 2 * mh || out.width !== tx.inSize - 2 * mw) {
        throw new TilingError(
          `the network gave a ${out.height}x${out.width} output for a ${ty.inSize}x${tx.inSize} tile; expected ${ty.inSize - 2 * mh}x${tx.inSize - 2 * mw}`,
        );
      }
      if (channels === 0) {
        channels = out.channels;
        sum = new Float64Array(H * W * channels);
      } else if (out.channels !== channels)
        throw new TilingError(`tiles gave ${channels} and ${out.channels} output channels`);
      accumulate(sum, weight, W, channels, out, ty, tx);
    }
  }
  const data = new Float32Array(H * W * channels);
  for (let p = 0; p < H * W; p++) {
    const w = weight[p]!;
    for (let c = 0; c < channels; c++) data[p * channels + c] = sum[p * channels + c]! / w;
  }
  return { height: H, width: W, channels, data };
}

/** Adds one tile's weighted output into the running sums. */
function accumulate(
  sum: Float64Array,
  weight: Float64Array,
  W: number,
  C: number,
  out: HWC<Float32Array>,
  ty: AxisTile,
  tx: AxisTile,
): void {
  for (let y = ty.keepStart; y < ty.keepEnd; y++) {
    const wy = ty.weights[y - ty.keepStart]!;
    const oy = y - ty.outStart;
    for (let x = tx.keepStart; x < tx.keepEnd; x++) {
      const w = wy * tx.weights[x - tx.keepStart]!;
      const src = (oy * out.width + (x - tx.outStart)) * C;
      const dst = (y * W + x) * C;
      weight[y * W + x] = weight[y * W + x]! + w;
      for (let c = 0; c < C; c++) sum[dst + c] = sum[dst + c]! + w * out.data[src + c]!;
    }
  }
}
