/**
 * Plain float64 JavaScript definitions of the 3D kernels a 3D U-Net trains with (NDHWC), written
 * from their definitions (TensorFlow's conventions for 'same' padding: the total padding
 * max((ceil(n / s) - 1) * s + k - n, 0) split with the smaller half in front), independent of
 * both tfjs backends: the tests' ground truth.
 */
export type Shape5 = [number, number, number, number, number];
export type Triple = [number, number, number];
export type Pad = 'same' | 'valid';

export const triple = (v: number | readonly number[]): Triple =>
  typeof v === 'number' ? [v, v, v] : [v[0]!, v[1]!, v[2]!];
export const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** Output length and front padding of one spatial axis. */
export function axisInfo(n: number, k: number, s: number, pad: Pad): { out: number; front: number } {
  if (pad === 'valid') return { out: Math.ceil((n - k + 1) / s), front: 0 };
  const out = Math.ceil(n / s);
  const total = Math.max((out - 1) * s + k - n, 0);
  return { out, front: Math.floor(total / 2) };
}

/** The geometry of a conv3d / pool3d: output shape and front paddings. */
export function geometry(xShape: Shape5, kernel: Triple, strides: Triple, pad: Pad) {
  const axes = [0, 1, 2].map((i) => axisInfo(xShape[i + 1]!, kernel[i]!, strides[i]!, pad));
  return { out: axes.map((a) => a.out) as Triple, front: axes.map((a) => a.front) as Triple };
}

/**
 * Calls `f(b, od, oh, ow, id, ih, iw, kd, kh, kw)` for every (output position, in-bounds input
 * position, filter tap) triple of a strided, padded 3D window.
 */
function forEachTap(
  xShape: Shape5,
  kernel: Triple,
  strides: Triple,
  pad: Pad,
  f: (b: number, o: Triple, i: Triple, k: Triple) => void,
): Triple {
  const [n, d, h, w] = xShape;
  const { out, front } = geometry(xShape, kernel, strides, pad);
  for (let b = 0; b < n; b++)
    for (let od = 0; od < out[0]; od++)
      for (let oh = 0; oh < out[1]; oh++)
        for (let ow = 0; ow < out[2]; ow++)
          for (let kd = 0; kd < kernel[0]; kd++) {
            const id = od * strides[0] - front[0] + kd;
            if (id < 0 || id >= d) continue;
            for (let kh = 0; kh < kernel[1]; kh++) {
              const ih = oh * strides[1] - front[1] + kh;
              if (ih < 0 || ih >= h) continue;
              for (let kw = 0; kw < kernel[2]; kw++) {
                const iw = ow * strides[2] - front[2] + kw;
                if (iw < 0 || iw >= w) continue;
                f(b, [od, oh, ow], [id, ih, iw], [kd, kh, kw]);
              }
            }
          }
  return out;
}

const at5 = (shape: readonly number[], b: number, p: Triple, c: number) =>
  (((b * shape[1]! + p[0]) * shape[2]! + p[1]) * shape[3]! + p[2]) * shape[4]! + c;

/** y = conv3d(x, filter): filter [kd, kh, kw, cin, cout]. */
export function conv3d(
  x: ArrayLike<number>,
  xShape: Shape5,
  filter: ArrayLike<number>,
  filterShape: Shape5,
  strides: Triple,
  pad: Pad,
): { y: Float64Array; shape: Shape5 } {
  const [kd, kh, kw, cin, cout] = filterShape;
  const { out } = geometry(xShape, [kd, kh, kw], strides, pad);
  const shape: Shape5 = [xShape[0], ...out, cout];
  const y = new Float64Array(size(shape));
  forEachTap(xShape, [kd, kh, kw], strides, pad, (b, o, i, k) => {
    const xi = at5(xShape, b, i, 0);
    const yi = at5(shape, b, o, 0);
    const fi = ((k[0] * kh + k[1]) * kw + k[2]) * cin * cout;
    for (let c = 0; c < cin; c++)
      for (let m = 0; m < cout; m++) y[yi + m] = y[yi + m]! + x[xi + c]! * filter[fi + c * cout + m]!;
  });
  return { y, shape };
}

/**
 * dx = Conv3DBackpropInputV2(dy, filter) with inputShape xShape: the adjoint of conv3d in x,
 * i.e. the forward pass of conv3dTranspose(dy, filter, xShape).
 */
export function conv3dBackpropInput(
  dy: ArrayLike<number>,
  filter: ArrayLike<number>,
  filterShape: Shape5,
  xShape: Shape5,
  strides: Triple,
  pad: Pad,
): Float64Array {
  const [kd, kh, kw, cin, cout] = filterShape;
  const { out } = geometry(xShape, [kd, kh, kw], strides, pad);
  const dyShape: Shape5 = [xShape[0], ...out, cout];
  const dx = new Float64Array(size(xShape));
  forEachTap(xShape, [kd, kh, kw], strides, pad, (b, o, i, k) => {
    const xi = at5(xShape, b, i, 0);
    const yi = at5(dyShape, b, o, 0);
    const fi = ((k[0] * kh + k[1]) * kw + k[2]) * cin * cout;
    for (let c = 0; c < cin; c++) {
      let s = 0;
      for (let m = 0; m < cout; m++) s += dy[yi + m]! * filter[fi + c * cout + m]!;
      dx[xi + c] = dx[xi + c]! + s;
    }
  });
  return dx;
}

/** dfilter = Conv3DBackpropFilterV2(x, dy): the adjoint of conv3d in the filter. */
export function conv3dBackpropFilter(
  x: ArrayLike<number>,
  xShape: Shape5,
  dy: ArrayLike<number>,
  filterShape: Shape5,
  strides: Triple,
  pad: Pad,
): Float64Array {
  const [kd, kh, kw, cin, cout] = filterShape;
  const { out } = geometry(xShape, [kd, kh, kw], strides, pad);
  const dyShape: Shape5 = [xShape[0], ...out, cout];
  const df = new Float64Array(size(filterShape));
  forEachTap(xShape, [kd, kh, kw], strides, pad, (b, o, i, k) => {
    const xi = at5(xShape, b, i, 0);
    const yi = at5(dyShape, b, o, 0);
    const fi = ((k[0] * kh + k[1]) * kw + k[2]) * cin * cout;
    for (let c = 0; c < cin; c++)
      for (let m = 0; m < cout; m++) df[fi + c * cout + m] = df[fi + c * cout + m]! + x[xi + c]! * dy[yi + m]!;
  });
  return df;
}

/**
 * Max or average pooling and its gradient for the incoming dy. Max: each window's value is its
 * maximum over in-bounds positions; the gradient goes to the position `tie` picks among equal
 * maxima ('first' or 'last' in d, h, w scan order). Average: the mean over in-bounds positions
 * (TensorFlow's count excludes padding).
 */
export function pool3d(
  kind: 'max' | 'avg',
  x: ArrayLike<number>,
  xShape: Shape5,
  kernel: Triple,
  strides: Triple,
  pad: Pad,
  dy?: ArrayLike<number>,
  tie: 'first' | 'last' = 'first',
): { y: Float64Array; shape: Shape5; dx: Float64Array } {
  const c = xShape[4];
  const { out } = geometry(xShape, kernel, strides, pad);
  const shape: Shape5 = [xShape[0], ...out, c];
  const y = new Float64Array(size(shape)).fill(kind === 'max' ? -Infinity : 0);
  const count = new Float64Array(size(shape));
  const arg = new Int32Array(size(shape)).fill(-1);
  const taps: [number, number][] = [];
  forEachTap(xShape, kernel, strides, pad, (b, o, i) => {
    const xi = at5(xShape, b, i, 0);
    const yi = at5(shape, b, o, 0);
    taps.push([xi, yi]);
    for (let ch = 0; ch < c; ch++) {
      const v = x[xi + ch]!;
      if (kind === 'avg') {
        y[yi + ch] = y[yi + ch]! + v;
        count[yi + ch] = count[yi + ch]! + 1;
      } else if (v > y[yi + ch]! || (tie === 'last' && v === y[yi + ch]) || arg[yi + ch] === -1) {
        y[yi + ch] = v;
        arg[yi + ch] = xi + ch;
      }
    }
  });
  if (kind === 'avg') for (let i = 0; i < y.length; i++) y[i] = y[i]! / count[i]!;
  const dx = new Float64Array(size(xShape));
  if (dy) {
    if (kind === 'max')
      for (let i = 0; i < y.length; i++) {
        const at = arg[i]!;
        dx[at] = dx[at]! + dy[i]!;
      }
    else
      for (const [xi, yi] of taps)
        for (let ch = 0; ch < c; ch++) dx[xi + ch] = dx[xi + ch]! + dy[yi + ch]! / count[yi + ch]!;
  }
  return { y, shape, dx };
}
