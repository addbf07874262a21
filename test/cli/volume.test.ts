import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { summarizeOnnx } from '../../src/compiler/backends/onnx/index.js';
import { writeGray } from '../../src/runtime/data/index.js';
import {
  readDicomSeries,
  readNifti,
  scanVolumeDataset,
  writeNiftiLabels,
  writeNiftiMask,
  writeNiftiVolume,
  writeSyntheticVolumes,
} from '../../src/runtime/volume/index.js';
import { encodeDicom } from '../runtime/volume/dicom-encode.js';
import { run, outputsIn } from './helpers.js';

/**
 * The acceptance for volumes, end to end through the CLI: a tiny 3D spec trains a few
 * steps on generated NIfTI volumes and predicts NIfTI masks whose header matches the input's;
 * a 2D spec trains on slices of the same volumes and predicts them slice by slice.
 */
let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'unetc-volume-'));
  await writeSyntheticVolumes(join(dir, 'data'), { count: 4, seed: 3, dims: [40, 32, 16] });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The NIfTI-1 header fields a mask must copy: dim, pixdim, xyzt_units, qform/sform codes, quatern_*, qoffset_*, srow_*. */
const KEPT: readonly [string, number, number][] = [
  ['dim', 40, 56],
  ['pixdim', 76, 108],
  ['xyzt_units', 123, 124],
  ['qform_code..srow_z', 252, 344],
  ['magic', 344, 348],
];
const headerOf = (file: string) => {
  const bytes = readFileSync(file);
  return file.endsWith('.gz') ? gunzipSync(bytes) : bytes;
};

describe('3D U-Net on NIfTI volumes', () => {
  it('trains specs/tiny-3d.yaml for a few steps, exports a verified NCDHW model, and predicts masks with the input header', async () => {
    const runDir = join(dir, 'run3d');
    const t = await run(
      'train',
      'specs/tiny-3d.yaml',
      '--data',
      join(dir, 'data'),
      '--out',
      runDir,
      '--epochs',
      '1',
      '--steps-per-epoch',
      '3',
    );
    expect(t.err).toBe('');
    expect(t.code).toBe(0);
    expect(t.out).toContain('3 training, 1 validation volumes');
    expect(t.out).toMatch(/onnxruntime parity \S+ at 16x16x16/);
    const report = readFileSync(join(runDir, 'report.html'), 'utf8');
    expect(report).toContain('z=8'); // the validation volume's middle slice is shown
    expect(report).not.toContain('no validation images');

    const out = join(dir, 'masks3d');
    const p = await run('predict', runDir, '--input', join(dir, 'data', 'images'), '--out', out);
    expect(p.code).toBe(0);
    expect(outputsIn(out)).toEqual(['case_000.nii.gz', 'case_001.nii.gz', 'case_002.nii.gz', 'case_003.nii.gz']);
    const input = join(dir, 'data', 'images', 'case_001.nii.gz');
    const mask = join(out, 'case_001.nii.gz');
    const a = headerOf(input);
    const b = headerOf(mask);
    for (const [name, from, to] of KEPT)
      expect(Buffer.compare(a.subarray(from, to), b.subarray(from, to)), name).toBe(0);
    // Negative control: the fields a mask must change did change (datatype float32 -> uint8).
    expect(a.readInt16LE(70)).toBe(16);
    expect(b.readInt16LE(70)).toBe(2);
    const [vi, vm] = await Promise.all([readNifti(input), readNifti(mask)]);
    expect(vm.dims).toEqual(vi.dims);
    expect(vm.affine).toEqual(vi.affine);
    expect([...new Set(vm.data)].every((v) => v === 0 || v === 1)).toBe(true);
  }, 240_000);

  it('a 3D model refuses PNG input; a 2D spec trains on z slices and predicts a volume slice by slice', async () => {
    const png = join(dir, 'flat.png');
    await writeGray(png, { width: 8, height: 8, data: new Uint16Array(64) }, 8);
    const p = await run('predict', join(dir, 'run3d'), '--input', png, '--out', join(dir, 'x'));
    expect(p.code).toBe(2);
    expect(p.err).toContain('is a 3D model (input.dims: 3): give it NIfTI volumes');
    const runDir = join(dir, 'run2d');
    const t = await run(
      'train',
      'specs/tiny.yaml',
      '--data',
      join(dir, 'data'),
      '--out',
      runDir,
      '--epochs',
      '1',
      '--steps-per-epoch',
      '2',
      '--slice-axis',
      'z',
    );
    expect(t.code).toBe(0);
    expect(t.out).toContain('z slices: 48 training, 16 validation images');
    const out = join(dir, 'masks2d');
    const q = await run('predict', runDir, '--input', join(dir, 'data', 'images', 'case_000.nii.gz'), '--out', out);
    expect(q.code).toBe(0);
    const [vi, vm] = await Promise.all([
      readNifti(join(dir, 'data', 'images', 'case_000.nii.gz')),
      readNifti(join(out, 'case_000.nii.gz')),
    ]);
    expect(vm.dims).toEqual(vi.dims);
    expect(vm.affine).toEqual(vi.affine);
  }, 240_000);

  it('eval scores each volume and the pooled voxels; empty true masks score lower (negative control)', async () => {
    const runDir = join(dir, 'run3d');
    const e = await run('eval', runDir, '--data', join(dir, 'data'), '--out', join(dir, 'scores.csv'));
    expect(e.code).toBe(0);
    expect(e.out).toMatch(/\[4\/4\] case_003\.nii\.gz 40x32x16 \d+ ms {2}Dice \d\.\d{3}/);
    const csv = readFileSync(join(dir, 'scores.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe('volume,dice,iou,voxel_accuracy,ms');
    expect(csv).toHaveLength(7);
    const pooled = Number(csv[6]!.split(',')[1]);
    expect(pooled).toBeGreaterThan(0);
    // The same images with empty masks: the model's foreground is all false positives.
    const empty = join(dir, 'empty');
    await writeSyntheticVolumes(empty, { count: 2, seed: 3, dims: [40, 32, 16] });
    for (const name of ['case_000.nii.gz', 'case_001.nii.gz']) {
      const v = await readNifti(join(empty, 'masks', name));
      await writeNiftiMask(join(empty, 'masks', name), v, new Uint8Array(v.data.length));
    }
    const z = await run('eval', runDir, '--data', empty, '--out', join(dir, 'empty.csv'));
    expect(z.code).toBe(0);
    const emptyPooled = Number(readFileSync(join(dir, 'empty.csv'), 'utf8').trim().split('\n').pop()!.split(',')[1]);
    expect(emptyPooled).toBeLessThan(pooled);
  }, 120_000);

  it('eval with an instances/ folder scores instance F1 of the 3D components; wrong instances score lower', async () => {
    const set = join(dir, 'with-instances');
    await writeSyntheticVolumes(set, { count: 2, seed: 3, dims: [40, 32, 16] });
    // Truth = the model's own instances (from predict --instances): F1 must be exactly 1.
    const own = join(dir, 'own-instances');
    expect(
      (await run('predict', join(dir, 'run3d'), '--input', join(set, 'images'), '--out', own, '--instances')).code,
    ).toBe(0);
    mkdirSync(join(set, 'instances'));
    for (const name of ['case_000', 'case_001'])
      copyFileSync(join(own, `${name}_labels.nii.gz`), join(set, 'instances', `${name}.nii.gz`));
    const e = await run('eval', join(dir, 'run3d'), '--data', set, '--out', join(dir, 'inst.csv'));
    expect(e.code).toBe(0);
    expect(e.out).toMatch(/instances \(IoU > 0\.5\), 2 volumes with instances\/:/);
    const rowF1 = (csv: string) =>
      readFileSync(csv, 'utf8')
        .trim()
        .split('\n')
        .slice(1, 3)
        .map((l) => Number(l.split(',')[8]));
    expect(rowF1(join(dir, 'inst.csv'))).toEqual([1, 1]);
    // Negative control: every true instance moved by half the volume matches nothing it did.
    for (const name of ['case_000.nii.gz', 'case_001.nii.gz']) {
      const t = await readNifti(join(set, 'instances', name));
      const shifted = new Uint16Array(t.data.length);
      for (let i = 0; i < t.data.length; i++) shifted[(i + (t.data.length >> 1)) % t.data.length] = t.data[i]!;
      await writeNiftiLabels(join(set, 'instances', name), t, shifted);
    }
    expect((await run('eval', join(dir, 'run3d'), '--data', set, '--out', join(dir, 'inst2.csv'))).code).toBe(0);
    expect(Math.max(...rowF1(join(dir, 'inst2.csv')))).toBeLessThan(1);
  }, 120_000);

  it('predict takes a DICOM series folder and writes one NIfTI mask in its geometry', async () => {
    const series = join(dir, 'CT_0001');
    mkdirSync(series);
    const [rows, columns] = [32, 40];
    for (let k = 0; k < 4; k++) {
      const pixels = Array.from({ length: rows * columns }, (_, p) =>
        ((p % columns) - 20) ** 2 + (Math.floor(p / columns) - 16) ** 2 < 60 ? 1200 : 100 + k,
      );
      writeFileSync(
        join(series, `IM${k}.dcm`),
        encodeDicom({
          rows,
          columns,
          pixels,
          position: [-50, -40, 10 + 2.5 * k],
          pixelSpacing: [0.8, 0.8],
          instance: k + 1,
        }),
      );
    }
    const out = join(dir, 'dicom-masks');
    const p = await run('predict', join(dir, 'run2d'), '--input', series, '--out', out);
    expect(p.err).not.toContain('error');
    expect(p.code).toBe(0);
    expect(outputsIn(out)).toEqual(['CT_0001.nii.gz']);
    const [scan, mask] = await Promise.all([readDicomSeries(series), readNifti(join(out, 'CT_0001.nii.gz'))]);
    expect(mask.dims).toEqual([columns, rows, 4]);
    const diff = Math.max(...mask.affine.flatMap((row, r) => row.map((v, c) => Math.abs(v - scan.affine[r]![c]!))));
    expect(diff).toBeLessThan(1e-5);
    expect(scan.affine[2]![3]).toBe(10); // the first slice's z in RAS (negative control for a default affine)
  }, 120_000);

  it("compile --weights RUN/best keeps the run's input normalization in the ONNX metadata", async () => {
    const o = join(dir, 'best.onnx');
    const c = await run(
      'compile',
      'specs/tiny-3d.yaml',
      '--target',
      'onnx',
      '--weights',
      join(dir, 'run3d', 'best'),
      '-o',
      o,
    );
    expect(c.code).toBe(0);
    expect(new Map(summarizeOnnx(readFileSync(o)).metadata).get('input_normalization')).toBe('zscore-per-image');
    // Negative control: initial weights were never trained on normalized inputs.
    const i = join(dir, 'initial.onnx');
    expect((await run('compile', 'specs/tiny-3d.yaml', '--target', 'onnx', '-o', i)).code).toBe(0);
    expect(new Map(summarizeOnnx(readFileSync(i)).metadata).get('input_normalization')).toBe('none');
  }, 120_000);

  it('the tfjs export of a deep-supervision spec has the main output only', async () => {
    const spec = join(dir, 'ds.yaml');
    writeFileSync(
      spec,
      'name: ds\ninput: {channels: 1}\noutput: {classes: 1}\nnetwork: {depth: 3, filters: [4, 8, 16], deep_supervision: true}\n',
    );
    const out = join(dir, 'ds-tfjs');
    expect((await run('compile', spec, '--target', 'tfjs', '-o', out)).code).toBe(0);
    const model = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8')) as {
      modelTopology: { config: { output_layers: unknown[] } };
    };
    expect(model.modelTopology.config.output_layers).toEqual([['head.sigmoid', 0, 0]]);
  }, 120_000);

  it('NaN voxels are named: training lists them first, predict skips the volume (exit 1)', async () => {
    const bad = join(dir, 'nan');
    await writeSyntheticVolumes(bad, { count: 2, seed: 5, dims: [16, 16, 8] });
    const v = await readNifti(join(bad, 'images', 'case_001.nii.gz'));
    const data = v.data.slice();
    data[7] = Number.NaN;
    await writeNiftiVolume(join(bad, 'images', 'case_001.nii.gz'), v, data);
    const t = await run('train', 'specs/tiny-3d.yaml', '--data', bad, '--out', join(dir, 'never2'), '--max-steps', '1');
    expect(t.code).toBe(1);
    expect(t.err).toContain('case_001.nii.gz: 1 voxel is NaN or infinite');
    const p = await run('predict', join(dir, 'run3d'), '--input', join(bad, 'images'), '--out', join(dir, 'nan-masks'));
    expect(p.code).toBe(1);
    expect(p.err).toContain('case_001.nii.gz: 1 voxel is NaN or infinite');
    expect(outputsIn(join(dir, 'nan-masks'))).toEqual(['case_000.nii.gz']);
  }, 120_000);

  it('--instances, --min-size and --probabilities on volumes: uint16 label maps, instances.csv, float probability maps', async () => {
    const out = join(dir, 'inst');
    const p = await run(
      'predict',
      join(dir, 'run3d'),
      '--input',
      join(dir, 'data', 'images', 'case_002.nii.gz'),
      '--out',
      out,
      '--instances',
      '--probabilities',
      '--min-size',
      '3',
      '--connectivity',
      '6',
    );
    expect(p.err).not.toContain('error');
    expect(p.code).toBe(0);
    expect(outputsIn(out)).toEqual([
      'case_002.nii.gz',
      'case_002_labels.nii.gz',
      'case_002_prob.nii.gz',
      'instances.csv',
    ]);
    const [mask, labels, prob] = await Promise.all(
      ['case_002.nii.gz', 'case_002_labels.nii.gz', 'case_002_prob.nii.gz'].map((f) => readNifti(join(out, f))),
    );
    const row = readFileSync(join(out, 'instances.csv'), 'utf8').trim().split('\n')[1]!.split(',');
    const count = Number(row[1]);
    let maxLabel = 0;
    for (const v of labels!.data) maxLabel = Math.max(maxLabel, v);
    expect(maxLabel).toBe(count);
    expect(Number(row[4])).toBeGreaterThanOrEqual(3); // no component under --min-size
    let kept = 0;
    for (let i = 0; i < mask!.data.length; i++) {
      expect(labels!.data[i]! > 0).toBe(mask!.data[i]! > 0);
      if (mask!.data[i]! > 0) {
        kept++;
        expect(prob!.data[i]!).toBeGreaterThan(0.5);
      }
    }
    expect(kept).toBeGreaterThan(0);
    // Negative control: a --min-size above every component empties the mask.
    const empty = join(dir, 'inst-empty');
    expect(
      (
        await run(
          'predict',
          join(dir, 'run3d'),
          '--input',
          join(dir, 'data', 'images', 'case_002.nii.gz'),
          '--out',
          empty,
          '--min-size',
          '100000',
        )
      ).code,
    ).toBe(0);
    let emptyMax = 0;
    for (const v of (await readNifti(join(empty, 'case_002.nii.gz'))).data) emptyMax = Math.max(emptyMax, v);
    expect(emptyMax).toBe(0);
    // Image connectivities do not apply to volumes.
    expect(
      (
        await run(
          'predict',
          join(dir, 'run3d'),
          '--input',
          join(dir, 'data', 'images'),
          '--out',
          join(dir, 'x3'),
          '--connectivity',
          '8',
        )
      ).code,
    ).toBe(2);
  }, 120_000);

  it('a checkpoint trained with deep supervision exports through the plain spec (heads differ, the network does not)', async () => {
    const spec = join(dir, 'ds2.yaml');
    writeFileSync(
      spec,
      'name: ds2\ninput: {channels: 1}\noutput: {classes: 1}\nnetwork: {depth: 3, filters: [4, 8, 16], deep_supervision: true}\n',
    );
    const runDir = join(dir, 'ds2-run');
    expect(
      (await run('train', spec, '--out', runDir, '--epochs', '1', '--steps-per-epoch', '1', '--no-export')).code,
    ).toBe(0);
    const plain = join(dir, 'plain.yaml');
    writeFileSync(
      plain,
      'name: plain\ninput: {channels: 1}\noutput: {classes: 1}\nnetwork: {depth: 3, filters: [4, 8, 16]}\n',
    );
    const c = await run(
      'compile',
      plain,
      '--target',
      'onnx',
      '--weights',
      join(runDir, 'best'),
      '-o',
      join(dir, 'plain.onnx'),
    );
    expect(c.err).not.toContain('error');
    expect(c.code).toBe(0);
    // Negative control: another network is still refused, naming the first differing layer.
    writeFileSync(
      plain,
      'name: plain\ninput: {channels: 1}\noutput: {classes: 1}\nnetwork: {depth: 3, filters: [4, 8, 32]}\n',
    );
    const d = await run(
      'compile',
      plain,
      '--target',
      'onnx',
      '--weights',
      join(runDir, 'best'),
      '-o',
      join(dir, 'plain2.onnx'),
    );
    expect(d.code).toBe(1);
    expect(d.err).toContain('the checkpoint was trained from a different network');
  }, 120_000);

  it('a run whose data folder moved resumes with --data at the new place (same fingerprint)', async () => {
    const before = join(dir, 'moving-a');
    await writeSyntheticVolumes(before, { count: 3, seed: 9, dims: [16, 16, 8] });
    const runDir = join(dir, 'moving-run');
    expect(
      (
        await run(
          'train',
          'specs/tiny-3d.yaml',
          '--data',
          before,
          '--out',
          runDir,
          '--epochs',
          '2',
          '--steps-per-epoch',
          '1',
          '--max-steps',
          '1',
          '--no-export',
        )
      ).code,
    ).toBe(0);
    expect(JSON.parse(readFileSync(join(runDir, 'run.json'), 'utf8')).data.dir).toBe(before);
    const after = join(dir, 'moving-b');
    renameSync(before, after);
    const lost = await run('train', '--resume', runDir, '--no-export');
    expect(lost.code).toBe(1);
    expect(lost.err).toContain(before);
    const found = await run('train', '--resume', runDir, '--data', after, '--no-export');
    expect(found.err).toBe('');
    expect(found.code).toBe(0);
    expect(found.out).toContain('finished 2 epochs');
  }, 120_000);

  it('symbolic links to volumes count as files (broken links do not)', async () => {
    const links = join(dir, 'links');
    for (const sub of ['images', 'masks']) {
      mkdirSync(join(links, sub), { recursive: true });
      for (const name of ['case_000.nii.gz', 'case_001.nii.gz'])
        symlinkSync(join(dir, 'data', sub, name), join(links, sub, name));
    }
    symlinkSync(join(dir, 'nowhere.nii.gz'), join(links, 'images', 'broken.nii.gz'));
    const scan = await scanVolumeDataset(links);
    expect(scan.samples.map((x) => x.name)).toEqual(['case_000', 'case_001']);
  });

  it('a study folder of DICOM series folders gives one mask per series; --input . names it after the folder', async () => {
    const study = join(dir, 'study');
    for (const name of ['s1', 's2']) {
      mkdirSync(join(study, name), { recursive: true });
      for (let k = 0; k < 3; k++)
        writeFileSync(
          join(study, name, `IM${k}.dcm`),
          encodeDicom({
            rows: 24,
            columns: 32,
            position: [0, 0, 2 * k],
            instance: k + 1,
            series: `1.2.3.${name === 's1' ? 1 : 2}`,
          }),
        );
    }
    const out = join(dir, 'study-masks');
    const p = await run('predict', join(dir, 'run2d'), '--input', study, '--out', out);
    expect(p.code).toBe(0);
    expect(outputsIn(out)).toEqual(['s1.nii.gz', 's2.nii.gz']);
    const cwd = process.cwd();
    process.chdir(join(study, 's1'));
    try {
      expect((await run('predict', join(dir, 'run2d'), '--input', '.', '--out', join(dir, 'dot-masks'))).code).toBe(0);
    } finally {
      process.chdir(cwd);
    }
    expect(outputsIn(join(dir, 'dot-masks'))).toEqual(['s1.nii.gz']);
  }, 120_000);

  it('two inputs that would write one output file are refused before anything is written', async () => {
    const clash = join(dir, 'clash');
    mkdirSync(clash);
    for (const name of ['x.nii.gz', 'x_labels.nii.gz'])
      copyFileSync(join(dir, 'data', 'images', 'case_000.nii.gz'), join(clash, name));
    const out = join(dir, 'clash-out');
    const p = await run('predict', join(dir, 'run3d'), '--input', clash, '--out', out, '--instances');
    expect(p.code).toBe(2);
    expect(p.err).toContain('would both write');
    expect(outputsIn(out)).toEqual([]);
  });

  it('a 3D spec on a PNG folder is refused, naming the folder', async () => {
    const t = await run(
      'train',
      'specs/tiny-3d.yaml',
      '--data',
      'test/golden',
      '--out',
      join(dir, 'never'),
      '--max-steps',
      '1',
    );
    expect(t.code).toBe(1);
    expect(t.err).toContain('a 3D spec (input.dims: 3) trains on NIfTI volumes');
  });
});
