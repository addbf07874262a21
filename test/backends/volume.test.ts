import { beforeAll, describe, expect, it } from 'vitest';
import { exportOnnxDetailed } from '../../src/compiler/backends/onnx/index.js';
import { onnx } from '../../src/compiler/backends/onnx/proto.js';
import { buildModel } from '../../src/compiler/backends/tfjs/index.js';
import { initialWeights, randomWeights } from '../../src/compiler/backends/weights.js';
import { inferenceGraph, type Graph } from '../../src/compiler/index.js';
import { selectEngine, type Engine } from '../../src/runtime/backend/index.js';
import { describeParity } from '../../src/runtime/export/onnx.js';
import { PARITY_TOLERANCE, saturatedShare } from '../../src/runtime/verify/index.js';
import { compileFile } from '../helpers.js';
import { graphOf, tamper } from './onnx/helpers.js';
import { worstParity } from './worst-parity.js';

/**
 * 3D graphs and deep supervision, end to end: tfjs (wasm) and onnxruntime agree on random
 * weights and BatchNorm statistics at two volume sizes; deliberately broken exports do not.
 */
let engine: Engine;
beforeAll(async () => {
  engine = await selectEngine('wasm');
});

/** The worst parity of `graph` with this file's weights, optionally with an edited ModelProto. */
const worst = (graph: Graph, corrupt?: (m: ReturnType<typeof onnx.ModelProto.decode>) => void) =>
  worstParity(engine, graph, {
    weightsSeed: 5,
    ...(corrupt ? { corrupt: (b: Uint8Array) => tamper(b, corrupt) } : {}),
  });

const volume = (network: string, input = 'channels: 1, dims: 3', output = 'classes: 1') =>
  `name: v\ninput: {${input}}\noutput: {${output}}\nnetwork: {${network}}\n`;

describe('3D U-Nets: ONNX export matches tfjs', () => {
  const cases: [string, () => Graph][] = [
    ['specs/tiny-3d.yaml', () => compileFile('specs/tiny-3d.yaml').graph!],
    [
      'valid padding with center-cropped skips',
      () => graphOf(volume('depth: 2, filters: [4, 8], block: {padding: valid}')),
    ],
    [
      'residual + squeeze-excitation, add skips, avgpool',
      () => graphOf(volume('depth: 2, filters: [4, 8], block: {residual: true, se: 2}, skip: add, down: avgpool')),
    ],
    [
      'strided-conv down, attention gates, 3-class softmax, 2 channels, leaky-relu',
      () =>
        graphOf(
          volume(
            'depth: 2, filters: [4, 8], down: conv, attention: true, block: {order: [conv, batchnorm, leaky-relu]}',
            'channels: 2, dims: 3',
            'classes: 3',
          ),
        ),
    ],
    [
      'anisotropic pooling [1, 2, 2] then 2, deep supervision, strided-conv down',
      () =>
        graphOf(
          volume(
            'depth: 3, filters: [4, 8, 8], pool: [1, 2, 2], blocks: {enc2: {pool: 2}}, down: conv, deep_supervision: true',
          ),
        ),
    ],
    [
      'non-cubic kernel [1, 3, 3], fixed size [8, 12, 16]',
      () =>
        graphOf(
          volume('depth: 2, filters: [4, 8], block: {kernel: [1, 3, 3]}', 'channels: 1, dims: 3, size: [8, 12, 16]'),
        ),
    ],
  ];
  it.each(cases)(
    '%s',
    async (_name, graph) => {
      expect(await worst(graph())).toBeLessThanOrEqual(PARITY_TOLERANCE);
    },
    120_000,
  );

  it.each([
    [
      'a Conv kernel with two spatial axes swapped (kd <-> kw)',
      (m: ReturnType<typeof onnx.ModelProto.decode>) => {
        const t = m.graph!.initializer!.find((i) => i.name === 'enc1.conv2/kernel')!;
        const [o, c, d, h, w] = t.dims!.map(Number) as [number, number, number, number, number];
        const raw = new Float32Array(new Uint8Array(t.rawData!).slice().buffer);
        const out = new Float32Array(raw.length);
        for (let a = 0; a < o * c; a++)
          for (let z = 0; z < d; z++)
            for (let y = 0; y < h; y++)
              for (let x = 0; x < w; x++) out[((a * d + z) * h + y) * w + x] = raw[((a * d + x) * h + y) * w + z]!;
        t.rawData = new Uint8Array(out.buffer);
      },
    ],
    [
      'a transposed-conv kernel flipped spatially (the conv convention)',
      (m: ReturnType<typeof onnx.ModelProto.decode>) => {
        const t = m.graph!.initializer!.find((i) => i.name === 'dec1.up/kernel')!;
        const raw = new Float32Array(new Uint8Array(t.rawData!).slice().buffer);
        const n = t
          .dims!.slice(2)
          .map(Number)
          .reduce((a, b) => a * b, 1);
        for (let start = 0; start < raw.length; start += n) raw.subarray(start, start + n).reverse();
        t.rawData = new Uint8Array(raw.buffer);
      },
    ],
  ])(
    'negative control: %s fails the same check',
    async (_name, corrupt) => {
      expect(await worst(compileFile('specs/tiny-3d.yaml').graph!, corrupt)).toBeGreaterThan(PARITY_TOLERANCE);
    },
    120_000,
  );

  it('the file is NCDHW with symbolic D, H and W and says so in its metadata', () => {
    const graph = compileFile('specs/tiny-3d.yaml').graph!;
    const m = onnx.ModelProto.decode(
      exportOnnxDetailed(graph, randomWeights(graph, 1), { producerVersion: 'test', specSource: 'x' }).bytes,
    );
    const dims = m.graph!.input![0]!.type!.tensorType!.shape!.dim!.map((d) => d.dimParam || Number(d.dimValue));
    expect(dims).toEqual(['N', 1, 'D', 'H', 'W']);
    const meta = Object.fromEntries(m.metadataProps!.map((p) => [p.key, p.value]));
    expect(meta.input_layout).toBe('NCDHW');
    expect(meta.spatial_divisor).toBe('4');
    const kernel = m.graph!.initializer!.find((i) => i.name === 'enc1.conv1/kernel')!;
    expect(kernel.dims!.map(Number)).toEqual([4, 1, 3, 3, 3]);
  });
});

describe('3D initial and random weights', () => {
  const std = (x: Float32Array) => Math.sqrt(x.reduce((a, v) => a + v * v, 0) / x.length);
  it('He-normal counts all three kernel axes and the input channels in the fan-in', () => {
    const graph = compileFile('specs/unet-3d.yaml').graph!;
    const k = initialWeights(graph, 0).get('enc2.conv2/kernel')!;
    expect(k.shape).toEqual([3, 3, 3, 64, 64]);
    expect(std(k.data) / Math.sqrt(2 / (27 * 64))).toBeCloseTo(1, 1);
    // Negative control: the 2D rule read off a 5-D shape (kd * kh * kw) would be 8x larger.
    expect(std(k.data)).toBeLessThan(Math.sqrt(2 / 27) / 4);
    const up = initialWeights(graph, 0).get('dec2.up/kernel')!;
    expect(up.shape).toEqual([2, 2, 2, 64, 128]);
    expect(std(up.data) / Math.sqrt(2 / (8 * 128))).toBeCloseTo(1, 1);
    const r = randomWeights(graph, 0).get('enc2.conv2/kernel')!;
    expect(std(r.data) / Math.sqrt(1 / (27 * 64))).toBeCloseTo(1, 1);
  });
});

describe('a parity check over saturated outputs says it is weak', () => {
  it.each([
    [[0, 1, 1, 0], 1],
    [[0, 0.5, 1, 0.25], 0.5],
    [[0.1, 0.9], 0],
  ])('%j: %d saturated', (values, share) => {
    expect(saturatedShare(Float32Array.from(values))).toBe(share);
  });
  it('describeParity notes it above one half', () => {
    const r = { size: [16, 16, 16], height: 16, width: 16, maxAbsDiff: 0, maxAbsRef: 1, relative: 0 };
    expect(describeParity([{ ...r, saturated: 0.99 }])).toBe(
      '0.0e+0 at 16x16x16 (weak: 99% of the outputs are saturated at exactly 0 or 1)',
    );
    expect(describeParity([{ ...r, saturated: 0.1 }])).toBe('0.0e+0 at 16x16x16');
  });
});

describe('deep supervision', () => {
  const ds = (extra = '') =>
    graphOf(
      `name: ds\ninput: {channels: 1}\noutput: {classes: 1}\nnetwork: {depth: 3, filters: [4, 8, 16], deep_supervision: true${extra}}\n`,
    );

  it('the export has the main head only, and matches the tfjs main output', async () => {
    const graph = ds();
    expect(graph.deepSupervision?.heads.map((h) => h.op)).toEqual(['dec3.ds_sigmoid', 'dec2.ds_sigmoid']);
    const weights = randomWeights(graph, 3);
    const m = onnx.ModelProto.decode(
      exportOnnxDetailed(graph, weights, { producerVersion: 'test', specSource: 'x' }).bytes,
    );
    expect(m.graph!.node!.filter((n) => n.name!.includes('.ds_'))).toEqual([]);
    expect(m.graph!.initializer!.filter((i) => i.name!.includes('.ds_'))).toEqual([]);
    expect(m.graph!.output).toHaveLength(1);
    expect(await worst(graph)).toBeLessThanOrEqual(PARITY_TOLERANCE);
  }, 120_000);

  it('the tfjs model has the heads as further outputs at 1/2 and 1/4 of the input size', () => {
    const graph = ds();
    const model = buildModel(engine.tf, graph);
    try {
      expect(model.outputs.map((o) => o.shape)).toEqual([
        [null, null, null, 1],
        [null, null, null, 1],
        [null, null, null, 1],
      ]);
      const outs = engine.tf.tidy(() =>
        (model.predict(engine.tf.zeros([1, 32, 48, 1])) as import('@tensorflow/tfjs').Tensor[]).map((t) => t.shape),
      );
      expect(outs).toEqual([
        [1, 32, 48, 1],
        [1, 8, 12, 1],
        [1, 16, 24, 1],
      ]);
    } finally {
      model.dispose();
    }
  });

  it('inferenceGraph drops exactly the heads (negative control: a graph without heads is unchanged)', () => {
    const graph = ds();
    const plain = graphOf(
      'name: ds\ninput: {channels: 1}\noutput: {classes: 1}\nnetwork: {depth: 3, filters: [4, 8, 16]}\n',
    );
    expect(inferenceGraph(graph).ops.map((o) => o.name)).toEqual(plain.ops.map((o) => o.name));
    expect(inferenceGraph(plain)).toBe(plain);
  });
});
