/**
 * Running a network on an image of any size. Each axis is planned on its own: an image that fits
 * one tile is reflection-padded (at its end) up to the next size the network accepts, run once
 * and cropped back; a larger one is covered by overlapping tiles whose
 * outputs are blended with a raised-cosine window, so seams do not show. Networks with unpadded
 * ('valid') convs, whose output is smaller than their input by a margin on each side, get their
 * context from the neighbouring pixels, or from a reflection at the image border (the 2015
 * paper's overlap-tile strategy).
 *
 * Images and volumes share it: the plan is per axis (`planAxis`), the tiles of an array of any
 * number of axes are every combination of one tile per axis (`tileGrid`), and `TileBlend` sums
 * their outputs; `runTiled` drives it for HWC images, `predictVolume` (volume.ts) for volumes.
 * Pure functions over typed arrays and a `TileRunner` callback: nothing here knows about ONNX or
 * tfjs, so the arithmetic is tested exactly with fake models.
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

/** The largest 2D tile side when none is asked for (volumes have their own, in volume.ts). */
export const DEFAULT_TILE = 512;
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

/** Every combination of one tile per axis, in row-major order (the last axis fastest). */
export function* tileGrid(plans: readonly AxisPlan[]): Generator<readonly AxisTile[]> {
  const index = plans.map(() => 0);
  for (;;) {
    yield plans.map((p, a) => p.tiles[index[a]!]!);
    let a = plans.length - 1;
    while (a >= 0 && ++index[a]! === plans[a]!.tiles.length) index[a--] = 0;
    if (a < 0) return;
  }
}

/**
 * The blend of overlapping tile outputs over an array of any number of axes ([h, w] images,
 * [d, h, w] volumes) with `channels` values per element: each tile adds its output times the
 * product of its axes' window weights over its kept ranges; `result` divides by the summed
 * weights. Sums are float64 and divided once, so a network that returns its input gives the
 * input back bit for bit.
 */
export class TileBlend {
  private readonly sum: Float64Array;
  private readonly weight: Float64Array;

  constructor(
    readonly shape: readonly number[],
    readonly channels: number,
  ) {
    const n = shape.reduce((a, b) => a * b, 1);
    this.sum = new Float64Array(n * channels);
    this.weight = new Float64Array(n);
  }

  /**
   * Adds one tile's output (row-major over its output sizes, `inSize - 2 * margin` per axis,
   * then channels).
   */
  add(tiles: readonly AxisTile[], out: ArrayLike<number>): void {
    const { shape, channels: C } = this;
    const last = shape.length - 1;
    const outSize = tiles.map((t) => t.inSize - 2 * (t.outStart - t.inStart));
    // An odometer over the kept positions of every axis but the last; the last is the inner loop.
    const at = tiles.map((t) => t.keepStart);
    const lt = tiles[last]!;
    for (;;) {
      let w0 = 1;
      let dst = 0;
      let src = 0;
      for (let a = 0; a < last; a++) {
        w0 *= tiles[a]!.weights[at[a]! - tiles[a]!.keepStart]!;
        dst = dst * shape[a]! + at[a]!;
        src = src * outSize[a]! + (at[a]! - tiles[a]!.outStart);
      }
      for (let x = lt.keepStart; x < lt.keepEnd; x++) {
        const w = w0 * lt.weights[x - lt.keepStart]!;
        const p = dst * shape[last]! + x;
        const q = (src * outSize[last]! + (x - lt.outStart)) * C;
        this.weight[p] = this.weight[p]! + w;
        for (let c = 0; c < C; c++) this.sum[p * C + c] = this.sum[p * C + c]! + w * out[q + c]!;
      }
      let a = last - 1;
      while (a >= 0 && ++at[a]! === tiles[a]!.keepEnd) at[a] = tiles[a--]!.keepStart;
      if (a < 0) return;
    }
  }

  /** The blended values, row-major with channels last. */
  result(): Float32Array {
    const C = this.channels;
    const data = new Float32Array(this.sum.length);
    for (let p = 0; p < this.weight.length; p++) {
      const w = this.weight[p]!;
      for (let c = 0; c < C; c++) data[p * C + c] = this.sum[p * C + c]! / w;
    }
    return data;
  }
}

/**
 * Runs `run` over the tiles of `image` and blends the outputs into one HWC raster of the
 * image's height and width (see TileBlend).
 */
export async function runTiled(
  image: HWC<Float32Array>,
  run: TileRunner,
  options: TilingOptions,
): Promise<HWC<Float32Array>> {
  const { height: H, width: W } = image;
  const { rows, cols } = planTiles(H, W, options);
  let blend: TileBlend | undefined;
  for (const [ty, tx] of tileGrid([rows, cols]) as Iterable<[AxisTile, AxisTile]>) {
    const out = await run(crop(image, ty.inStart, tx.inStart, ty.inSize, tx.inSize));
    const [mh, mw] = [ty.outStart - ty.inStart, tx.outStart - tx.inStart];
    if (out.height !== ty.inSize - 2 * mh || out.width !== tx.inSize - 2 * mw) {
      throw new TilingError(
        `the network gave a ${out.height}x${out.width} output for a ${ty.inSize}x${tx.inSize} tile; expected ${ty.inSize - 2 * mh}x${tx.inSize - 2 * mw}`,
      );
    }
    blend ??= new TileBlend([H, W], out.channels);
    if (out.channels !== blend.channels)
      throw new TilingError(`tiles gave ${blend.channels} and ${out.channels} output channels`);
    blend.add([ty, tx], out.data);
  }
  return { height: H, width: W, channels: blend!.channels, data: blend!.result() };
}
