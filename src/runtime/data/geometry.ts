/**
 * Geometric transforms of HWC rasters for augmentation: crop (with reflection padding), flips,
 * 90-degree rotations, transpose, and warping by a displacement field (bilinear for images,
 * nearest for masks). Every function returns a new raster of the same array type.
 */

/** Row-major height x width x channels values. */
export interface HWC<T extends Float32Array | Uint8Array | Uint16Array> {
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly data: T;
}

/** A fresh array of the same kind as `data`. */
function like<T extends Float32Array | Uint8Array | Uint16Array>(data: T, n: number): T {
  return new (data.constructor as new (n: number) => T)(n);
}

/** Index `i` reflected into [0, n) without repeating the edge (numpy's 'reflect'). */
export function reflectIndex(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  const m = ((i % period) + period) % period;
  return m < n ? m : period - m;
}

/** Builds an `h` x `w` raster whose pixel (r, c) comes from source pixel `from(r, c)`. */
function remap<T extends Float32Array | Uint8Array | Uint16Array>(
  x: HWC<T>,
  h: number,
  w: number,
  from: (r: number, c: number) => number,
): HWC<T> {
  const { channels: ch, data } = x;
  const out = like(data, h * w * ch);
  for (let r = 0; r < h; r++) {
    for (let c = 0; c < w; c++) {
      const src = from(r, c) * ch;
      const dst = (r * w + c) * ch;
      for (let k = 0; k < ch; k++) out[dst + k] = data[src + k] ?? 0;
    }
  }
  return { height: h, width: w, channels: ch, data: out };
}

/**
 * The `h` x `w` window whose top-left corner is at (top, left); rows and columns outside the
 * source (negative, or past the edge) are filled by reflection, so a patch larger than the image works.
 */
export function crop<T extends Float32Array | Uint8Array | Uint16Array>(
  x: HWC<T>,
  top: number,
  left: number,
  h: number,
  w: number,
): HWC<T> {
  return remap(x, h, w, (r, c) => reflectIndex(top + r, x.height) * x.width + reflectIndex(left + c, x.width));
}

/**
 * The `srcH` x `srcW` window at (top, left) resampled to `h` x `w` (a zoom by h / srcH): bilinear
 * for images, nearest for masks and labels; pixel centres map to pixel centres, and samples
 * outside the source reflect as `crop` does.
 */
export function cropResized<T extends Float32Array | Uint8Array | Uint16Array>(
  x: HWC<T>,
  top: number,
  left: number,
  srcH: number,
  srcW: number,
  h: number,
  w: number,
  mode: 'bilinear' | 'nearest',
): HWC<T> {
  const sy = srcH / h;
  const sx = srcW / w;
  const dy = new Float32Array(h * w);
  const dx = new Float32Array(h * w);
  for (let r = 0; r < h; r++) {
    for (let c = 0; c < w; c++) {
      // warp samples the output pixel (r, c) at (r + dy, c + dx) of the source.
      dy[r * w + c] = top + (r + 0.5) * sy - 0.5 - r;
      dx[r * w + c] = left + (c + 0.5) * sx - 0.5 - c;
    }
  }
  return warp(x, { height: h, width: w, dx, dy }, mode);
}

type Values = Float32Array | Uint8Array | Uint16Array;

const product = (sizes: readonly number[]) => sizes.reduce((a, b) => a * b, 1);

/**
 * A row-major array of `shape` (`channels` values per element) reversed along `axis`: images
 * ([h, w]) and volumes ([d, h, w]) alike. Whole runs of the axes after `axis` move at once.
 */
export function flipAxis<T extends Values>(data: T, shape: readonly number[], channels: number, axis: number): T {
  const out = like(data, data.length);
  const n = shape[axis]!;
  const run = channels * product(shape.slice(axis + 1));
  const outer = product(shape.slice(0, axis));
  for (let o = 0; o < outer; o++)
    for (let i = 0; i < n; i++) {
      // A plain copy: a run is one pixel's channels when the last axis flips (no view per pixel).
      const from = (o * n + i) * run;
      const to = (o * n + n - 1 - i) * run;
      for (let j = 0; j < run; j++) out[to + j] = data[from + j]!;
    }
  return out;
}

/**
 * `k` counter-clockwise quarter turns in the plane of the last two axes (rows, columns) of a
 * row-major array of `shape`: an image turns, a volume turns slice by slice. An odd `k` swaps the
 * last two sizes; the new shape comes back with the new array.
 */
export function quarterTurns<T extends Values>(
  data: T,
  shape: readonly number[],
  channels: number,
  k: number,
): { data: T; shape: number[] } {
  const turns = ((k % 4) + 4) % 4;
  const [h, w] = [shape[shape.length - 2]!, shape[shape.length - 1]!];
  const [th, tw] = turns % 2 === 1 ? [w, h] : [h, w];
  // The source pixel of turned pixel (r, c) in a plane is start + r * dr + c * dc: one turn takes
  // it from (c, w-1-r), a half turn from (h-1-r, w-1-c), three from (h-1-c, r).
  const [start, dr, dc] = [
    [0, w, 1],
    [w - 1, -1, w],
    [h * w - 1, -w, -1],
    [(h - 1) * w, 1, -w],
  ][turns]!;
  const out = like(data, data.length);
  const planes = product(shape.slice(0, -2));
  for (let z = 0, to = 0; z < planes; z++)
    for (let r = 0; r < th; r++)
      for (let c = 0; c < tw; c++, to += channels) {
        const from = (z * h * w + start! + r * dr! + c * dc!) * channels;
        for (let k = 0; k < channels; k++) out[to + k] = data[from + k]!;
      }
  return { data: out, shape: [...shape.slice(0, -2), th, tw] };
}

/** Mirrors left-right (`horizontal`) or top-bottom (`vertical`). */
export function flip<T extends Values>(x: HWC<T>, axis: 'horizontal' | 'vertical'): HWC<T> {
  return { ...x, data: flipAxis(x.data, [x.height, x.width], x.channels, axis === 'horizontal' ? 1 : 0) };
}

/** Rotates counter-clockwise by k * 90 degrees; odd k swaps height and width. */
export function rotate90<T extends Values>(x: HWC<T>, k: number): HWC<T> {
  const turned = quarterTurns(x.data, [x.height, x.width], x.channels, k);
  return { height: turned.shape[0]!, width: turned.shape[1]!, channels: x.channels, data: turned.data };
}

/** Swaps rows and columns. */
export function transpose<T extends Float32Array | Uint8Array | Uint16Array>(x: HWC<T>): HWC<T> {
  return remap(x, x.width, x.height, (r, c) => c * x.width + r);
}

/** A dense displacement field: the output pixel (r, c) samples the input at (r + dy, c + dx). */
export interface DisplacementField {
  readonly height: number;
  readonly width: number;
  readonly dx: Float32Array;
  readonly dy: Float32Array;
}

/** Catmull-Rom weights for the four control points around a fraction f in [0, 1). */
function cubicWeights(f: number): [number, number, number, number] {
  const f2 = f * f;
  const f3 = f2 * f;
  return [(-f3 + 2 * f2 - f) / 2, (3 * f3 - 5 * f2 + 2) / 2, (-3 * f3 + 4 * f2 + f) / 2, (f3 - f2) / 2];
}

/** Bicubic upsampling of a g x g grid (control points spread over the image, corners included). */
function upsample(grid: readonly number[], g: number, h: number, w: number): Float32Array {
  const at = (i: number, j: number): number =>
    grid[Math.min(g - 1, Math.max(0, i)) * g + Math.min(g - 1, Math.max(0, j))] ?? 0;
  const rows = new Float32Array(g * w);
  for (let i = 0; i < g; i++) {
    for (let c = 0; c < w; c++) {
      const u = w > 1 ? (c * (g - 1)) / (w - 1) : 0;
      const j = Math.min(g - 2, Math.floor(u));
      const k = cubicWeights(u - j);
      rows[i * w + c] = k[0] * at(i, j - 1) + k[1] * at(i, j) + k[2] * at(i, j + 1) + k[3] * at(i, j + 2);
    }
  }
  const out = new Float32Array(h * w);
  for (let r = 0; r < h; r++) {
    const u = h > 1 ? (r * (g - 1)) / (h - 1) : 0;
    const i = Math.min(g - 2, Math.floor(u));
    const k = cubicWeights(u - i);
    const row = (m: number, c: number) => rows[Math.min(g - 1, Math.max(0, m)) * w + c] ?? 0;
    for (let c = 0; c < w; c++)
      out[r * w + c] = k[0] * row(i - 1, c) + k[1] * row(i, c) + k[2] * row(i + 1, c) + k[3] * row(i + 2, c);
  }
  return out;
}

/**
 * The 2015 U-Net paper's elastic deformation field: displacements drawn on a coarse g x g grid
 * (`gridDx`, `gridDy`, row-major, in pixels) and interpolated bicubically to every pixel.
 */
export function elasticField(
  gridDx: readonly number[],
  gridDy: readonly number[],
  g: number,
  height: number,
  width: number,
): DisplacementField {
  if (g < 2 || gridDx.length !== g * g || gridDy.length !== g * g)
    throw new RangeError(`elasticField: expected ${g}x${g} control points (g >= 2)`);
  return { height, width, dx: upsample(gridDx, g, height, width), dy: upsample(gridDy, g, height, width) };
}

/**
 * Resamples `x` along a displacement field: bilinear (images) or nearest (masks, labels); edges
 * reflect. The output has the field's size (the source's, for a deformation; another, for a zoom).
 */
export function warp<T extends Float32Array | Uint8Array | Uint16Array>(
  x: HWC<T>,
  field: DisplacementField,
  mode: 'bilinear' | 'nearest',
): HWC<T> {
  const { height: h, width: w, channels: ch, data } = x;
  const { height: oh, width: ow } = field;
  const out = like(data, oh * ow * ch);
  for (let r = 0; r < oh; r++) {
    for (let c = 0; c < ow; c++) {
      const p = r * ow + c;
      const sy = r + (field.dy[p] ?? 0);
      const sx = c + (field.dx[p] ?? 0);
      if (mode === 'nearest') {
        const src = (reflectIndex(Math.round(sy), h) * w + reflectIndex(Math.round(sx), w)) * ch;
        for (let k = 0; k < ch; k++) out[p * ch + k] = data[src + k] ?? 0;
        continue;
      }
      const y0 = Math.floor(sy);
      const x0 = Math.floor(sx);
      const fy = sy - y0;
      const fx = sx - x0;
      const a = (reflectIndex(y0, h) * w + reflectIndex(x0, w)) * ch;
      const b = (reflectIndex(y0, h) * w + reflectIndex(x0 + 1, w)) * ch;
      const cc = (reflectIndex(y0 + 1, h) * w + reflectIndex(x0, w)) * ch;
      const d = (reflectIndex(y0 + 1, h) * w + reflectIndex(x0 + 1, w)) * ch;
      for (let k = 0; k < ch; k++) {
        const top = (data[a + k] ?? 0) * (1 - fx) + (data[b + k] ?? 0) * fx;
        const bottom = (data[cc + k] ?? 0) * (1 - fx) + (data[d + k] ?? 0) * fx;
        out[p * ch + k] = top * (1 - fy) + bottom * fy;
      }
    }
  }
  return { height: oh, width: ow, channels: ch, data: out };
}
