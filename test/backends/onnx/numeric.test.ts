import { describe, expect, it } from 'vitest';
import { randomWeights } from '../../../src/compiler/backends/weights.js';
import { inferShapes, type Graph } from '../../../src/compiler/index.js';
import { closeOnnxSession, createOnnxSession, runOnnx } from '../../../src/runtime/infer/index.js';
import { exportWith, graphOf, inputOf, relativeError, swapKernelAxes, tamper, twoSizes } from './helpers.js';
import { runReference } from './reference.js';
import { inlineCases, numericGraph, stridedGraph, transposeGraph } from './specs.js';

/** ORT's output and the reference's for one image of h x w. */
async function compare(
  graph: Graph,
  bytes: Uint8Array,
  weights: ReturnType<typeof randomWeights>,
  h: number,
  w: number,
): Promise<number> {
  const c = graph.inputChannels;
  const x = inputOf(1, c, h, w, h + w);
  const s = await createOnnxSession(bytes, { threads: 1 });
  const got = await runOnnx(s, x, [1, c, h, w]);
  await closeOnnxSession(s);
  const ref = runReference(graph, weights, { c, h, w, d: x });
  const shape = inferShapes(graph, h, w).shapes.get('output')!;
  expect(got.dims).toEqual([1, shape.c, shape.h, shape.w]);
  expect(got.dims).toEqual([1, ref.c, ref.h, ref.w]);
  return relativeError(got.data, ref.d);
}

const byName = (name: string) => inlineCases.find((c) => c.name.startsWith(name))!.yaml;

interface NumericCase {
  readonly name: string;
  readonly yaml: string;
  /** Image sizes to run, or 'valid': the first pair twoSizes picks from the shape functions. */
  readonly sizes: readonly (readonly [number, number])[] | 'valid';
  readonly foldBn?: boolean;
}

const numericCases: readonly NumericCase[] = [
  {
    name: 'conv [3,5] same, [2,4] same and valid, BN, odd crop, transpose 2x2/2',
    yaml: numericGraph,
    sizes: [
      [9, 13],
      [12, 10],
    ],
  },
  { name: 'the same with BatchNorm folded', yaml: numericGraph, sizes: [[9, 13]], foldBn: true },
  { name: 'valid template with crops', yaml: byName('valid padding'), sizes: 'valid' },
  { name: 'avgpool, nearest, add', yaml: byName('avgpool'), sizes: [[8, 12]] },
  { name: 'strided conv down, bilinear, no skips', yaml: byName('conv down'), sizes: [[8, 12]] },
  { name: 'softmax, leaky-relu, BN before activation', yaml: byName('softmax'), sizes: [[8, 4]] },
  { name: 'elu, no bias', yaml: byName('elu'), sizes: [[4, 8]] },
  { name: 'conv-transpose valid k < s, valid k > s, same k = 3 s = 2', yaml: transposeGraph, sizes: [[3, 4]] },
  {
    name: 'stride-2 same conv, any size (auto_pad SAME_UPPER)',
    yaml: stridedGraph(),
    sizes: [
      [7, 8],
      [8, 7],
    ],
  },
  { name: 'stride-2 same conv, fixed odd size (explicit pads)', yaml: stridedGraph(', size: [7, 9]'), sizes: [[7, 9]] },
  { name: 'folded template BatchNorms', yaml: byName('foldBn'), sizes: [[8, 8]], foldBn: true },
  { name: 'residual projections with BatchNorm', yaml: byName('residual, same, projections'), sizes: [[8, 12]] },
  { name: 'residual, valid, cropped shortcuts', yaml: byName('residual, valid, cropped'), sizes: 'valid' },
  { name: 'residual, valid, kernel 2 (odd shortcut crop)', yaml: byName('residual, valid, kernel 2'), sizes: 'valid' },
  { name: 'squeeze-excitation', yaml: byName('squeeze-excitation ratio 2'), sizes: [[8, 4]] },
  { name: 'squeeze-excitation and residual, valid', yaml: byName('squeeze-excitation ratio 4'), sizes: 'valid' },
  { name: 'attention gates, same', yaml: byName('attention gates, same'), sizes: [[8, 12]] },
  { name: 'attention gates, valid padding with crops', yaml: byName('attention gates, valid'), sizes: 'valid' },
];

describe('ONNX numbers match a plain NCHW reference (max |diff| / max |ref| < 1e-5)', () => {
  it.each(numericCases)('$name', async ({ yaml, sizes, foldBn }) => {
    const graph = graphOf(yaml);
    const weights = randomWeights(graph, 11);
    const { bytes } = exportWith(graph, weights, foldBn ? { foldBn } : {});
    for (const [h, w] of sizes === 'valid' ? twoSizes(graph).slice(0, 1) : sizes)
      expect(await compare(graph, bytes, weights, h, w), `${h}x${w}`).toBeLessThan(1e-5);
  });
});

describe('negative controls: deliberately broken exports are caught', () => {
  const graph = graphOf(numericGraph);
  const weights = randomWeights(graph, 11);
  const { bytes } = exportWith(graph, weights);

  it.each([
    ['kh and kw swapped in a [3, 5] kernel', () => swapKernelAxes(bytes, 'c1/kernel'), 1e-2],
    ['kh and kw swapped in a [2, 4] kernel', () => swapKernelAxes(bytes, 'c3/kernel'), 1e-2],
    [
      'ONNX default BatchNorm epsilon (1e-5) instead of the layer`s',
      () =>
        tamper(
          bytes,
          (m) => void (m.graph!.node!.find((n) => n.opType === 'BatchNormalization')!.attribute![0]!.f = 1e-5),
        ),
      1e-4,
    ],
    [
      'same-conv pads split ceil/floor instead of floor/ceil',
      () =>
        tamper(
          bytes,
          (m) =>
            void (m.graph!.node!.find((n) => n.name === 'c2')!.attribute!.find((a) => a.name === 'pads')!.ints = [
              1, 2, 0, 1,
            ]),
        ),
      1e-2,
    ],
  ])('%s', async (_name, broken, threshold) => {
    expect(await compare(graph, bytes, weights, 9, 13)).toBeLessThan(1e-5);
    expect(await compare(graph, broken(), weights, 9, 13)).toBeGreaterThan(threshold);
  });
});
