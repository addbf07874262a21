import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
  ])(
    '%s valid padding trains and validates',
    async (name, input, patch) => {
      const spec = join(dir, `v${name}.yaml`);
      writeFileSync(
        spec,
        `name: v${name}\n${input}\noutput: {classes: 1}\nnetwork: {depth: 2, filters: [4, 8], block: {padding: valid}}\ntrain: {patch: ${patch}, batch: 1}\n`,
      );
      const r = await run(
        'train',
        spec,
        '--out',
        join(dir, `run${name}`),
        '--epochs',
        '1',
        '--steps-per-epoch',
        '2',
        '--no-export',
      );
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/epoch 1: loss \d+\.\d+, validation Dice \d\.\d{4}/);
      if (name === '3D') {
        // Volumes of any size: tiles reach past their outputs by the network's margin.
        const { readNifti, writeSyntheticVolumes } = await import('../../src/runtime/volume/index.js');
        await writeSyntheticVolumes(join(dir, 'vols'), { count: 1, seed: 4, dims: [50, 37, 9] });
        const p = await run(
          'predict',
          join(dir, `run${name}`, 'best'),
          '--input',
          join(dir, 'vols', 'images'),
          '--out',
          join(dir, 'vmasks'),
          '--tile',
          '16',
        );
        expect(p.err).toContain('output 20x20x20 smaller on each side');
        expect(p.code).toBe(0);
        expect((await readNifti(join(dir, 'vmasks', 'case_000.nii.gz'))).dims).toEqual([50, 37, 9]);
      }
    },
    120_000,
  );

  it('the 2015 network (572 -> 388 style, no patch given) gets a patch it accepts', async () => {
    const r = await run('train', 'specs/unet-2015.yaml', '--dry-run');
    expect(r.code).toBe(0);
    expect(r.out).toContain('patch 188x188');
  }, 120_000);
});

describe('validation scores every pixel, as eval does', () => {
  it('an unpadded network: the validation Dice of the best epoch equals eval of its checkpoint on the same images', async () => {
    const { generateSample, writeGray, writeMask } = await import('../../src/runtime/data/index.js');
    const data = join(dir, 'pngs');
    for (const sub of ['images', 'masks']) mkdirSync(join(data, sub), { recursive: true });
    for (const [i, name] of ['a', 'b', 'c'].entries()) {
      const s = generateSample(40 + i, { height: 96, width: 80 });
      await writeGray(join(data, 'images', `${name}.png`), { height: 96, width: 80, data: s.image });
      await writeMask(join(data, 'masks', `${name}.png`), { height: 96, width: 80, data: s.mask });
    }
    const spec = join(dir, 'vpng.yaml');
    writeFileSync(
      spec,
      'name: vpng\ninput: {channels: 1}\noutput: {classes: 1}\nnetwork: {depth: 2, filters: [4, 8], block: {padding: valid}}\ntrain: {patch: [44, 44], batch: 2}\n',
    );
    const runDir = join(dir, 'vpng-run');
    expect(
      (
        await run(
          'train',
          spec,
          '--data',
          data,
          '--val',
          data,
          '--out',
          runDir,
          '--epochs',
          '2',
          '--steps-per-epoch',
          '3',
          '--no-export',
        )
      ).code,
    ).toBe(0);
    const lines = readFileSync(join(runDir, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { val_dice: number; best: boolean });
    const best = lines.filter((l) => l.best).pop()!;
    const e = await run('eval', join(runDir, 'best'), '--data', data, '--out', join(dir, 'vpng.csv'));
    expect(e.code).toBe(0);
    const pooled = Number(readFileSync(join(dir, 'vpng.csv'), 'utf8').trim().split('\n').pop()!.split(',')[3]);
    expect(Math.abs(pooled - best.val_dice)).toBeLessThan(1e-6);
  }, 120_000);
});

describe('a thin validation volume', () => {
  it('is zero-padded to an accepted size instead of crashing', async () => {
    const { writeSyntheticVolumes } = await import('../../src/runtime/volume/index.js');
    await writeSyntheticVolumes(join(dir, 'train'), { count: 2, seed: 1, dims: [40, 32, 16] });
    await writeSyntheticVolumes(join(dir, 'val'), { count: 1, seed: 2, dims: [40, 32, 1] });
    const r = await run(
      'train',
      'specs/tiny-3d.yaml',
      '--data',
      join(dir, 'train'),
      '--val',
      join(dir, 'val'),
      '--out',
      join(dir, 'thin'),
      '--epochs',
      '1',
      '--steps-per-epoch',
      '1',
      '--no-export',
    );
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(readFileSync(join(dir, 'thin', 'metrics.jsonl'), 'utf8')).toContain('"val_dice"');
  }, 120_000);
});
