/**
 * A plain NCHW reference for the IR (batch 1), test-only and independent of tfjs and of the
 * exporter: it reads weights in their tfjs layouts directly, so a wrong transposition or pad
 * in the export shows up as a numeric difference.
 */
import { assertNever, type Graph, type Op } from '../../../src/compiler/index.js';
import type { WeightMap } from '../../../src/compiler/backends/weights.js';

export interface T {
  readonly c: number;
  readonly h: number;
  readonly w: number;
  readonly d: Float32Array;
}

const at = (t: T, c: number, y: number, x: number) => t.d[(c * t.h + y) * t.w + x]!;
const make = (c: number, h: number, w: number): T => ({ c, h, w, d: new Float32Array(c * h * w) });

/** tfjs 'same': total pad max((ceil(n/s) - 1) * s + k - n, 0), the smaller half first. */
function padBegin(n: number, k: number, s: number, padding: string): number {
  return padding === 'same' ? Math.floor(Math.max((Math.ceil(n / s) - 1) * s + k - n, 0) / 2) : 0;
}

/** Cross-correlation with a tfjs kernel [kh, kw, in, out]. */
function conv(
  x: T,
  k: Float32Array,
  bias: Float32Array | undefined,
  out: number,
  [kh, kw]: readonly number[],
  [sh, sw]: readonly number[],
  padding: string,
): T {
  const oh = padding === 'same' ? Math.ceil(x.h / sh!) : Math.floor((x.h - kh!) / sh!) + 1;
  const ow = padding === 'same' ? Math.ceil(x.w / sw!) : Math.floor((x.w - kw!) / sw!) + 1;
  const pt = padBegin(x.h, kh!, sh!, padding);
  const pl = padBegin(x.w, kw!, sw!, padding);
  const y = make(out, oh, ow);
  for (let o = 0; o < out; o++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++) {
        let acc = bias?.[o] ?? 0;
        for (let a = 0; a < kh!; a++)
          for (let b = 0; b < kw!; b++) {
            const yy = i * sh! + a - pt;
            const xx = j * sw! + b - pl;
            if (yy < 0 || yy >= x.h || xx < 0 || xx >= x.w) continue;
            for (let c = 0; c < x.c; c++) acc += at(x, c, yy, xx) * k[((a * kw! + b) * x.c + c) * out + o]!;
          }
        y.d[(o * oh + i) * ow + j] = acc;
      }
  return y;
}

/** Transposed conv with a tfjs kernel [kh, kw, out, in]: scatter, then crop as tfjs does. */
function convTranspose(
  x: T,
  k: Float32Array,
  bias: Float32Array | undefined,
  out: number,
  [kh, kw]: readonly number[],
  [sh, sw]: readonly number[],
  padding: string,
): T {
  const size = (n: number, kk: number, s: number) => (padding === 'same' ? n * s : (n - 1) * s + Math.max(kk, s));
  const begin = (kk: number, s: number) => (padding === 'same' ? Math.floor(Math.max(kk - s, 0) / 2) : 0);
  const oh = size(x.h, kh!, sh!);
  const ow = size(x.w, kw!, sw!);
  const [bt, bl] = [begin(kh!, sh!), begin(kw!, sw!)];
  const y = make(out, oh, ow);
  for (let o = 0; o < out; o++) y.d.fill(bias?.[o] ?? 0, o * oh * ow, (o + 1) * oh * ow);
  for (let c = 0; c < x.c; c++)
    for (let i = 0; i < x.h; i++)
      for (let j = 0; j < x.w; j++)
        for (let a = 0; a < kh!; a++)
          for (let b = 0; b < kw!; b++) {
            const yy = i * sh! + a - bt;
            const xx = j * sw! + b - bl;
            if (yy < 0 || yy >= oh || xx < 0 || xx >= ow) continue;
            for (let o = 0; o < out; o++)
              y.d[(o * oh + yy) * ow + xx]! += at(x, c, i, j) * k[((a * kw! + b) * out + o) * x.c + c]!;
          }
  return y;
}

function map(x: T, f: (v: number, c: number) => number): T {
  const y = make(x.c, x.h, x.w);
  for (let i = 0; i < x.d.length; i++) y.d[i] = f(x.d[i]!, Math.floor(i / (x.h * x.w)));
  return y;
}

function softmax(x: T): T {
  const y = make(x.c, x.h, x.w);
  const hw = x.h * x.w;
  for (let p = 0; p < hw; p++) {
    let max = -Infinity;
    for (let c = 0; c < x.c; c++) max = Math.max(max, x.d[c * hw + p]!);
    let sum = 0;
    for (let c = 0; c < x.c; c++) sum += Math.exp(x.d[c * hw + p]! - max);
    for (let c = 0; c < x.c; c++) y.d[c * hw + p] = Math.exp(x.d[c * hw + p]! - max) / sum;
  }
  return y;
}

function window(x: T, [kh, kw]: readonly number[], [sh, sw]: readonly number[], mode: 'max' | 'avg'): T {
  const y = make(x.c, Math.floor((x.h - kh!) / sh!) + 1, Math.floor((x.w - kw!) / sw!) + 1);
  for (let c = 0; c < x.c; c++)
    for (let i = 0; i < y.h; i++)
      for (let j = 0; j < y.w; j++) {
        let acc = mode === 'max' ? -Infinity : 0;
        for (let a = 0; a < kh!; a++)
          for (let b = 0; b < kw!; b++) {
            const v = at(x, c, i * sh! + a, j * sw! + b);
            acc = mode === 'max' ? Math.max(acc, v) : acc + v / (kh! * kw!);
          }
        y.d[(c * y.h + i) * y.w + j] = acc;
      }
  return y;
}

/** tfjs resize with alignCorners = halfPixelCenters = false: source = dest / scale. */
function upsample(x: T, [sh, sw]: readonly number[], mode: 'nearest' | 'bilinear'): T {
  const y = make(x.c, x.h * sh!, x.w * sw!);
  for (let c = 0; c < x.c; c++)
    for (let i = 0; i < y.h; i++)
      for (let j = 0; j < y.w; j++) {
        const fy = i / sh!;
        const fx = j / sw!;
        const [y0, x0] = [Math.floor(fy), Math.floor(fx)];
        let v: number;
        if (mode === 'nearest') v = at(x, c, y0, x0);
        else {
          const [y1, x1] = [Math.min(y0 + 1, x.h - 1), Math.min(x0 + 1, x.w - 1)];
          const [dy, dx] = [fy - y0, fx - x0];
          const top = at(x, c, y0, x0) * (1 - dx) + at(x, c, y0, x1) * dx;
          const bottom = at(x, c, y1, x0) * (1 - dx) + at(x, c, y1, x1) * dx;
          v = top * (1 - dy) + bottom * dy;
        }
        y.d[(c * y.h + i) * y.w + j] = v;
      }
  return y;
}

function crop(x: T, ref: T): T {
  const [top, left] = [Math.floor((x.h - ref.h) / 2), Math.floor((x.w - ref.w) / 2)];
  const y = make(x.c, ref.h, ref.w);
  for (let c = 0; c < x.c; c++)
    for (let i = 0; i < y.h; i++)
      for (let j = 0; j < y.w; j++) y.d[(c * y.h + i) * y.w + j] = at(x, c, i + top, j + left);
  return y;
}

function concat(ts: readonly T[]): T {
  const y = make(
    ts.reduce((a, t) => a + t.c, 0),
    ts[0]!.h,
    ts[0]!.w,
  );
  let off = 0;
  for (const t of ts) {
    y.d.set(t.d, off);
    off += t.d.length;
  }
  return y;
}

function evalOp(op: Op, ins: readonly T[], weights: WeightMap): T {
  const x = ins[0]!;
  const wt = (s: string) => weights.get(`${op.name}/${s}`)!.data;
  switch (op.kind) {
    case 'Input':
    case 'Dropout':
    case 'Output':
      return x;
    case 'Conv':
      return conv(x, wt('kernel'), op.bias ? wt('bias') : undefined, op.channels, op.kernel, op.stride, op.padding);
    case 'ConvTranspose':
      return convTranspose(
        x,
        wt('kernel'),
        op.bias ? wt('bias') : undefined,
        op.channels,
        op.kernel,
        op.stride,
        op.padding,
      );
    case 'BatchNorm': {
      const [g, b, m, v] = [wt('gamma'), wt('beta'), wt('moving_mean'), wt('moving_variance')];
      return map(x, (val, c) => ((val - m[c]!) / Math.sqrt(v[c]! + op.epsilon)) * g[c]! + b[c]!);
    }
    case 'Activation':
      if (op.fn === 'softmax') return softmax(x);
      if (op.fn === 'relu') return map(x, (v) => Math.max(v, 0));
      if (op.fn === 'leaky-relu') return map(x, (v) => (v < 0 ? op.alpha * v : v));
      if (op.fn === 'elu') return map(x, (v) => (v < 0 ? op.alpha * (Math.exp(v) - 1) : v));
      return map(x, (v) => 1 / (1 + Math.exp(-v)));
    case 'Pool':
      return window(x, op.size, op.stride, op.mode);
    case 'Upsample':
      return upsample(x, op.scale, op.mode);
    case 'Concat':
      return concat(ins);
    case 'Add':
      return { ...x, d: x.d.map((_, i) => ins.reduce((a, t) => a + t.d[i]!, 0)) };
    case 'Crop':
      return crop(x, ins[1]!);
    case 'GlobalAvgPool': {
      const y = make(x.c, 1, 1);
      const hw = x.h * x.w;
      for (let c = 0; c < x.c; c++) {
        let sum = 0;
        for (let p = 0; p < hw; p++) sum += x.d[c * hw + p]!;
        y.d[c] = sum / hw;
      }
      return y;
    }
    case 'Multiply': {
      const s = ins[1]!;
      const hw = x.h * x.w;
      // [C, 1, 1]: one factor per channel; [1, H, W]: one per pixel (attention); else elementwise.
      return {
        ...x,
        d: x.d.map(
          (v, i) =>
            v * (s.h === 1 && s.w === 1 ? s.d[Math.floor(i / hw)]! : s.c === 1 && x.c !== 1 ? s.d[i % hw]! : s.d[i]!),
        ),
      };
    }
    default:
      return assertNever(op);
  }
}

/** Runs the whole graph on one NCHW image. */
export function runReference(graph: Graph, weights: WeightMap, input: T): T {
  const values = new Map<string, T>();
  for (const op of graph.ops)
    values.set(op.name, evalOp(op, op.kind === 'Input' ? [input] : op.inputs.map((n) => values.get(n)!), weights));
  return values.get(graph.ops[graph.ops.length - 1]!.name)!;
}
