import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cropOrPad, validationSize } from '../../src/runtime/train/validate.js';
import { compileSpec } from '../../src/compiler/index.js';
import { run } from './helpers.js';

/** Unpadded ('valid') networks train: targets are cropped to the output, validation too. */
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'unetc-valid-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('training networks whose output is smaller than their input', () => {
  it.each([
    ['2D', 'input: {channels: 1}', '[44, 44]'],
    ['3D', 'input: {channels: 1, dims: 3}', '[44, 44, 44]'],
  ])('%s valid padding trains and validates', async (name, input, patch) => {
    const spec = join(dir, `v${name}.yaml`);
    writeFileSync(spec, `name: v${name}\n${input}\noutput: {classes: 1}\nnetwork: {depth: 2, filters: [4, 8], block: {padding: valid}}\ntrain: {patch: ${patch}, batch: 1}\n`);
    const r = await run('train', spec, '--out', join(dir, `run${name}`), '--epochs', '1', '--steps-per-epoch', '2', '--no-export');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/epoch 1: loss \d+\.\d+, validation Dice \d\.\d{4}/);
    if (name === '3D') {
      // Volumes of any size: tiles reach past their outputs by the network's margin.
      const { readNifti, writeSyntheticVolumes } = await import('../../src/runtime/volume/index.js');
      await writeSyntheticVolumes(join(dir, 'vols'), { count: 1, seed: 4, dims: [50, 37, 9] });
      const p = await run('predict', join(dir, `run${name}`, 'best'), '--input', join(dir, 'vols', 'images'), '--out', join(dir, 'vmasks'), '--tile', '16');
      expect(p.err).toContain('output 20x20x20 smaller on each side');
      expect(p.code).toBe(0);
      expect((await readNifti(join(dir, 'vmasks', 'case_000.nii.gz'))).dims).toEqual([50, 37, 9]);
    }
  }, 120_000);

  it('the 2015 network (572 -> 388 style, no patch given) gets a patch it accepts', async () => {
    const r = await run('train', 'specs/unet-2015.yaml', '--dry-run');
    expect(r.code).toBe(0);
    expect(r.out).toContain('patch 188x188');
  }, 120_000);
});

describe('validation windows', () => {
  const g = compileSpec({ name: 'v.yaml', body: 'name: v\ninput: {channels: 1, dims: 3}\noutput: {classes: 1}\nnetwork: {depth: 2, filters: [4, 8]}\n' }).graph!;
  it('the nearest accepted size: down when one fits, up (zero padding) when none does', () => {
    expect(validationSize(g, [1, 33, 40])).toEqual([4, 32, 40]);
  });
  it('cropOrPad cuts and zero-fills a window in any rank', () => {
    const a = Float32Array.from([1, 2, 3, 4, 5, 6]); // 2x3
    expect(Array.from(cropOrPad(a, [2, 3], 1, [0, 1], [2, 2]))).toEqual([2, 3, 5, 6]);
    expect(Array.from(cropOrPad(a, [2, 3], 1, [-1, 0], [4, 1]))).toEqual([0, 1, 4, 0]);
    expect(Array.from(cropOrPad(Float32Array.from([1, 10, 2, 20]), [2], 2, [1], [2]))).toEqual([2, 20, 0, 0]);
  });
});

describe('a thin validation volume', () => {
  it('is zero-padded to an accepted size instead of crashing', async () => {
    const { writeSyntheticVolumes } = await import('../../src/runtime/volume/index.js');
    await writeSyntheticVolumes(join(dir, 'train'), { count: 2, seed: 1, dims: [40, 32, 16] });
    await writeSyntheticVolumes(join(dir, 'val'), { count: 1, seed: 2, dims: [40, 32, 1] });
    const r = await run('train', 'specs/tiny-3d.yaml', '--data', join(dir, 'train'), '--val', join(dir, 'val'), '--out', join(dir, 'thin'), '--epochs', '1', '--steps-per-epoch', '1', '--no-export');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(readFileSync(join(dir, 'thin', 'metrics.jsonl'), 'utf8')).toContain('"val_dice"');
  }, 120_000);
});
