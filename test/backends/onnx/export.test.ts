import { beforeAll, describe, expect, it } from 'vitest';
import {
  countInitializerValues,
  exportOnnx,
  summarizeOnnx,
  type OnnxSummary,
} from '../../../src/compiler/backends/onnx/index.js';
import { randomWeights, type WeightTensor } from '../../../src/compiler/backends/weights.js';
import type { Graph, BatchNormOp } from '../../../src/compiler/index.js';
import { compileFile, readSpec } from '../../helpers.js';
import { baseOptions, exportRandom, graphOf } from './helpers.js';
import { inlineCases, stridedGraph } from './specs.js';

const PARAMS = 31_054_145;

describe('the canonical U-Net (specs/unet.yaml)', () => {
  let graph: Graph;
  let weights: Map<string, WeightTensor>;
  let bytes: Uint8Array;
  let summary: OnnxSummary;
  const options = { ...baseOptions, specSource: readSpec('specs/unet.yaml').body };
  beforeAll(() => {
    graph = compileFile('specs/unet.yaml').graph!;
    weights = randomWeights(graph, 1);
    bytes = exportOnnx(graph, weights, options);
    summary = summarizeOnnx(bytes);
  });

  it('holds exactly the parameter count in its initializers, each weight once', () => {
    expect(countInitializerValues(bytes)).toBe(PARAMS);
    const names = summary.initializers.map((i) => i.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toContain('enc1.conv1/kernel');
    expect(names).toContain('enc1.bn1/moving_variance');
    expect(summary.initializers.find((i) => i.name === 'enc1.conv1/kernel')!.dims).toEqual([64, 1, 3, 3]);
    expect(summary.initializers.find((i) => i.name === 'dec1.up/kernel')!.dims).toEqual([128, 64, 2, 2]);
  });

  it('declares IR 7, opset 13, producer and symbolic NCHW dims', () => {
    expect(summary.irVersion).toBe(7);
    expect([...summary.opsets]).toEqual([['', 13]]);
    expect([summary.producer, summary.producerVersion, summary.modelVersion]).toEqual(['unetc', '0.0.0-test', 1]);
    expect(summary.inputDims).toEqual(['N', 1, 'H', 'W']);
    expect(summary.outputDims).toEqual(['N', 1, 'H', 'W']);
  });

  it('has sorted metadata with every expected key', () => {
    const keys = summary.metadata.map(([k]) => k);
    expect(keys).toEqual([...keys].sort());
    const meta = Object.fromEntries(summary.metadata);
    expect(meta).toMatchObject({
      input_layout: 'NCHW',
      input_normalization: 'none',
      spatial_divisor: '16',
      output_activation: 'sigmoid',
      threshold: '0.5',
      model_name: 'unet',
      unetc_version: '0.0.0-test',
      class_names: 'null',
    });
    expect(meta.source_spec_sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(meta.weights_sha256).toMatch(/^[0-9a-f]{64}$/);
    // The graph as stored in the file is the one whose hash the metadata records (readers verify it).
    expect(meta.graph_sha256).toBe(summary.graphSha256);
  });

  it('has no Dropout, no auto_pad, sorted attributes, and BatchNorm with the IR epsilon', () => {
    const nodes = summary.nodes;
    expect(nodes.filter((n) => n.opType === 'Dropout')).toEqual([]);
    expect(nodes.flatMap((n) => n.attributes.filter(([name]) => name === 'auto_pad'))).toEqual([]);
    for (const n of nodes) expect(n.attributes.map(([a]) => a)).toEqual(n.attributes.map(([a]) => a).sort());
    const irEps = new Map(
      graph.ops.filter((o): o is BatchNormOp => o.kind === 'BatchNorm').map((o) => [o.name, o.epsilon]),
    );
    const bns = nodes.filter((n) => n.opType === 'BatchNormalization');
    expect(bns.length).toBe(irEps.size);
    for (const n of bns) expect(n.attributes).toEqual([['epsilon', Math.fround(irEps.get(n.name)!)]]);
  });

  it('is byte-identical for the same inputs, and differs when one weight value changes', () => {
    expect(Buffer.compare(exportOnnx(graph, weights, options), bytes)).toBe(0);
    const changed = new Map(weights);
    const bias = weights.get('dec2.conv1/bias')!;
    const data = bias.data.slice();
    data[3] = data[3]! + 1e-3;
    changed.set('dec2.conv1/bias', { shape: bias.shape, data });
    const other = exportOnnx(graph, changed, options);
    expect(other.length).toBe(bytes.length);
    expect(Buffer.compare(other, bytes)).not.toBe(0);
    expect(Object.fromEntries(summarizeOnnx(other).metadata).weights_sha256).not.toBe(
      Object.fromEntries(summary.metadata).weights_sha256,
    );
    const otherSummary = summarizeOnnx(other);
    expect(Object.fromEntries(otherSummary.metadata).graph_sha256).toBe(otherSummary.graphSha256);
    expect(otherSummary.graphSha256).not.toBe(summary.graphSha256);
  });
});

describe('options and errors', () => {
  const small = graphOf(inlineCases[0]!.yaml);
  it.each([
    [13, 7],
    [14, 7],
    [15, 8],
    [16, 8],
    [17, 8],
  ])('opset %i is written with IR version %i', (opset, ir) => {
    const s = summarizeOnnx(exportRandom(small, 1, { opset }).bytes);
    expect([s.irVersion, s.opsets.get('')]).toEqual([ir, opset]);
  });

  it.each([12, 18, 13.5])('rejects opset %s', (opset) => {
    expect(() => exportRandom(small, 1, { opset })).toThrow(
      /unsupported ONNX opset .*expected one of 13, 14, 15, 16, 17/,
    );
  });

  it.each([
    [
      'a missing weight',
      (w: Map<string, WeightTensor>) => w.delete('enc1.conv1/kernel'),
      /missing weight 'enc1.conv1\/kernel' \[3, 3, 1, 4\]/,
    ],
    [
      'a wrong shape',
      (w: Map<string, WeightTensor>) => w.set('enc1.conv1/bias', { shape: [5], data: new Float32Array(5) }),
      /'enc1.conv1\/bias' has shape \[5\], expected \[4\]/,
    ],
    [
      'an unknown weight',
      (w: Map<string, WeightTensor>) => w.set('nope/kernel', { shape: [1], data: new Float32Array(1) }),
      /unexpected weight 'nope\/kernel'/,
    ],
  ])('rejects weights with %s', (_name, edit, message) => {
    const w = randomWeights(small, 1);
    edit(w);
    expect(() => exportOnnx(small, w, baseOptions)).toThrow(message);
  });

  it('folds conv -> BatchNorm pairs and reports them; the file then holds fewer values', () => {
    const g = graphOf(inlineCases.find((c) => c.foldBn)!.yaml);
    const plain = exportRandom(g);
    const folded = exportRandom(g, 7, { foldBn: true });
    const bns = g.ops.filter((o) => o.kind === 'BatchNorm');
    expect(folded.foldedBatchNorms).toEqual(bns.map((o) => o.name));
    expect(summarizeOnnx(folded.bytes).opTypes).not.toContain('BatchNormalization');
    // Each fold drops gamma, beta, mean and variance; the template's convs already had a bias.
    const dropped = bns.reduce((a, o) => a + 4 * o.channels, 0);
    expect(countInitializerValues(plain.bytes) - countInitializerValues(folded.bytes)).toBe(dropped);
  });

  it.each([
    [
      'any size: pads vary with the size, so auto_pad',
      stridedGraph(),
      [
        ['auto_pad', 'SAME_UPPER'],
        ['kernel_shape', [3, 3]],
        ['strides', [2, 2]],
      ],
    ],
    [
      'a fixed odd size: explicit pads',
      stridedGraph(', size: [7, 9]'),
      [
        ['kernel_shape', [3, 3]],
        ['pads', [1, 1, 1, 1]],
        ['strides', [2, 2]],
      ],
    ],
    [
      'a fixed even size: explicit pads, the odd one at the end',
      stridedGraph(', size: [8, 10]'),
      [
        ['kernel_shape', [3, 3]],
        ['pads', [0, 0, 1, 1]],
        ['strides', [2, 2]],
      ],
    ],
  ])('pads a stride-2 same conv for %s', (_name, yaml, attributes) => {
    const s = summarizeOnnx(exportRandom(graphOf(yaml)).bytes);
    expect(s.nodes.find((n) => n.name === 'down')!.attributes).toEqual(attributes);
  });

  it.each([
    ['a size-preserving spec', inlineCases[0]!.yaml, ['N', 1, 'H', 'W'], ['N', 1, 'H', 'W']],
    [
      'a fixed-size spec',
      inlineCases[0]!.yaml.replace('channels: 1', 'channels: 1, size: [32, 48]'),
      ['N', 1, 32, 48],
      ['N', 1, 32, 48],
    ],
    [
      'a fixed-size valid-padding spec',
      inlineCases[1]!.yaml.replace('channels: 1', 'channels: 1, size: [44, 60]'),
      ['N', 1, 44, 60],
      ['N', 1, 4, 20],
    ],
    ['a valid-padding spec', inlineCases[1]!.yaml, ['N', 1, 'H', 'W'], ['N', 1, 'H_out', 'W_out']],
  ])('names dims for %s', (_name, yaml, inputDims, outputDims) => {
    const s = summarizeOnnx(exportRandom(graphOf(yaml)).bytes);
    expect([s.inputDims, s.outputDims]).toEqual([inputDims, outputDims]);
  });
});
