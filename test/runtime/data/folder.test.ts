import { cpSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { encode } from 'fast-png';
import { afterAll, describe, expect, it } from 'vitest';
import { formatProblems, scanDataset } from '../../../src/runtime/data/folder.js';
import { loadSample } from '../../../src/runtime/data/sample.js';

const root = mkdtempSync(join(tmpdir(), 'unetc-folder-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const gray = (w: number, h: number, fill: (p: number) => number, depth: 8 | 16 = 8) => {
  const values = Array.from({ length: w * h }, (_, p) => fill(p));
  return encode({
    width: w,
    height: h,
    data: depth === 16 ? Uint16Array.from(values) : Uint8Array.from(values),
    channels: 1,
    depth,
  });
};
const image = (w = 8, h = 8) => gray(w, h, (p) => (p * 7) % 256);
const mask255 = (w = 8, h = 8) => gray(w, h, (p) => (p % 3 === 0 ? 255 : 0));
const mask01 = (w = 8, h = 8) => gray(w, h, (p) => (p % 2 === 0 ? 1 : 0));
const labels16 = (w = 8, h = 8) => gray(w, h, (p) => (p % 3 === 0 ? 1 + (p % 5) : 0), 16);

let counter = 0;
/** A fresh folder with these files (relative path -> bytes; a trailing slash makes an empty folder). */
function fixture(files: Record<string, Uint8Array | string>): string {
  const dir = join(root, `d${++counter}`);
  mkdirSync(dir, { recursive: true });
  for (const [rel, bytes] of Object.entries(files)) {
    if (rel.endsWith('/')) {
      mkdirSync(join(dir, rel), { recursive: true });
      continue;
    }
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), bytes);
  }
  return dir;
}

/** Problems as lines with the folder shown as <dir>. */
async function problemsOf(dir: string, classes = 1): Promise<string[]> {
  const { problems } = await scanDataset(dir, { classes });
  return formatProblems(problems).map((line) => line.split(dir).join('<dir>'));
}

/** The compressed size depends on the zlib encoder: read it rather than hard-code it. */
const idatLength = ((b) => new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(33))(image());

const good = {
  'images/a.png': image(),
  'masks/a.png': mask255(),
  'images/b.png': image(),
  'masks/b_mask.png': mask01(),
};

describe('scanDataset', () => {
  it('pairs images and masks by stem (<stem>.png and <stem>_mask.png), with labels when present', async () => {
    const dir = fixture({
      ...good,
      'labels/a.png': labels16(),
      'images/README.txt': 'not an image',
      'images/.DS_Store': '',
    });
    const { samples, problems } = await scanDataset(dir, { classes: 1 });
    expect(problems).toEqual([]);
    expect(
      samples.map((s) => [
        s.stem,
        s.image.slice(dir.length),
        s.mask.slice(dir.length),
        s.labels?.slice(dir.length),
        s.maskEncoding,
      ]),
    ).toEqual([
      ['a', '/images/a.png', '/masks/a.png', '/labels/a.png', 'binary-max'],
      ['b', '/images/b.png', '/masks/b_mask.png', undefined, 'binary-01'],
    ]);
    expect(samples.map((s) => [s.width, s.height, s.channels, s.bitDepth])).toEqual([
      [8, 8, 1, 8],
      [8, 8, 1, 8],
    ]);
  });

  it('accepts upper-case extensions', async () => {
    const dir = fixture({ 'images/A.PNG': image(), 'masks/A.Png': mask255() });
    const { samples, problems } = await scanDataset(dir, { classes: 1 });
    expect([samples.length, problems]).toEqual([1, []]);
  });

  it.each<[string, Record<string, Uint8Array | string> | 'none', number, string[]]>([
    ['folder missing', 'none', 1, ['<dir>: no such folder']],
    [
      'images/ missing',
      { 'masks/a.png': mask255() },
      1,
      ['<dir>: no images/ folder (expected images/ and masks/ with PNG files matched by name)'],
    ],
    [
      'masks/ missing',
      { 'images/a.png': image() },
      1,
      ['<dir>: no masks/ folder (expected images/ and masks/ with PNG files matched by name)'],
    ],
    ['empty images/', { 'images/': '', 'masks/': '' }, 1, ['<dir>/images: no PNG images']],
    [
      'image without mask',
      { ...good, 'images/c.png': image() },
      1,
      ['<dir>/images/c.png: no mask (looked for masks/c.png and masks/c_mask.png)'],
    ],
    [
      'mask without image',
      { ...good, 'masks/d_mask.png': mask255() },
      1,
      ['<dir>/masks/d_mask.png: no image for this file (looked for images/d.png)'],
    ],
    [
      'labels without image',
      { ...good, 'labels/e.png': labels16() },
      1,
      ['<dir>/labels/e.png: no image for this file (looked for images/e.png)'],
    ],
    [
      'two masks for one image',
      { ...good, 'masks/a_mask.png': mask255() },
      1,
      ['<dir>/masks/a_mask.png: ambiguous: both masks/a.png and masks/a_mask.png match images/a.png'],
    ],
    [
      'same stem twice',
      { ...good, 'images/a.PNG': image() },
      1,
      ['<dir>/images/a.png: same name as images/a.PNG (one file per name)'],
    ],
    [
      'a TIFF',
      { ...good, 'images/t.tif': 'II*' },
      1,
      ['<dir>/images/t.tif: unsupported image format .tif (only PNG is read; convert it to PNG)'],
    ],
    [
      'truncated image',
      { ...good, 'images/a.png': image().subarray(0, 50) },
      1,
      ['<dir>/images/a.png: truncated: chunk IDAT at byte 33 needs'],
    ],
    ['not a PNG mask', { ...good, 'masks/a.png': 'GIF89a' }, 1, ['<dir>/masks/a.png: not a PNG file (bad signature)']],
    [
      'size mismatch',
      { ...good, 'masks/a.png': mask255(8, 6) },
      1,
      ['<dir>/masks/a.png: size 8x6 differs from its image images/a.png (8x8)'],
    ],
    [
      'labels size mismatch',
      { ...good, 'labels/a.png': labels16(4, 8) },
      1,
      ['<dir>/labels/a.png: size 4x8 differs from its image images/a.png (8x8)'],
    ],
    [
      'value 128 in a binary mask',
      { ...good, 'masks/a.png': gray(8, 8, (p) => [0, 128, 255][p % 3]!) },
      1,
      ['<dir>/masks/a.png: value 128 does not fit a binary mask (expected 0 and 255, or 0 and 1; found 0, 128, 255)'],
    ],
    [
      'class ids in a binary mask',
      { ...good, 'masks/b_mask.png': gray(8, 8, (p) => p % 4) },
      2,
      [
        '<dir>/masks/b_mask.png: values 2, 3 do not fit a binary mask (expected 0 and 255, or 0 and 1; found 0, 1, 2, 3)',
      ],
    ],
    [
      'id >= classes',
      { 'images/a.png': image(), 'masks/a.png': gray(8, 8, (p) => p % 4) },
      3,
      ['<dir>/masks/a.png: value 3 does not fit 3 classes (expected class ids 0..2; found 0, 1, 2, 3)'],
    ],
    [
      '0/255 in a 3-class data set',
      { 'images/a.png': image(), 'masks/a.png': mask255() },
      3,
      ['<dir>/masks/a.png: value 255 does not fit 3 classes (expected class ids 0..2; found 0, 255)'],
    ],
  ])('%s', async (_, files, classes, expected) => {
    const dir = files === 'none' ? join(root, 'does-not-exist') : fixture(files);
    const lines = await problemsOf(dir, classes);
    expect(lines.length).toBe(expected.length);
    lines.forEach((line, i) =>
      expect(line.startsWith(expected[i]!), `${line}\n  should start with\n${expected[i]}`).toBe(true),
    );
  });

  it('a clean folder has no problems (positive control for the table above)', async () => {
    expect(await problemsOf(fixture(good))).toEqual([]);
    expect(await problemsOf(fixture({ 'images/a.png': image(), 'masks/a.png': gray(8, 8, (p) => p % 3) }), 3)).toEqual(
      [],
    );
  });

  it('collects every problem in one pass, sorted by file, and keeps the good pairs', async () => {
    const dir = fixture({
      'images/a.png': image(),
      'masks/a.png': mask255(),
      'images/broken.png': image().subarray(0, 60),
      'masks/broken.png': gray(8, 8, (p) => (p % 2 ? 7 : 0)),
      'images/lonely.png': image(),
      'masks/orphan.png': mask255(),
      'images/gray128.png': image(),
      'masks/gray128.png': gray(8, 8, (p) => (p % 2 ? 128 : 0)),
      'images/small.png': image(),
      'masks/small.png': mask255(4, 4),
    });
    const { samples } = await scanDataset(dir, { classes: 1 });
    expect(samples.map((s) => s.stem)).toEqual(['a']);
    expect(await problemsOf(dir)).toEqual([
      `<dir>/images/broken.png: truncated: chunk IDAT at byte 33 needs ${12 + idatLength} bytes, the file has 27 left`,
      '<dir>/images/lonely.png: no mask (looked for masks/lonely.png and masks/lonely_mask.png)',
      '<dir>/masks/broken.png: value 7 does not fit a binary mask (expected 0 and 255, or 0 and 1; found 0, 7)',
      '<dir>/masks/gray128.png: value 128 does not fit a binary mask (expected 0 and 255, or 0 and 1; found 0, 128)',
      '<dir>/masks/orphan.png: no image for this file (looked for images/orphan.png)',
      '<dir>/masks/small.png: size 4x4 differs from its image images/small.png (8x8)',
    ]);
  });

  it('fingerprints content: same for a copy or a touched file, different when a pixel changes', async () => {
    const dir = fixture(good);
    const copy = join(root, 'copy');
    cpSync(dir, copy, { recursive: true });
    utimesSync(join(copy, 'images/a.png'), new Date(2001, 1, 1), new Date(2001, 1, 1));
    const edited = fixture({ ...good, 'images/a.png': gray(8, 8, (p) => (p === 5 ? 1 : (p * 7) % 256)) });
    const [a, b, c] = await Promise.all([dir, copy, edited].map((d) => scanDataset(d, { classes: 1 })));
    expect(a!.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(b!.fingerprint).toBe(a!.fingerprint);
    expect(c!.fingerprint).not.toBe(a!.fingerprint);
  });

  it('loadSample gives the image with the spec channels and the mask as class ids', async () => {
    const dir = fixture({ ...good, 'labels/a.png': labels16() });
    const { samples } = await scanDataset(dir, { classes: 1 });
    const gray1 = await loadSample(samples[0]!, 1);
    const rgb = await loadSample(samples[0]!, 3);
    expect([gray1.image.length, rgb.image.length, gray1.mask.length]).toEqual([64, 192, 64]);
    expect([...new Set(gray1.mask)].sort()).toEqual([0, 1]);
    expect(rgb.image[3]).toBe(gray1.image[1]);
    expect(gray1.labels?.[0]).toBe(1);
    expect((await loadSample(samples[1]!, 1)).labels).toBeUndefined();
  });
});
