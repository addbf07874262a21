import { expect } from 'vitest';
import { exportOnnxDetailed, type OnnxExport, type OnnxOptions } from '../../../src/compiler/backends/onnx/index.js';
import { onnx } from '../../../src/compiler/backends/onnx/proto.js';
import { randomWeights, type WeightMap } from '../../../src/compiler/backends/weights.js';
import { compileSpec, validSizes, type Graph } from '../../../src/compiler/index.js';

/** Compiles inline YAML; fails the test with the diagnostics when it does not compile. */
export function graphOf(yaml: string, name = 'inline.yaml'): Graph {
  const c = compileSpec({ name, body: yaml });
  expect(c.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message)).toEqual([]);
  return c.graph!;
}

export const baseOptions = { producerVersion: '0.0.0-test', specSource: 'inline' } as const;

export function exportWith(graph: Graph, weights: WeightMap, options: Partial<OnnxOptions> = {}): OnnxExport {
  return exportOnnxDetailed(graph, weights, { ...baseOptions, ...options });
}

export function exportRandom(graph: Graph, seed = 7, options: Partial<OnnxOptions> = {}): OnnxExport {
  return exportWith(graph, randomWeights(graph, seed), options);
}

/** Two different valid sizes per axis (second and third: the first is often degenerate). */
export function twoSizes(graph: Graph): [[number, number], [number, number]] {
  const hs = validSizes(graph, 0, 400);
  const ws = validSizes(graph, 1, 400);
  const pick = (s: number[], i: number) => s[Math.min(i, s.length - 1)]!;
  return [
    [pick(hs, 1), pick(ws, 2)],
    [pick(hs, 2), pick(ws, 1)],
  ];
}

/** A deterministic NCHW input. */
export function inputOf(n: number, c: number, h: number, w: number, seed = 1): Float32Array {
  const x = new Float32Array(n * c * h * w);
  for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 0.37 + seed) + 0.3 * Math.cos(i * 1.7);
  return x;
}

/** max |a - b| / max |b|. */
export function relativeError(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let diff = 0;
  let ref = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    ref = Math.max(ref, Math.abs(b[i]!));
  }
  return diff / ref;
}

/** Decodes, edits and re-encodes a model: deliberately broken exports for negative controls. */
export function tamper(bytes: Uint8Array, edit: (m: ReturnType<typeof onnx.ModelProto.decode>) => void): Uint8Array {
  const m = onnx.ModelProto.decode(bytes);
  edit(m);
  return onnx.ModelProto.encode(m).finish();
}

/**
 * Rewrites a float initializer [O, I, kh, kw] as an exporter that mixed up kh and kw would
 * have written it: the data in [O, I, kw, kh] order under the same dims.
 */
export function swapKernelAxes(bytes: Uint8Array, name: string): Uint8Array {
  return tamper(bytes, (m) => {
    const t = m.graph!.initializer!.find((i) => i.name === name)!;
    const [O, I, KH, KW] = t.dims!.map(Number) as [number, number, number, number];
    const raw = t.rawData!;
    const src = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    const dst = new Float32Array(src.length);
    for (let oi = 0; oi < O * I; oi++)
      for (let y = 0; y < KH; y++)
        for (let x = 0; x < KW; x++) dst[oi * KH * KW + x * KH + y] = src[oi * KH * KW + y * KW + x]!;
    t.rawData = new Uint8Array(dst.buffer);
  });
}
