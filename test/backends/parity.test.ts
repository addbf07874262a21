import { beforeAll, describe, expect, it } from 'vitest';
import type { Graph } from '../../src/compiler/index.js';
import { selectEngine, type Engine } from '../../src/runtime/backend/index.js';
import { PARITY_TOLERANCE } from '../../src/runtime/verify/index.js';
import { compileFile } from '../helpers.js';
import { graphOf, tamper } from './onnx/helpers.js';
import { worstParity } from './worst-parity.js';
import { inlineCases, numericGraph, stridedGraph, transposeGraph } from './onnx/specs.js';

/**
 * The export's promise, checked end to end: tfjs (wasm) and onnxruntime give the same numbers
 * for random weights and randomized BatchNorm statistics, for every op variant, at two sizes.
 */
let engine: Engine;
beforeAll(async () => {
  engine = await selectEngine('wasm');
});

/** The worst parity of `graph` with parity.test's weights, optionally corrupted. */
const worst = (
  graph: Graph,
  corrupt?: (b: Uint8Array) => Uint8Array,
  options: { opset?: number; foldBn?: boolean } = {},
) => worstParity(engine, graph, { ...options, ...(corrupt ? { corrupt } : {}) });

describe('ONNX export matches the tfjs graph', () => {
  const cases: [string, () => Graph, { opset?: number; foldBn?: boolean }][] = [
    ...inlineCases.map((c): [string, () => Graph, { opset?: number; foldBn?: boolean }] => [
      c.name,
      () => graphOf(c.yaml),
      { opset: c.opset, foldBn: c.foldBn },
    ]),
    ['stride-2 same conv, any size (auto_pad)', () => graphOf(stridedGraph()), {}],
    ['stride-2 same conv, fixed odd size (explicit pads)', () => graphOf(stridedGraph(', size: [13, 17]')), {}],
    ['transposed convs, kernel < and > stride', () => graphOf(transposeGraph), {}],
    ['specs/tiny.yaml', () => compileFile('specs/tiny.yaml').graph!, {}],
    ['specs/graph-tiny.yaml', () => compileFile('specs/graph-tiny.yaml').graph!, {}],
    [
      'examples/variants.yaml (RGB, 3-class softmax, fixed 320x480)',
      () => compileFile('examples/variants.yaml').graph!,
      {},
    ],
  ];
  it.each(cases)(
    '%s',
    async (_name, graph, options) => {
      expect(await worst(graph(), undefined, options)).toBeLessThanOrEqual(PARITY_TOLERANCE);
    },
    60_000,
  );

  it.each([
    [
      'BatchNorm epsilon left at the ONNX default',
      (b: Uint8Array) =>
        tamper(b, (m) => {
          for (const n of m.graph!.node!)
            if (n.opType === 'BatchNormalization') n.attribute = n.attribute!.filter((a) => a.name !== 'epsilon');
        }),
    ],
    [
      'one conv weight changed',
      (b: Uint8Array) =>
        tamper(b, (m) => {
          const t = m.graph!.initializer!.find((i) => i.name === 'c1/kernel')!;
          const raw = new Float32Array(new Uint8Array(t.rawData!).slice().buffer);
          raw[0] = raw[0]! + 0.5;
          t.rawData = new Uint8Array(raw.buffer);
        }),
    ],
  ])(
    'negative control: %s fails the same check',
    async (_name, corrupt) => {
      expect(await worst(graphOf(numericGraph), corrupt)).toBeGreaterThan(PARITY_TOLERANCE);
    },
    60_000,
  );

  const seResidual = inlineCases.find((c) => c.name.startsWith('squeeze-excitation ratio 4'))!.yaml;
  it.each([
    [
      "squeeze-excitation's Mul turned into an Add",
      (m: Parameters<Parameters<typeof tamper>[1]>[0]) =>
        void (m.graph!.node!.find((n) => n.opType === 'Mul')!.opType = 'Add'),
    ],
    [
      'a residual Add turned into a Sub',
      (m: Parameters<Parameters<typeof tamper>[1]>[0]) =>
        void (m.graph!.node!.find((n) => n.name === 'enc2.residual')!.opType = 'Sub'),
    ],
  ])(
    'negative control: %s fails the same check',
    async (_name, corrupt) => {
      expect(await worst(graphOf(seResidual), (b) => tamper(b, corrupt))).toBeGreaterThan(PARITY_TOLERANCE);
    },
    60_000,
  );

  const attentionValid = inlineCases.find((c) => c.name === 'attention gates, valid padding with crops')!.yaml;
  it.each([
    [
      "an attention gate's Sigmoid dropped (Mul by the raw logits)",
      (m: Parameters<Parameters<typeof tamper>[1]>[0]) =>
        void (m.graph!.node!.find((n) => n.name === 'dec1.att_sigmoid')!.opType = 'Identity'),
    ],
    [
      "an attention gate's Mul turned into an Add",
      (m: Parameters<Parameters<typeof tamper>[1]>[0]) =>
        void (m.graph!.node!.find((n) => n.name === 'dec2.att_scale')!.opType = 'Add'),
    ],
  ])(
    'negative control: %s fails the same check',
    async (_name, corrupt) => {
      expect(await worst(graphOf(attentionValid), (b) => tamper(b, corrupt))).toBeGreaterThan(PARITY_TOLERANCE);
    },
    60_000,
  );
});
