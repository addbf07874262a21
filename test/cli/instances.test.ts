/**
 * End to end: a boundary head (output.instances: boundary) trains on instance labels, exports
 * with its metadata, and predict/eval split its instances; time budgets, --init, --val-split 0
 * and --tta through the CLI.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { summarizeOnnx } from '../../src/compiler/backends/onnx/index.js';
import { generateSample, readMask, writeGray, writeLabels, writeMask } from '../../src/runtime/data/index.js';
import { run, outputsIn } from './helpers.js';
import { root } from '../helpers.js';
import { selectEngine } from '../../src/runtime/backend/index.js';
import { loadModel, predictImage } from '../../src/runtime/infer/index.js';

const BOUNDARY = `name: tiny-boundary
input: {channels: 1}
output: {classes: 1, class_names: [nucleus], instances: boundary}
network:
  depth: 2
  filters: {base: 4, growth: 2}
train:
  loss: ce-dice
  learning_rate: 0.003
  batch: 2
  patch: [64, 64]
  augment: {flip: true, rotate90: true, scale: 1.5, invert: 0.2, blur: 1}
`;

let dir: string;
let spec: string;
let data: string;
let trained: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'unetc-instances-'));
  spec = join(dir, 'boundary.yaml');
  writeFileSync(spec, BOUNDARY);
  data = join(dir, 'data');
  for (const sub of ['images', 'masks', 'labels']) mkdirSync(join(data, sub), { recursive: true });
  for (const [i, stem] of ['a', 'b', 'c', 'd'].entries()) {
    const s = generateSample(300 + i, { height: 80, width: 96, scene: 'dense' });
    await writeGray(join(data, 'images', `${stem}.png`), { width: 96, height: 80, data: s.image });
    await writeMask(join(data, 'masks', `${stem}.png`), { width: 96, height: 80, data: s.mask }, { binary: true });
    await writeLabels(join(data, 'labels', `${stem}.png`), { width: 96, height: 80, data: s.labels });
  }
  trained = join(dir, 'run');
  const r = await run('train', spec, '--data', data, '--out', trained, '--epochs', '2', '--steps-per-epoch', '2');
  if (r.code !== 0) throw new Error(`training the boundary spec failed:\n${r.out}\n${r.err}`);
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('output.instances: boundary', () => {
  it('check and inspect describe the 3-channel head', async () => {
    const c = await run('check', spec);
    expect(c.code).toBe(0);
    expect(c.out).toMatch(
      /output 1 class with instance boundaries \(3 channels: background, interior, boundary; softmax\)/,
    );
    const i = await run('inspect', spec, '--summary');
    expect(i.code).toBe(0);
    expect(i.out).toMatch(/instances: boundary/);
  });

  it('the exported model carries instances=boundary and the head names', () => {
    const meta = new Map(summarizeOnnx(readFileSync(join(trained, 'model.onnx'))).metadata);
    expect(meta.get('instances')).toBe('boundary');
    expect(JSON.parse(meta.get('class_names')!)).toEqual(['background', 'nucleus', 'boundary']);
    expect(meta.get('output_activation')).toBe('softmax');
  });

  it('predict writes binary masks and split instances; eval scores them as a binary model', async () => {
    const out = join(dir, 'pred');
    const p = await run('predict', trained, '--input', data, '--out', out, '--instances', '--probabilities');
    expect(p.code).toBe(0);
    expect(p.err).toMatch(
      /-> 1 class with instance boundaries \(3 channels: background, interior, boundary; softmax\)/,
    );
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
      'd.png',
      'd_labels.png',
      'd_prob.png',
      'instances.csv',
    ]);
    const mask = await readMask(join(out, 'a.png'));
    expect(new Set(mask.values)).toEqual(new Set(mask.values.filter((v) => v === 0 || v === 255)));
    const e = await run('eval', trained, '--data', data);
    expect(e.code).toBe(0);
    expect(e.out).toMatch(/instances \(IoU > 0\.5\), 4 images with labels\//);
    // Scored as background and foreground: no per-class rows for interior and boundary.
    expect(e.out).not.toMatch(/boundary Dice/);
  });

  it('eval --tune-split scores a grid of split settings; predict and eval take one with --split', async () => {
    const t = await run('eval', trained, '--data', data, '--tune-split');
    expect(t.code).toBe(0);
    expect(t.out).toMatch(/pooled instance F1 \(IoU > 0\.5\) on 4 images with labels\//);
    expect(t.out).toMatch(
      /^best: seed_threshold [\d.]+, waist_depth [\d.]+: F1 [\d.]+ .*the model's own \(0\.7, 1\.5\)/m,
    );
    // 7 seed thresholds x 7 waist depths, one row each.
    expect(t.out.split('\n').filter((l) => /^0\.\d+ +\d\.\d{3}/.test(l))).toHaveLength(7);
    const p = await run(
      'predict',
      trained,
      '--input',
      data,
      '--out',
      join(dir, 'split'),
      '--instances',
      '--split',
      '0.6,0.75',
    );
    expect(p.code).toBe(0);
    const e = await run('eval', trained, '--data', data, '--split', '0.6,0.75');
    expect(e.code).toBe(0);
    // Kept in the model as the advice says: the spec with the split, exported from the run's weights
    // (the split and the threshold are not the network: the weights fit).
    const tuned = join(dir, 'tuned.yaml');
    writeFileSync(
      tuned,
      BOUNDARY.replace(
        'instances: boundary}',
        'instances: boundary, threshold: 0.6, split: {seed_threshold: 0.6, waist_depth: 0.75}}',
      ),
    );
    const exported = join(dir, 'tuned.onnx');
    const c = await run('compile', tuned, '-t', 'onnx', '-o', exported, '--weights', join(trained, 'last'));
    expect([c.code, c.err]).toEqual([0, expect.stringContaining('weights: ')]);
    const meta = new Map(summarizeOnnx(readFileSync(exported)).metadata);
    expect([meta.get('threshold'), meta.get('instance_split')]).toEqual([
      '0.6',
      '{"seed_threshold":0.6,"waist_depth":0.75}',
    ]);
    const bad = await run('eval', trained, '--data', data, '--split', '1.5,1');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--split takes SEED,WAIST: .* found '1\.5,1'/);
  });

  it('--tta predicts too (8 symmetries averaged)', async () => {
    const r = await run('eval', trained, '--data', data, '--tta');
    expect(r.code).toBe(0);
  });

  it('without labels/, training names every missing instance map and stops', async () => {
    const bare = join(dir, 'bare');
    for (const sub of ['images', 'masks']) mkdirSync(join(bare, sub), { recursive: true });
    for (const stem of ['x', 'y']) {
      const s = generateSample(5, { height: 64, width: 64 });
      await writeGray(join(bare, 'images', `${stem}.png`), { width: 64, height: 64, data: s.image });
      await writeMask(join(bare, 'masks', `${stem}.png`), { width: 64, height: 64, data: s.mask }, { binary: true });
    }
    const r = await run('train', spec, '--data', bare, '--out', join(dir, 'no-labels'), '--max-steps', '1');
    expect(r.code).toBe(1);
    for (const stem of ['x', 'y'])
      expect(r.err).toContain(
        `${join(bare, 'labels', `${stem}.png`)}: missing: output.instances: boundary trains on instance label maps`,
      );
  });
});

describe('train: time budget, --init, --val-split 0', () => {
  it('--time trains to the budget and says so', async () => {
    const out = join(dir, 'timed');
    const r = await run('train', spec, '--data', data, '--out', out, '--time', '4s', '--no-export');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/training: a 4s time budget \(as many steps as fit\)/);
    expect(r.out).toMatch(/time budget spent: \d+ steps in \d+\.\d s/);
    const runJson = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { settings: { timeBudgetMs: number } };
    expect(runJson.settings.timeBudgetMs).toBe(4000);
  });

  it.each([['5x'], ['0s'], ['-1m']])('--time %s is a usage error', async (t) => {
    const r = await run('train', spec, '--data', data, '--out', join(dir, 'bad-time'), '--time', t);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--time takes a duration such as 5m, 90s or 1h30m/);
  });

  it('--val-split 0 trains on every image and exports the last weights', async () => {
    const out = join(dir, 'no-val');
    const r = await run(
      'train',
      spec,
      '--data',
      data,
      '--out',
      out,
      '--val-split',
      '0',
      '--epochs',
      '1',
      '--steps-per-epoch',
      '2',
    );
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/data: .* \(no validation\): 4 training, 0 validation images/);
    expect(r.out).toMatch(/no validation data/);
    expect(r.out).toMatch(/model: .*model\.onnx \(last checkpoint, step 2, no validation data;/);
  });

  it("--init starts from a run's weights (its own spec when none is given) and records where they came from", async () => {
    const out = join(dir, 'init');
    const r = await run('train', '--init', trained, '--data', data, '--out', out, '--max-steps', '1', '--no-export');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/weights: from .*run\/best \(trained from/);
    const runJson = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as {
      init: { from: string; weightsSha256: string };
    };
    expect(runJson.init.from).toBe(join(trained, 'best'));
    expect(runJson.init.weightsSha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('--init with another network is refused, naming the first differing layer', async () => {
    const other = join(dir, 'other.yaml');
    writeFileSync(other, BOUNDARY.replace('base: 4', 'base: 6'));
    const r = await run(
      'train',
      other,
      '--init',
      trained,
      '--data',
      data,
      '--out',
      join(dir, 'init-other'),
      '--max-steps',
      '1',
    );
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /unetc\.json: the checkpoint was trained from a different network .*has '.*' where the checkpoint's spec has '.*'; --init needs the same network/,
    );
  });

  it('--init and --resume together are a usage error; an unknown model name lists the shipped ones', async () => {
    expect((await run('train', '--init', trained, '--resume', trained)).code).toBe(2);
    const r = await run('train', '--init', 'no-such-model', '--data', data);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/no-such-model: no such file or folder/);
  });
});

describe('the nuclei model that ships with unetc', () => {
  const shipped = join(root, 'models', 'nuclei');

  it('predict nuclei: masks and split instances with no training (a fresh clone has models/nuclei)', async () => {
    const out = join(dir, 'shipped');
    const r = await run('predict', 'nuclei', '--input', join(data, 'images'), '--out', out, '--instances');
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/note: 'nuclei' is the nuclei model shipped with unetc/);
    expect(r.err).toMatch(/1 class with instance boundaries/);
    expect(readdirSync(out)).toContain('a_labels.png');
    expect(readFileSync(join(out, 'instances.csv'), 'utf8').split('\n')[0]).toBe(
      'file,count,mean_area,median_area,min_area,max_area',
    );
  });

  it('its ONNX file and its checkpoint hold the same network and weights (float16, verified)', async () => {
    const engine = await selectEngine('wasm');
    const onnx = await loadModel(join(shipped, 'model.onnx'));
    const tfjs = await loadModel(join(shipped, 'checkpoint'), { backend: 'wasm' });
    try {
      const s = generateSample(7, { height: 96, width: 112 });
      const image = { height: 96, width: 112, channels: 1, data: s.image };
      const [a, b] = [await predictImage(onnx, image), await predictImage(tfjs, image)];
      let worst = 0;
      for (let i = 0; i < a.probabilities.length; i++)
        worst = Math.max(worst, Math.abs(a.probabilities[i]! - b.probabilities[i]!));
      expect(worst).toBeLessThan(1e-4);
      expect(onnx.info.instances).toBe('boundary');
      const summary = summarizeOnnx(readFileSync(join(shipped, 'model.onnx')));
      expect(summary.nodes.filter((n) => n.opType === 'Cast').length).toBe(summary.initializers.length);
    } finally {
      await onnx.close();
      await tfjs.close();
    }
    expect(engine.name).toBe('wasm');
  });

  it('a local folder named like a shipped model wins over it', async () => {
    const cwd = process.cwd();
    const here = mkdtempSync(join(tmpdir(), 'unetc-shadow-'));
    try {
      process.chdir(here);
      mkdirSync('nuclei');
      const r = await run('predict', 'nuclei', '--input', join(data, 'images'), '--out', join(here, 'out'));
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/nuclei: not a model/);
    } finally {
      process.chdir(cwd);
      rmSync(here, { recursive: true, force: true });
    }
  });
});
