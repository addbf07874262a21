/**
 * `input.normalize: percentile`: the spec (YAML and DSL) into the IR, training with each image's
 * 1st/99.8th percentiles (both engines' data), the choice recorded in run.json and the ONNX
 * metadata, and prediction normalizing that way. The default (per-image z-score) is the negative
 * control throughout.
 */
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileSpec, printGraph, type Graph } from '../../src/compiler/index.js';
import { makeSource } from '../../src/compiler/diagnostics/index.js';
import { parseDsl, printDsl } from '../../src/compiler/syntax/index.js';
import { generateSample, normalize, writeGray } from '../../src/runtime/data/index.js';
import { percentiles } from '../../src/runtime/data/normalize.js';
import { loadModel, modelInput } from '../../src/runtime/infer/index.js';
import { inputNormalization } from '../../src/runtime/infer/model.js';
import { loadTrainingData } from '../../src/runtime/train/sources.js';
import { findTorchPython } from '../../src/runtime/torch/python.js';
import { scratchDir } from '../helpers.js';
import { run } from './helpers.js';

const yaml = (normalize: string) => `name: pct
input: {channels: 1${normalize}}
output: {classes: 1, activation: sigmoid}
network: {depth: 2, filters: {base: 4, growth: 2}}
train: {loss: bce-dice, batch: 2, patch: [64, 64], epochs: 1, steps_per_epoch: 2}
`;

const mean = (d: Float32Array) => d.reduce((a, v) => a + v, 0) / d.length;

/** The normalization a checkpoint says once copied out of its run folder (no run.json beside it). */
async function copiedNormalization(checkpoint: string, to: string): Promise<string> {
  cpSync(checkpoint, to, { recursive: true });
  const model = await loadModel(to);
  try {
    return model.info.normalization;
  } finally {
    await model.close();
  }
}

function graphOf(name: string, body: string): Graph {
  const c = compileSpec({ name, body });
  expect(c.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return c.graph!;
}

describe('input.normalize in the spec', () => {
  it('lowers into the IR and names the recorded normalization; absent or zscore: the per-image z-score', () => {
    const g = graphOf('pct.yaml', yaml(', normalize: percentile'));
    expect(g.normalize).toBe('percentile');
    expect(inputNormalization(g)).toBe('percentile-per-image');
    expect(printGraph(g).split('\n')[1]).toContain('normalize=percentile');
    for (const body of [yaml(''), yaml(', normalize: zscore')]) {
      const z = graphOf('z.yaml', body);
      expect(z.normalize).toBeUndefined();
      expect(inputNormalization(z)).toBe('zscore-per-image');
    }
  });

  it('the DSL says the same (`input channels 1 normalize percentile`), and prints back', () => {
    const dsl = `unet pct {
  input channels 1 normalize percentile
  output classes 1 sigmoid
  depth 2
  filters base 4 growth 2
}
`;
    expect(printGraph(graphOf('pct.unet', dsl))).toBe(printGraph(graphOf('pct.yaml', yaml(', normalize: percentile'))));
    const parsed = parseDsl(makeSource('pct.unet', dsl)).value!.value;
    expect(printDsl(parsed)).toContain('input channels 1 normalize percentile');
  });

  it('an unknown normalization is a located error naming the choices', () => {
    const c = compileSpec({ name: 'bad.yaml', body: yaml(', normalize: robust') });
    const errors = c.diagnostics.filter((d) => d.severity === 'error');
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]!.message).toMatch(/zscore.*percentile|percentile.*zscore/);
    const span = errors[0]!.span!;
    expect(span.source.body.slice(span.start, span.end)).toBe('robust');
  });
});

describe('training data with input.normalize', () => {
  const choice = { dir: undefined, valDir: undefined, valSplit: 0.2, seed: 1, sliceAxis: 'z' as const };
  it.each([
    ['2D images', '', 'percentile', 'zscore'],
    ['3D volumes', ', dims: 3', 'percentile', 'zscore'],
  ])('%s: each example carries its own percentiles; without the setting, its z-score', async (_, dims, on, off) => {
    const spec = (n: string) =>
      `name: d\ninput: {channels: 1${dims}${n}}\noutput: {classes: 1}\nnetwork: {depth: 2, filters: [2, 4]}\n`;
    const modes = async (n: string) => {
      const data = await loadTrainingData(graphOf('d.yaml', spec(n)), choice);
      const examples = data.volumes ? [...data.volumes.train, ...data.volumes.val] : [...data.train, ...data.val];
      expect(examples.length).toBeGreaterThan(0);
      // Each example's offset is its own 1st percentile (or mean): not a relabelled z-score.
      const e = examples[0]!;
      const image =
        'dims' in e ? { height: e.dims[0] * e.dims[1], width: e.dims[2], channels: 1, data: e.image } : e.image;
      const expected = e.norm.mode === 'percentile' ? percentiles(image, undefined, [1])[0]! : mean(image.data);
      expect(e.norm.offset[0]).toBeCloseTo(expected, 4);
      return new Set(examples.map((x) => x.norm.mode));
    };
    expect(await modes(', normalize: percentile')).toEqual(new Set([on]));
    expect(await modes('')).toEqual(new Set([off]));
  });
});

describe('unetc train with input.normalize: percentile', () => {
  let dir: string;
  beforeAll(() => {
    dir = scratchDir('unetc-normalize-');
    writeFileSync(join(dir, 'pct.yaml'), yaml(', normalize: percentile'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('records percentile-per-image in run.json and model.onnx; predict normalizes that way', async () => {
    const out = join(dir, 'run');
    const r = await run('train', join(dir, 'pct.yaml'), '--out', out, '--seed', '3');
    expect(r.code, r.err).toBe(0);
    const manifest = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { inputNormalization: string };
    expect(manifest.inputNormalization).toBe('percentile-per-image');
    const model = await loadModel(out);
    try {
      expect(model.info.normalization).toBe('percentile-per-image');
      const image = { height: 4, width: 4, channels: 1, data: Float32Array.from({ length: 16 }, (_, i) => i * i) };
      const input = modelInput(model, image).data;
      expect(input).toEqual(normalize(image, { mode: 'percentile' }).data);
      expect(input).not.toEqual(normalize(image, { mode: 'zscore' }).data);
    } finally {
      await model.close();
    }
    const s = generateSample(5, { height: 64, width: 64 });
    await writeGray(join(dir, 'cell.png'), { width: 64, height: 64, data: s.image });
    // A checkpoint copied out of its run (no run.json beside it) still says so: its spec does.
    expect(await copiedNormalization(join(out, 'last'), join(dir, 'copied'))).toBe('percentile-per-image');
    const pred = await run('predict', out, '--input', join(dir, 'cell.png'), '--out', join(dir, 'masks'));
    expect(pred.code, pred.err).toBe(0);
  });

  it('inspect says so (and its JSON); a z-score spec says nothing in the text', async () => {
    writeFileSync(join(dir, 'z.yaml'), yaml(''));
    expect((await run('inspect', join(dir, 'pct.yaml'))).out.split('\n')[0]).toContain('(percentile-normalized)');
    expect((await run('inspect', join(dir, 'z.yaml'))).out.split('\n')[0]).not.toContain('normalized');
    const json = JSON.parse((await run('inspect', join(dir, 'pct.yaml'), '--json')).out) as {
      input: { normalize: string };
    };
    expect(json.input.normalize).toBe('percentile');
  });

  it('weights trained on z-scored images do not go into a percentile spec (compile --weights names the difference)', async () => {
    writeFileSync(join(dir, 'z.yaml'), yaml(''));
    const z = join(dir, 'z-run');
    expect((await run('train', join(dir, 'z.yaml'), '--out', z, '--no-export')).code).toBe(0);
    // Copied out of its run, a z-score checkpoint says z-score (the copied percentile one's control).
    expect(await copiedNormalization(join(z, 'last'), join(dir, 'z-copied'))).toBe('zscore-per-image');
    const r = await run(
      'compile',
      join(dir, 'pct.yaml'),
      '--target',
      'onnx',
      '--weights',
      join(z, 'last'),
      '--output',
      join(dir, 'pct.onnx'),
    );
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/normalized by zscore and .*pct\.yaml says input\.normalize: percentile/);
    // The negative control: the spec they were trained with takes them.
    const ok = await run(
      'compile',
      join(dir, 'z.yaml'),
      '--target',
      'onnx',
      '--weights',
      join(z, 'last'),
      '--output',
      join(dir, 'z.onnx'),
    );
    expect(ok.code, ok.err).toBe(0);
  });

  it.skipIf(typeof findTorchPython() === 'string')(
    '--engine torch: config.json says percentile-per-image, and each image gets its own percentiles (not its z-score)',
    async () => {
      writeFileSync(join(dir, 'z.yaml'), yaml(''));
      const norms = async (spec: string) => {
        const out = join(dir, `torch-${spec}`);
        const r = await run(
          'train',
          join(dir, spec),
          '--out',
          out,
          '--engine',
          'torch',
          '--prepare-only',
          '--seed',
          '3',
        );
        expect(r.code, r.err).toBe(0);
        return JSON.parse(readFileSync(join(out, 'torch', 'config.json'), 'utf8')) as {
          data: { normalization: string; train: { norm: { offset: number[] } }[] };
        };
      };
      const p = await norms('pct.yaml');
      const z = await norms('z.yaml');
      expect([p.data.normalization, z.data.normalization]).toEqual(['percentile-per-image', 'zscore-per-image']);
      // The same images: the 1st percentile lies below the mean the z-score subtracts.
      expect(p.data.train.length).toBe(z.data.train.length);
      for (const [i, e] of p.data.train.entries())
        expect(e.norm.offset[0]!).toBeLessThan(z.data.train[i]!.norm.offset[0]!);
    },
  );
});
