import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { compileSpec, type Graph } from '../../../src/compiler/index.js';
import { buildModel, setWeights } from '../../../src/compiler/backends/tfjs/index.js';
import { initialWeights } from '../../../src/compiler/backends/weights.js';
import type { Tf } from '../../../src/runtime/backend/index.js';
import { makeTrainStep } from '../../../src/runtime/train/index.js';
import { smallSize, unetYaml } from '../../backends/tfjs/helpers.js';
import { normal, wasmFootprint, wasmTf } from './helpers.js';

let tf: Tf;
beforeAll(async () => {
  tf = await wasmTf();
});

/** specs/tiny.yaml without dropout: dropout draws random masks, which differ between backends. */
function tinyGraph(): Graph {
  const body = readFileSync(new URL('../../../specs/tiny.yaml', import.meta.url), 'utf8').replace(
    'block: {dropout: 0.1}',
    'block: {dropout: 0}',
  );
  expect(body).toContain('dropout: 0}');
  const c = compileSpec({ name: 'tiny-no-dropout.yaml', body });
  expect(c.graph).toBeDefined();
  return c.graph!;
}

/** Losses of `steps` Adam steps (tiny.yaml's optimizer and rate) on one fixed batch of 2. */
async function losses(
  backend: 'wasm' | 'cpu',
  graph: Graph,
  seed: number,
  steps: number,
  size: [number, number] = [16, 16],
): Promise<number[]> {
  tf.setBackend(backend);
  const model = buildModel(tf, graph, { inputSize: size });
  setWeights(model, initialWeights(graph, seed), tf);
  const [, oh, ow, classes] = model.outputs[0]!.shape as number[];
  const channels = (model.inputs[0]!.shape as number[])[3]!;
  const step = makeTrainStep(tf, model, classes! > 1 ? 'ce-dice' : 'bce-dice', { name: 'adam', learningRate: 0.003 });
  const images = tf.tensor4d(normal(2 * size[0] * size[1] * channels, 21), [2, ...size, channels]);
  // Targets from the input's first channel, cropped to the output (valid-padding U-Nets shrink).
  const masks = tf.tidy(() => {
    const t = tf.slice(images, [0, (size[0] - oh!) >> 1, (size[1] - ow!) >> 1, 0], [-1, oh!, ow!, 1]);
    return classes! > 1
      ? tf
          .oneHot(tf.cast(tf.clipByValue(tf.add(t, 1), 0, classes! - 1), 'int32').squeeze([3]), classes!)
          .cast('float32')
      : tf.cast(tf.greater(t, 0.3), 'float32');
  });
  const out: number[] = [];
  try {
    for (let i = 0; i < steps; i++) out.push(await step.run(images, masks));
  } finally {
    step.dispose();
    model.dispose();
    tf.dispose([images, masks]);
  }
  return out;
}

const maxDiff = (a: number[], b: number[]) => Math.max(...a.map((v, i) => Math.abs(v - b[i]!)));

describe('training on wasm', () => {
  it("gives the cpu backend's losses for 3 steps of specs/tiny.yaml (dropout 0) within 1e-3", async () => {
    const graph = tinyGraph();
    const wasm = await losses('wasm', graph, 1, 3);
    const cpu = await losses('cpu', graph, 1, 3);
    expect(maxDiff(wasm, cpu)).toBeLessThan(1e-3);
    // The loss must move, or equal losses would prove nothing about the gradients.
    expect(Math.abs(wasm[2]! - wasm[0]!)).toBeGreaterThan(1e-3);
    // Negative control: other initial weights give losses the check tells apart.
    expect(maxDiff(wasm, await losses('cpu', graph, 2, 3))).toBeGreaterThan(1e-3);
  });

  // The variants of examples/variants.yaml and specs/unet-2015.yaml at tiny sizes, dropout 0.
  it.each([
    [
      '2015-style: valid padding, cropped skips, softmax',
      { block: '{padding: valid, order: [conv, relu]}', activation: 'softmax', classes: 2 },
    ],
    [
      'strided-conv down, bilinear up, add skips, leaky-relu, no bias',
      {
        block: '{order: [conv, batchnorm, leaky-relu], bias: false, leaky_alpha: 0.1}',
        down: 'conv',
        up: 'bilinear',
        skip: 'add',
        activation: 'softmax',
        classes: 3,
        channels: 3,
      },
    ],
    ['avg pool, bilinear up, elu', { block: '{order: [conv, batchnorm, elu]}', down: 'avgpool', up: 'bilinear' }],
    ['5x5 kernels, transposed-conv up', { block: '{kernel: 5}' }],
  ] as const)('%s: 2 steps give the cpu losses within 1e-3', async (_, options) => {
    const c = compileSpec({ name: 'variant.yaml', body: unetYaml(options) });
    expect(c.graph).toBeDefined();
    const size = smallSize(c.graph!, 16);
    expect(maxDiff(await losses('wasm', c.graph!, 1, 2, size), await losses('cpu', c.graph!, 1, 2, size))).toBeLessThan(
      1e-3,
    );
  });

  // tfjs-backend-cpu's own ResizeNearestNeighborGrad is wrong for batch > 1 (the wasm one was
  // right); both engines now run the kernel of src/runtime/backend/wasm/resize-nearest-grad.ts,
  // checked against the forward resize in kernels.test.ts.
  it('nearest upsampling: 2 steps give the cpu losses within 1e-3', async () => {
    const c = compileSpec({ name: 'variant.yaml', body: unetYaml({ down: 'avgpool', up: 'nearest' }) });
    const size = smallSize(c.graph!, 16);
    expect(maxDiff(await losses('wasm', c.graph!, 1, 2, size), await losses('cpu', c.graph!, 1, 2, size))).toBeLessThan(
      1e-3,
    );
  });

  it('keeps live tensors, wasm data blocks and the wasm heap flat over 50 steps', async () => {
    tf.setBackend('wasm');
    const graph = tinyGraph();
    const model = buildModel(tf, graph, { inputSize: [16, 16] });
    setWeights(model, initialWeights(graph, 3), tf);
    const step = makeTrainStep(tf, model, 'bce-dice', { name: 'adam', learningRate: 0.003 });
    const images = tf.tensor4d(normal(2 * 16 * 16, 22), [2, 16, 16, 1]);
    const masks = tf.tidy(() => tf.cast(tf.greater(images, 0.3), 'float32'));
    // Warm-up: Adam creates its moment variables and the heap grows to its working size.
    for (let i = 0; i < 3; i++) await step.run(images, masks);
    const tensors = tf.memory().numTensors;
    const start = wasmFootprint(tf);
    for (let i = 0; i < 50; i++) {
      await step.run(images, masks);
      expect(tf.memory().numTensors).toBe(tensors);
      // Kernel-internal blocks (im2col buffers, rotated filters) are invisible to numTensors.
      expect(wasmFootprint(tf).dataIds).toBe(start.dataIds);
    }
    expect(wasmFootprint(tf).heapBytes).toBe(start.heapBytes);
    step.dispose();
    model.dispose();
    tf.dispose([images, masks]);
  });
});
