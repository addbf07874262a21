import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatProblems } from '../../../src/runtime/data/folder.js';
import {
  createNiftiHeader,
  encodeNiftiMask,
  encodeNiftiVolume,
  scanVolumeDataset,
} from '../../../src/runtime/volume/index.js';

const root = mkdtempSync(join(tmpdir(), 'unetc-volume-folder-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const dims = [4, 3, 2] as const;
const n = 24;
const like = createNiftiHeader({
  dims,
  spacing: [1, 1, 2],
  affine: [
    [-1, 0, 0, 5],
    [0, 1, 0, -3],
    [0, 0, 2, 8],
  ],
});
const image = (gz = true, t = like) =>
  encodeNiftiVolume(
    gz ? 'x.nii.gz' : 'x.nii',
    t,
    Float32Array.from({ length: t.dims[0] * t.dims[1] * t.dims[2] }, (_, p) => p / 10),
  );
const mask = (value: (p: number) => number = (p) => p % 2, gz = true, t = like) =>
  encodeNiftiMask(
    gz ? 'x.nii.gz' : 'x.nii',
    t,
    Uint8Array.from({ length: t.dims[0] * t.dims[1] * t.dims[2] }, (_, p) => value(p)),
  );

let counter = 0;
/** A fresh folder with these files (relative path -> bytes). */
function fixture(files: Record<string, Uint8Array | string>): string {
  const dir = join(root, `d${++counter}`);
  mkdirSync(dir, { recursive: true });
  for (const [rel, bytes] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), bytes);
  }
  return dir;
}

async function problemsOf(dir: string, classes?: number): Promise<string[]> {
  const { problems } = await scanVolumeDataset(dir, classes === undefined ? {} : { classes });
  return formatProblems(problems).map((line) => line.split(dir).join('<dir>'));
}

const good = {
  'images/a.nii.gz': image(),
  'masks/a.nii.gz': mask(),
  'images/b.nii': image(false),
  'masks/b.nii.gz': mask((p) => (p % 3 === 0 ? 255 : 0)),
};

describe('scanVolumeDataset', () => {
  it('pairs images/NAME.nii[.gz] with masks/NAME.nii[.gz]', async () => {
    const dir = fixture({ ...good, 'images/README.txt': 'notes', 'images/.hidden.nii': 'x' });
    const { samples, problems } = await scanVolumeDataset(dir, { classes: 2 });
    expect(problems).toEqual([]);
    expect(
      samples.map((s) => [
        s.name,
        s.image.slice(dir.length),
        s.mask.slice(dir.length),
        s.dims,
        s.spacing,
        s.maskEncoding,
      ]),
    ).toEqual([
      ['a', '/images/a.nii.gz', '/masks/a.nii.gz', [4, 3, 2], [1, 1, 2], 'binary-01'],
      ['b', '/images/b.nii', '/masks/b.nii.gz', [4, 3, 2], [1, 1, 2], 'binary-max'],
    ]);
  });

  it('accepts labels/ as the mask folder', async () => {
    const dir = fixture({ 'images/a.nii.gz': image(), 'labels/a.nii': mask(undefined, false) });
    const { samples, problems } = await scanVolumeDataset(dir);
    expect(problems).toEqual([]);
    expect(samples.map((s) => s.mask.slice(dir.length))).toEqual(['/labels/a.nii']);
  });

  const moved = createNiftiHeader({
    dims,
    spacing: [1, 1, 2],
    affine: [
      [-1, 0, 0, 5],
      [0, 1, 0, -3],
      [0, 0, 2, 9],
    ],
  });
  const other = createNiftiHeader({ dims: [4, 3, 3], spacing: [1, 1, 2] });
  const coarse = createNiftiHeader({ dims, spacing: [1, 1, 3] });
  const truncated = image(false).subarray(0, 400);
  it.each<[string, Record<string, Uint8Array | string>, number | undefined, string[]]>([
    [
      'missing mask',
      { 'images/a.nii.gz': image(), 'masks/b.nii.gz': mask() },
      undefined,
      [
        '<dir>/images/a.nii.gz: no mask (looked for masks/a.nii and masks/a.nii.gz)',
        '<dir>/masks/b.nii.gz: no image for this mask (looked for images/b.nii and images/b.nii.gz)',
      ],
    ],
    [
      'corrupt image and mask',
      { 'images/a.nii': truncated, 'masks/a.nii.gz': mask().subarray(0, 30) },
      undefined,
      [
        '<dir>/images/a.nii: truncated: 4x3x2 float32 voxels need 448 bytes (from vox_offset 352), the file has 400',
        '<dir>/masks/a.nii.gz: corrupt gzip: unexpected end of file',
      ],
    ],
    [
      'dims differ',
      { 'images/a.nii.gz': image(), 'masks/a.nii.gz': mask(undefined, true, other) },
      undefined,
      ['<dir>/masks/a.nii.gz: dims 4x3x3 differ from its image images/a.nii.gz (4x3x2)'],
    ],
    [
      'spacing differs',
      { 'images/a.nii.gz': image(), 'masks/a.nii.gz': mask(undefined, true, coarse) },
      undefined,
      ['<dir>/masks/a.nii.gz: voxel spacing 1, 1, 3 differs from its image images/a.nii.gz (1, 1, 2)'],
    ],
    [
      'affine differs',
      { 'images/a.nii.gz': image(), 'masks/a.nii.gz': mask(undefined, true, moved) },
      undefined,
      [
        '<dir>/masks/a.nii.gz: affine (voxel to world) differs from its image images/a.nii.gz, so the mask is not aligned with it',
      ],
    ],
    [
      'non-integer mask',
      {
        'images/a.nii.gz': image(),
        'masks/a.nii.gz': encodeNiftiVolume('m.nii.gz', like, new Float32Array(n).fill(0.5, 7)),
      },
      undefined,
      ['<dir>/masks/a.nii.gz: value 0.5 at voxel (3, 1, 0) is not a class id (expected non-negative integers)'],
    ],
    [
      'binary classes, value 2',
      { 'images/a.nii.gz': image(), 'masks/a.nii.gz': mask((p) => p % 3) },
      2,
      ['<dir>/masks/a.nii.gz: value 2 does not fit a binary mask (expected 0 and 255, or 0 and 1; found 0, 1, 2)'],
    ],
    [
      '3 classes, value 3',
      { 'images/a.nii.gz': image(), 'masks/a.nii.gz': mask((p) => p % 4) },
      3,
      ['<dir>/masks/a.nii.gz: value 3 does not fit 3 classes (expected class ids 0..2; found 0, 1, 2, 3)'],
    ],
    ['3 classes, values 0..2 (control)', { 'images/a.nii.gz': image(), 'masks/a.nii.gz': mask((p) => p % 3) }, 3, []],
    [
      'same name twice, other formats',
      { ...good, 'images/a.nii': image(false), 'images/c.mha': 'x', 'masks/c.png': 'x' },
      undefined,
      [
        '<dir>/images/a.nii.gz: same name as images/a.nii (one file per name)',
        '<dir>/images/c.mha: unsupported format .mha (only .nii and .nii.gz are read; convert it to NIfTI)',
      ],
    ],
    [
      'both masks/ and labels/',
      { ...good, 'labels/a.nii.gz': mask() },
      undefined,
      ['<dir>: both masks/ and labels/ hold NIfTI files; keep one mask folder'],
    ],
    [
      'no mask folder',
      { 'images/a.nii.gz': image() },
      undefined,
      ['<dir>: no masks/ or labels/ folder (expected images/ and masks/ with .nii or .nii.gz files matched by name)'],
    ],
    [
      'no images',
      { 'images/notes.txt': 'x', 'masks/a.nii.gz': mask() },
      undefined,
      ['<dir>/images: no .nii or .nii.gz images'],
    ],
  ])('%s', async (_, files, classes, expected) => {
    expect(await problemsOf(fixture(files), classes)).toEqual(expected);
  });

  it('lists every problem of a folder in one pass, and keeps the good pairs', async () => {
    const dir = fixture({
      ...good,
      'images/c.nii.gz': truncated,
      'images/d.nii.gz': image(),
      'masks/d.nii.gz': mask((p) => (p === 5 ? 7 : 0)),
      'images/e.nii.gz': image(),
      'masks/f.nii.gz': mask(),
    });
    const { samples, problems } = await scanVolumeDataset(dir, { classes: 2 });
    expect(formatProblems(problems).map((l) => l.split(dir).join('<dir>'))).toEqual([
      '<dir>/images/c.nii.gz: truncated: 4x3x2 float32 voxels need 448 bytes (from vox_offset 352), the file has 400',
      '<dir>/images/c.nii.gz: no mask (looked for masks/c.nii and masks/c.nii.gz)',
      '<dir>/images/e.nii.gz: no mask (looked for masks/e.nii and masks/e.nii.gz)',
      '<dir>/masks/d.nii.gz: value 7 does not fit a binary mask (expected 0 and 255, or 0 and 1; found 0, 7)',
      '<dir>/masks/f.nii.gz: no image for this mask (looked for images/f.nii and images/f.nii.gz)',
    ]);
    expect(samples.map((s) => s.name)).toEqual(['a', 'b']);
  });

  it('a missing folder is a problem, not a throw', async () => {
    expect(await problemsOf(join(root, 'nope'))).toEqual(['<dir>: no such folder']);
  });

  it('the fingerprint follows content: same for a copy, different after an edit', async () => {
    const dir = fixture(good);
    const copy = join(root, `copy${++counter}`);
    cpSync(dir, copy, { recursive: true });
    const a = (await scanVolumeDataset(dir)).fingerprint;
    expect((await scanVolumeDataset(copy)).fingerprint).toBe(a);
    writeFileSync(
      join(copy, 'masks/a.nii.gz'),
      mask((p) => (p + 1) % 2),
    );
    expect((await scanVolumeDataset(copy)).fingerprint).not.toBe(a);
  });
});
