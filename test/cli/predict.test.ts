import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { outputsIn } from './helpers.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reportError } from '../../src/cli/errors.js';
import { runEval } from '../../src/cli/eval.js';
import type { CliIO } from '../../src/cli/io.js';
import { runPredict, type PredictCommandOptions } from '../../src/cli/predict.js';
import { exportOnnx, summarizeOnnx } from '../../src/compiler/backends/onnx/index.js';
import { buildModel, setWeights } from '../../src/compiler/backends/tfjs/index.js';
import { initialWeights } from '../../src/compiler/backends/weights.js';
import { selectEngine } from '../../src/runtime/backend/index.js';
import { saveCheckpoint } from '../../src/runtime/checkpoint/index.js';
import {
  generateSample,
  readImage,
  readMask,
  writeGray,
  writeLabels,
  writeMask,
} from '../../src/runtime/data/index.js';
import { connectedComponents } from '../../src/runtime/infer/index.js';
import { compileSpec } from '../../src/compiler/index.js';
import { compileFile, readSpec, root } from '../helpers.js';

const THRESHOLD_SPEC = `name: threshold
input: {channels: 1}
output: {classes: 1, activation: sigmoid}
graph:
  - {name: logits, op: conv, inputs: [input], filters: 1, kernel: 1}
`;

type Result = { code: number; out: string; err: string };

function capture(): { io: CliIO; result: () => { out: string; err: string } } {
  let out = '';
  let err = '';
  return {
    io: { stdout: (t) => void (out += t), stderr: (t) => void (err += t), color: false },
    result: () => ({ out, err }),
  };
}

async function predict(model: string, options: PredictCommandOptions): Promise<Result> {
  const c = capture();
  // Errors reach main's one catch (reportError), as they do from the command line.
  const code = await runPredict(c.io, model, options).catch((e: unknown) => reportError(c.io, e));
  return { code, ...c.result() };
}

async function evaluate(model: string, options: Parameters<typeof runEval>[2]): Promise<Result> {
  const c = capture();
  const code = await runEval(c.io, model, options).catch((e: unknown) => reportError(c.io, e));
  return { code, ...c.result() };
}

let dir: string;
let run: string;
let data: string;
/** A "model" that thresholds the z-scored image (sigmoid(4z - 2)), and its inverse: a meaningful and a wrong segmenter. */
let bright: string;
let dark: string;
/** [stem, height, width] of the synthetic images; the last is not a multiple of 8 either way. */
const images = [
  ['a', 64, 64],
  ['b', 96, 80],
  ['c', 300, 417],
] as const;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'unetc-predict-'));
  // A run folder as training leaves it, with the model exported from initial weights.
  const graph = compileFile('specs/tiny.yaml').graph!;
  run = join(dir, 'run');
  mkdirSync(run);
  const bytes = exportOnnx(graph, initialWeights(graph, 0), {
    producerVersion: 'test',
    specSource: readSpec('specs/tiny.yaml').body,
    inputNormalization: 'zscore-per-image',
  });
  writeFileSync(join(run, 'model.onnx'), bytes);
  const threshold = compileSpec({ name: 'threshold.yaml', body: THRESHOLD_SPEC }).graph!;
  [bright, dark] = [join(dir, 'bright.onnx'), join(dir, 'dark.onnx')];
  for (const [file, k] of [
    [bright, 4],
    [dark, -4],
  ] as const) {
    const weights = new Map([
      ['logits/kernel', { shape: [1, 1, 1, 1], data: Float32Array.of(k) }],
      ['logits/bias', { shape: [1], data: Float32Array.of(-k / 2) }],
    ]);
    writeFileSync(
      file,
      exportOnnx(threshold, weights, {
        producerVersion: 'test',
        specSource: THRESHOLD_SPEC,
        inputNormalization: 'zscore-per-image',
      }),
    );
  }
  data = join(dir, 'data');
  for (const sub of ['images', 'masks', 'labels']) mkdirSync(join(data, sub), { recursive: true });
  for (const [i, [stem, height, width]] of images.entries()) {
    const s = generateSample(100 + i, { height, width, scene: 'typical' });
    await writeGray(join(data, 'images', `${stem}.png`), { width, height, data: s.image });
    await writeMask(join(data, 'masks', `${stem}.png`), { width, height, data: s.mask }, { binary: true });
    await writeLabels(join(data, 'labels', `${stem}.png`), { width, height, data: s.labels });
  }
}, 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('unetc predict', () => {
  it('writes a mask, a 16-bit probability map and a 16-bit label map per image, and instances.csv', async () => {
    const out = join(dir, 'out-all');
    const r = await predict(run, { input: data, out, instances: true, probabilities: true });
    expect(r.err).toContain('engine: onnxruntime-node');
    expect(r.err).toMatch(
      /model: .*model\.onnx \(tiny: 1 channel -> 1 class \(sigmoid\), input zscore-per-image, sizes multiples of 8\)/,
    );
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/\[3\/3\] c\.png 417x300 \d+ ms, \d+ instances?/);
    expect(outputsIn(out)).toEqual([
      'a.png',
      'a_labels.png',
      'a_prob.png',
      'b.png',
      'b_labels.png',
      'b_prob.png',
      'c.png',
      'c_labels.png',
      'c_prob.png',
      'instances.csv',
    ]);
    const csv = readFileSync(join(out, 'instances.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe('file,count,mean_area,median_area,min_area,max_area');
    for (const [i, [stem, height, width]] of images.entries()) {
      const mask = await readMask(join(out, `${stem}.png`));
      const prob = await readImage(join(out, `${stem}_prob.png`));
      const labels = await readMask(join(out, `${stem}_labels.png`));
      expect([mask.width, mask.height, mask.bitDepth, prob.bitDepth, labels.bitDepth]).toEqual([
        width,
        height,
        8,
        16,
        16,
      ]);
      expect(mask.values.every((v) => v === 0 || v === 255)).toBe(true);
      // The mask is the probability above 0.5, and the labels are its 8-connected components.
      let disagree = 0;
      for (let p = 0; p < mask.data.length; p++) if ((prob.data[p]! > 0.5 ? 1 : 0) !== mask.data[p]) disagree++;
      expect(disagree).toBeLessThanOrEqual(mask.data.length * 1e-3); // 16-bit rounding right at 0.5 only
      const count = connectedComponents(mask.data, height, width).components.length;
      expect(labels.values.filter((v) => v > 0).length).toBe(count);
      expect(csv[i + 1]).toMatch(new RegExp(`^${stem}\\.png,${count},`));
      expect(r.out).toContain(`${stem}.png ${width}x${height}`);
    }
  }, 60_000);

  it('a corrupt PNG is named, skipped and exit 1, while the good images are still written', async () => {
    const input = join(dir, 'with-bad');
    mkdirSync(input);
    for (const [stem] of images) copyFileSync(join(data, 'images', `${stem}.png`), join(input, `${stem}.png`));
    const good = readFileSync(join(data, 'images', 'a.png'));
    writeFileSync(join(input, 'bad.png'), good.subarray(0, 60)); // truncated
    writeFileSync(join(input, 'notes.tif'), 'not read');
    const out = join(dir, 'out-bad');
    const r = await predict(run, { input, out });
    expect(r.code).toBe(1);
    expect(r.err).toContain(`error: ${join(input, 'bad.png')}: `);
    expect(r.err).toContain(`warning: ${join(input, 'notes.tif')}: skipped`);
    expect(r.err).toMatch(/1 of 4 images were skipped \(listed above\); the others were written/);
    expect(r.err).not.toMatch(/\.(ts|js):\d+:\d+/);
    expect(outputsIn(out)).toEqual(['a.png', 'b.png', 'c.png']);
  }, 60_000);

  it('8- and 16-bit versions of an image give the same probabilities (values are scaled by the bit depth)', async () => {
    const input = join(dir, 'depths');
    mkdirSync(input);
    // 8-bit levels, so the 16-bit file (v * 257) holds exactly the same values.
    const s = generateSample(7, { height: 80, width: 96, scene: 'typical' });
    await writeGray(join(input, 'x8.png'), { width: 96, height: 80, data: s.image }, 8);
    await writeGray(join(input, 'x16.png'), { width: 96, height: 80, data: s.image }, 16);
    const out = join(dir, 'out-depths');
    expect((await predict(run, { input, out, probabilities: true })).code).toBe(0);
    const [p8, p16] = await Promise.all(['x8', 'x16'].map((n) => readImage(join(out, `${n}_prob.png`))));
    let worst = 0;
    for (let p = 0; p < p8!.data.length; p++) worst = Math.max(worst, Math.abs(p8!.data[p]! - p16!.data[p]!));
    expect(worst).toBeLessThanOrEqual(1 / 65535);
    // The decoded inputs agree too: 8-bit v / 255 and 16-bit 257 v / 65535.
    const [i8, i16] = await Promise.all(['x8', 'x16'].map((n) => readImage(join(input, `${n}.png`))));
    expect([i8!.bitDepth, i16!.bitDepth]).toEqual([8, 16]);
    expect(Math.max(...i16!.data.map((v, p) => Math.abs(v - i8!.data[p]!)))).toBeLessThan(1e-6);
  }, 60_000);

  it.each([
    ['no --out', { input: 'x' }, 2, /give the output folder with --out/],
    ['a bad --overlap', { input: 'x', out: 'y', overlap: '1.5' }, 2, /--overlap takes a fraction/],
    ['a bad --tile', { input: 'x', out: 'y', tile: 'big' }, 2, /--tile takes a whole number/],
    ['a missing input', { input: '/no/such/images', out: 'y' }, 1, /\/no\/such\/images: no such file or folder/],
  ])('%s: exit %i', async (_name, options, code, message) => {
    const r = await predict(run, options);
    expect(r.code).toBe(code);
    expect(r.err).toMatch(message);
  });

  it('refuses to write the masks where the input images are (exit 2)', async () => {
    const r = await predict(run, { input: join(data, 'images', 'a.png'), out: join(data, 'images') });
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/is the input folder: the masks would overwrite the images/);
  });

  it.each([
    ['a missing model', () => join(dir, 'nope'), /nope: no such file or folder/],
    ['a folder that is not a model', () => join(dir, 'data'), /not a model: expected a run folder/],
    [
      'a corrupt .onnx file',
      () => writeTo('corrupt.onnx', readFileSync(join(run, 'model.onnx')).subarray(0, 5000)),
      /corrupt\.onnx: not a valid ONNX model, or a corrupt one/,
    ],
    ['a text file', () => writeTo('model.txt', 'hello'), /model\.txt: not a valid ONNX model/],
  ])('%s: exit 1 naming the path', async (_name, path, message) => {
    const r = await predict(path(), { input: join(data, 'images', 'a.png'), out: join(dir, 'never') });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(message);
    expect(existsSync(join(dir, 'never'))).toBe(false);
  });

  it('a tfjs checkpoint folder runs with tfjs and agrees with the ONNX export', async () => {
    const graph = compileFile('specs/tiny.yaml').graph!;
    const engine = await selectEngine('wasm');
    const model = buildModel(engine.tf, graph);
    setWeights(model, initialWeights(graph, 0), engine.tf);
    const ckpt = join(dir, 'ckpt');
    await saveCheckpoint(engine.tf, ckpt, model, {
      spec: { name: 'tiny', file: 'specs/tiny.yaml', text: readSpec('specs/tiny.yaml').body },
      graph,
      seed: 0,
    });
    model.dispose();
    const input = join(data, 'images', 'c.png');
    const [viaTfjs, viaOnnx] = [join(dir, 'out-tfjs'), join(dir, 'out-onnx')];
    const r = await predict(ckpt, { input, out: viaTfjs, probabilities: true, backend: 'wasm' });
    expect(r.err).toContain('engine: wasm');
    expect(r.code).toBe(0);
    expect((await predict(run, { input, out: viaOnnx, probabilities: true })).code).toBe(0);
    const [a, b] = await Promise.all([viaTfjs, viaOnnx].map((d) => readImage(join(d, 'c_prob.png'))));
    let worst = 0;
    for (let p = 0; p < a!.data.length; p++) worst = Math.max(worst, Math.abs(a!.data[p]! - b!.data[p]!));
    expect(worst).toBeLessThan(1e-3);
  }, 120_000);
});

function writeTo(name: string, body: string | Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, body);
  return path;
}

describe('unetc eval', () => {
  it('scores every image, prints mean and pooled Dice/IoU and instance F1, and writes the CSV', async () => {
    const csvFile = join(dir, 'eval.csv');
    const r = await evaluate(run, { data, out: csvFile });
    expect(r.err).toBe(
      r.err
        .split('\n')
        .filter((l) => !l.startsWith('error'))
        .join('\n'),
    );
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/\[3\/3\] c\.png 417x300 \d+ ms {2}Dice \d\.\d{3} {2}IoU \d\.\d{3} {2}F1 \d\.\d{3}/);
    expect(r.out).toMatch(/mean per image +\d\.\d{3} +\d\.\d{3} +\d\.\d{3}/);
    expect(r.out).toMatch(/pooled \(all pixels\) +\d\.\d{3}/);
    expect(r.out).toMatch(/instances \(IoU > 0\.5\), 3 images with labels\//);
    expect(r.out).toMatch(/pooled \(all instances\) +\d\.\d{3} +\d\.\d{3} +\d\.\d{3} {2}\(\d+ matched/);
    const rows = readFileSync(csvFile, 'utf8').trim().split('\n');
    expect(rows[0]).toBe(
      'file,height,width,dice,iou,pixel_accuracy,true_instances,predicted_instances,matched,precision,recall,f1,ms',
    );
    expect(rows.slice(1).map((l) => l.split(',')[0])).toEqual([
      'a.png',
      'b.png',
      'c.png',
      '(mean per image)',
      '(pooled)',
    ]);
    // The true instance counts are the generator's.
    const counts = images.map(
      (_, i) => generateSample(100 + i, { height: images[i]![1], width: images[i]![2], scene: 'typical' }).count,
    );
    expect(rows.slice(1, 4).map((l) => Number(l.split(',')[6]))).toEqual(counts);
  }, 60_000);

  it('scores a segmenter that works well high and a wrong one low (negative control)', async () => {
    const good = await evaluate(bright, { data, minSize: '10' });
    const bad = await evaluate(dark, { data });
    expect([good.code, bad.code]).toEqual([0, 0]);
    const score = (out: string, row: string) =>
      Number(new RegExp(`${row} +(\\d\\.\\d{3}) +(\\d\\.\\d{3}) +(\\d\\.\\d{3})`).exec(out)![3]);
    expect(Number(/pooled \(all pixels\) +(\d\.\d{3})/.exec(good.out)![1])).toBeGreaterThan(0.85);
    expect(Number(/pooled \(all pixels\) +(\d\.\d{3})/.exec(bad.out)![1])).toBeLessThan(0.3);
    expect(score(good.out, 'pooled \\(all instances\\)')).toBeGreaterThan(0.85);
    expect(score(bad.out, 'pooled \\(all instances\\)')).toBeLessThan(0.2);
  }, 60_000);

  it('predict --instances counts about as many nuclei as the generator drew', async () => {
    const r = await predict(bright, {
      input: join(data, 'images', 'c.png'),
      out: join(dir, 'out-bright'),
      instances: true,
      minSize: '10',
    });
    expect(r.code).toBe(0);
    const found = Number(/c\.png 417x300 \d+ ms, (\d+) instances/.exec(r.out)![1]);
    const truth = generateSample(102, { height: 300, width: 417, scene: 'typical' }).count;
    expect(Math.abs(found - truth)).toBeLessThanOrEqual(Math.ceil(0.2 * truth));
  }, 60_000);

  it('lists every data problem and evaluates nothing (exit 1)', async () => {
    const broken = join(dir, 'broken');
    for (const sub of ['images', 'masks']) mkdirSync(join(broken, sub), { recursive: true });
    for (const stem of ['a', 'b'])
      copyFileSync(join(data, 'images', `${stem}.png`), join(broken, 'images', `${stem}.png`));
    copyFileSync(join(data, 'masks', 'a.png'), join(broken, 'masks', 'a.png'));
    writeFileSync(join(broken, 'images', 'z.png'), 'corrupt');
    const r = await evaluate(run, { data: broken });
    expect(r.code).toBe(1);
    expect(r.err).toContain(`error: ${join(broken, 'images', 'b.png')}: no mask`);
    expect(r.err).toContain(`error: ${join(broken, 'images', 'z.png')}: `);
    expect(r.err).toMatch(/problems in .*broken; nothing was evaluated/);
    expect(r.out).toBe('');
  });

  it('needs --data (exit 2)', async () => {
    expect((await evaluate(run, {})).code).toBe(2);
  });

  it('a bad --slice-axis is a usage error for PNG data too, before the model opens (predict and eval)', async () => {
    const e = await evaluate(run, { data, sliceAxis: 'w' });
    expect(e.code).toBe(2);
    expect(e.err).toMatch(/--slice-axis takes x, y or z, found 'w'/);
    expect(e.err).not.toMatch(/engine:/);
    const p = await predict(run, { input: join(data, 'images'), out: join(dir, 'axis-out'), sliceAxis: 'w' });
    expect(p.code).toBe(2);
    expect(p.err).toMatch(/--slice-axis takes x, y or z, found 'w'/);
    // Negative control: a good axis is accepted (and ignored for images).
    expect((await evaluate(run, { data, sliceAxis: 'y' })).code).toBe(0);
  });
});

/** Two real DSB2018 images (8-bit images, 0/255 masks, 16-bit labels) when ../shared/data has them. */
const real = join(root, '..', 'shared', 'data', 'dsb2018-nuclei-val');
describe.skipIf(!existsSync(join(real, 'index.json')))('real images (../shared/data/dsb2018-nuclei-val)', () => {
  it('predict and eval run end to end on two of them', async () => {
    const names = readdirSync(join(real, 'images')).sort().slice(0, 2);
    const sub = join(dir, 'real');
    for (const folder of ['images', 'masks', 'labels']) {
      mkdirSync(join(sub, folder), { recursive: true });
      for (const n of names) copyFileSync(join(real, folder, n), join(sub, folder, n));
    }
    const out = join(dir, 'out-real');
    const p = await predict(run, { input: sub, out, instances: true });
    expect(p.code).toBe(0);
    for (const n of names) {
      const [image, labels] = await Promise.all([
        readImage(join(sub, 'images', n)),
        readMask(join(out, n.replace('.png', '_labels.png'))),
      ]);
      expect([labels.width, labels.height, labels.bitDepth]).toEqual([image.width, image.height, 16]);
    }
    const e = await evaluate(run, { data: sub });
    expect(e.code).toBe(0);
    expect(e.out).toMatch(/instances \(IoU > 0\.5\), 2 images with labels\//);
  }, 60_000);
});

it('the ONNX model of the tests records per-image z-score inputs', () => {
  const meta = new Map(summarizeOnnx(readFileSync(join(run, 'model.onnx'))).metadata);
  expect(meta.get('input_normalization')).toBe('zscore-per-image');
});
