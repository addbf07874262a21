import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportOnnx } from '../../../src/compiler/backends/onnx/index.js';
import { randomWeights } from '../../../src/compiler/backends/weights.js';
import { compileSpec, type Graph } from '../../../src/compiler/index.js';
import { generateSample } from '../../../src/runtime/data/index.js';
import {
  activate,
  loadModel,
  locateModel,
  ModelError,
  predictImage,
  type SegmentationModel,
} from '../../../src/runtime/infer/index.js';

/** A small 'valid'-padding U-Net (as in the 2015 paper): the output loses a margin on each side. */
const VALID = `name: valid
input: {channels: 1}
output: {classes: 2, activation: softmax}
network:
  depth: 2
  filters: [4, 8]
  bottleneck: 8
  block: {padding: valid, order: [conv, relu]}
`;

/** A fixed-size spec: its ONNX input dims are numbers, so onnxruntime takes only 64x48. */
const FIXED = `name: fixed
input: {channels: 1, size: [64, 48]}
output: {classes: 1, activation: sigmoid}
network:
  depth: 2
  filters: [4, 8]
  bottleneck: 8
`;

let dir: string;
const models: SegmentationModel[] = [];

function graphOf(body: string): Graph {
  const c = compileSpec({ name: 'inline.yaml', body });
  expect(c.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return c.graph!;
}

async function exported(name: string, body: string): Promise<SegmentationModel> {
  const graph = graphOf(body);
  const file = join(dir, `${name}.onnx`);
  writeFileSync(
    file,
    exportOnnx(graph, randomWeights(graph, 3), {
      producerVersion: 'test',
      specSource: body,
      inputNormalization: 'zscore-per-image',
    }),
  );
  const model = await loadModel(file, { threads: 1 });
  models.push(model);
  return model;
}

const image = (h: number, w: number) => ({
  height: h,
  width: w,
  channels: 1,
  data: generateSample(5, { height: h, width: w, scene: 'typical' }).image,
});

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'unetc-infer-'));
});

afterAll(async () => {
  for (const m of models) await m.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('ONNX models', () => {
  it("a 'valid' network: the margin is measured, and tiles with context agree with one big tile", async () => {
    const model = await exported('valid', VALID);
    expect(model.info.margin).toEqual([20, 20]); // 2 convs x 1 px per side at 1x, 2x, 4x (bottleneck), 2x, 1x
    expect(model.info.sizes.height.text).toMatch(/^\d+ \+ 4k/);
    const one = await predictImage(model, image(150, 217), { tile: 1024 });
    const tiled = await predictImage(model, image(150, 217), { tile: 64, overlap: 0.25 });
    expect([one.height, one.width, one.classes]).toEqual([150, 217, 2]);
    let worst = 0;
    for (let i = 0; i < one.probabilities.length; i++)
      worst = Math.max(worst, Math.abs(one.probabilities[i]! - tiled.probabilities[i]!));
    // Each output pixel sees the same (reflected) neighbourhood in both runs.
    expect(worst).toBeLessThan(1e-5);
  }, 60_000);

  it('a fixed-size network runs any image as tiles of its one size', async () => {
    const model = await exported('fixed', FIXED);
    expect([model.info.sizes.height.text, model.info.sizes.width.text]).toEqual(['only 64', 'only 48']);
    const p = await predictImage(model, image(100, 70));
    expect([p.height, p.width, p.classMap.length]).toEqual([100, 70, 7000]);
    expect(p.probabilities.every((v) => v > 0 && v < 1)).toBe(true);
  }, 60_000);

  it('refuses an image with the wrong channel count (ModelError naming the model)', async () => {
    const model = await exported('channels', FIXED);
    await expect(
      predictImage(model, { height: 8, width: 8, channels: 3, data: new Float32Array(192) }),
    ).rejects.toThrow(ModelError);
  });

  it('refuses an ONNX model that is not a unetc export', async () => {
    const graph = graphOf(FIXED);
    const bytes = exportOnnx(graph, randomWeights(graph, 3), {
      producerVersion: 'test',
      specSource: FIXED,
      inputNormalization: 'mystery',
    });
    const file = join(dir, 'odd.onnx');
    writeFileSync(file, bytes);
    await expect(loadModel(file)).rejects.toThrow(/odd\.onnx: unknown input_normalization 'mystery'/);
  });

  it('refuses a damaged ONNX model: the 32 bytes of a bias flipped (issue 11, item 3)', async () => {
    const graph = graphOf(FIXED);
    const weights = randomWeights(graph, 3);
    const bytes = exportOnnx(graph, weights, {
      producerVersion: 'test',
      specSource: FIXED,
      inputNormalization: 'zscore-per-image',
    });
    // The bytes of a bias of 8 values, found in the file (ONNX stores 1-d weights raw, in the same order).
    const kernel = [...weights].find(([name, w]) => name.endsWith('bias') && w.data.length === 8)![1].data;
    const at = Buffer.from(bytes).indexOf(Buffer.from(kernel.buffer, kernel.byteOffset, 16));
    expect(at).toBeGreaterThan(0);
    const intact = join(dir, 'intact.onnx');
    writeFileSync(intact, bytes);
    const damaged = Uint8Array.from(bytes);
    for (let i = 0; i < 32; i++) damaged[at + i] = damaged[at + i]! ^ 0x21;
    const file = join(dir, 'damaged.onnx');
    writeFileSync(file, damaged);
    await expect(loadModel(file)).rejects.toThrow(/damaged\.onnx: corrupt: its graph \(weights included\) has SHA-256/);
    // Negative control: the intact file loads.
    const model = await loadModel(intact, { threads: 1 });
    await model.close();
  });
});

describe('locating MODEL', () => {
  /** Makes files (empty) under a fresh folder; returns the folder. */
  function tree(...files: string[]): string {
    const base = mkdtempSync(join(dir, 'loc-'));
    for (const f of files) {
      mkdirSync(join(base, f, '..'), { recursive: true });
      writeFileSync(join(base, f), '');
    }
    return base;
  }

  it.each([
    [
      'a run folder uses its model.onnx',
      ['model.onnx', 'best/unetc.json', 'run.json'],
      '',
      { format: 'onnx', file: 'model.onnx' },
    ],
    [
      'a run folder without model.onnx falls back on best/',
      ['best/unetc.json', 'last/unetc.json'],
      '',
      { format: 'tfjs', dir: 'best' },
    ],
    ['a checkpoint folder', ['model.json', 'weights.bin', 'unetc.json'], '', { format: 'tfjs', dir: '' }],
    ['a checkpoint named by its model.json', ['model.json', 'unetc.json'], 'model.json', { format: 'tfjs', dir: '' }],
    ['any other file is read as ONNX', ['unet.onnx'], 'unet.onnx', { format: 'onnx', file: 'unet.onnx' }],
  ])('%s', (_name, files, arg, expected) => {
    const base = tree(...files);
    const where = locateModel(join(base, arg));
    expect(where.format).toBe(expected.format);
    expect('file' in where ? where.file : where.dir).toBe(
      join(base, 'file' in expected ? expected.file! : expected.dir!),
    );
  });

  it.each([
    ['a missing path', 'missing', /missing: no such file or folder/],
    ['a folder with no model', '', /not a model: expected a run folder/],
  ])('%s is a ModelError naming it', (_name, arg, message) => {
    const base = tree('notes.txt');
    expect(() => locateModel(join(base, arg))).toThrow(ModelError);
    expect(() => locateModel(join(base, arg))).toThrow(message);
  });
});

describe('activate', () => {
  it.each([
    ['sigmoid of one channel', [0, 2, -2], 1, [0.5, 1 / (1 + Math.exp(-2)), 1 / (1 + Math.exp(2))]],
    ['softmax over channels, per pixel', [0, 0, 1000, 0], 2, [0.5, 0.5, 1, 0]],
  ])('%s', (_name, logits, channels, expected) => {
    const data = Float32Array.from(logits);
    activate(data, channels);
    expected.forEach((v, i) => expect(data[i]).toBeCloseTo(v, 6));
  });
});
