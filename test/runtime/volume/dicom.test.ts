import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { NIFTI1 } from 'nifti-reader-js';
import { afterAll, describe, expect, it } from 'vitest';
import { DataError } from '../../../src/util/error.js';
import {
  parseDicomSeries,
  readDicomSeries,
  readNifti,
  writeNiftiMask,
  type DicomFileBytes,
} from '../../../src/runtime/volume/index.js';

import { DEFLATED, encodeDicom, EXPLICIT_BE, EXPLICIT_LE, IMPLICIT_LE, type SliceSpec } from './dicom-encode.js';

// The oblique series: cosines from 3-4-5 triangles so every DS value is exact in decimal.
const ROW = [0.6, 0.8, 0];
const COL = [-0.48, 0.36, -0.8];
const NORMAL = [-0.64, 0.48, 0.6]; // ROW x COL
const ORIGIN = [-100.5, 20.25, 33];
const [NX, NY, NZ, DR, DC, DS] = [4, 3, 5, 0.7, 0.9, 2.5];
const positionOf = (k: number) => ORIGIN.map((o, a) => o + k * DS * NORMAL[a]!);
/** Stored (signed) value of column i, row j of the k-th slice along the normal. */
const storedOf = (i: number, j: number, k: number) => k * 100 + j * 10 + i - 50;
const slicePixels = (k: number) => Array.from({ length: NX * NY }, (_, p) => storedOf(p % NX, Math.floor(p / NX), k));

/** Voxel to RAS, worked out by hand: rows x and y of the LPS matrix negated. */
const EXPECTED = [
  [-0.54, 0.336, 1.6, 100.5],
  [-0.72, -0.252, -1.2, -20.25],
  [0, -0.56, 1.5, 33],
  [0, 0, 0, 1],
];
/** Negative controls: the same with a mistake each. */
const WRONG = {
  'LPS kept as RAS': [[0.54, -0.336, -1.6, -100.5], [0.72, 0.252, 1.2, 20.25], EXPECTED[2]!, EXPECTED[3]!],
  'PixelSpacing read as [column, row]': [
    [-0.42, 0.432, 1.6, 100.5],
    [-0.56, -0.324, -1.2, -20.25],
    [0, -0.72, 1.5, 33],
    EXPECTED[3]!,
  ],
  // First file holds slice 3, last file slice 2: k column -1/4 of a step, origin 3 steps along.
  'slices in file order': EXPECTED.map((r) => [r[0]!, r[1]!, -r[2]! / 4, r[3]! + 3 * r[2]!]),
};

/** File name order 0..4 holds slices 3, 0, 4, 1, 2 along the normal; InstanceNumber runs backwards. */
const SHUFFLE = [3, 0, 4, 1, 2];
function obliqueSeries(over: (k: number) => SliceSpec = () => ({}), transferSyntax = EXPLICIT_LE): DicomFileBytes[] {
  return SHUFFLE.map((k, f) => ({
    path: `/scans/ct/f${f}.dcm`,
    bytes: encodeDicom({
      transferSyntax,
      orientation: [...ROW, ...COL],
      position: positionOf(k),
      pixelSpacing: [DR, DC],
      signed: true,
      slope: 2,
      intercept: -1024,
      pixels: slicePixels(k),
      instance: 10 - f,
      ...over(k),
    }),
  }));
}

/** Bytes that are no DICOM file (seeded, so the test is the same every run). */
function noise(n: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = 12345;
  for (let i = 0; i < n; i++) out[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
  return out;
}

const maxDiff = (a: readonly (readonly number[])[], b: readonly (readonly number[])[]) =>
  Math.max(...a.flatMap((row, r) => row.map((v, c) => Math.abs(v - b[r]![c]!))));

const tmp = mkdtempSync(join(tmpdir(), 'unetc-dicom-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('parseDicomSeries: an oblique CT series', () => {
  it.each([
    ['Explicit VR Little Endian', EXPLICIT_LE],
    ['Implicit VR Little Endian', IMPLICIT_LE],
    ['Explicit VR Big Endian', EXPLICIT_BE],
    ['Deflated Explicit VR Little Endian', DEFLATED],
  ])('%s: sorted along the normal, rescaled, placed by hand-computed RAS affine', (_, ts) => {
    const v = parseDicomSeries(obliqueSeries(undefined, ts), '/scans/ct');
    expect(v.dims).toEqual([NX, NY, NZ]);
    expect(v.spacing.map((s) => Number(s.toFixed(9)))).toEqual([DC, DR, DS]);
    expect(maxDiff(v.affine, EXPECTED)).toBeLessThan(1e-9);
    for (const [mistake, wrong] of Object.entries(WRONG))
      expect(maxDiff(v.affine, wrong), mistake).toBeGreaterThan(0.1);
    const expected = new Float32Array(NX * NY * NZ).map((_, p) => {
      const [i, j, k] = [p % NX, Math.floor(p / NX) % NY, Math.floor(p / (NX * NY))];
      return storedOf(i, j, k) * 2 - 1024;
    });
    expect(v.data).toEqual(expected);
    expect(v.data[0]).toBe(-1124); // stored -50: signed, not 65486
  });

  it('writes a NIfTI mask whose sform and qform are the series affine', async () => {
    const dir = join(tmp, 'oblique');
    mkdirSync(dir);
    for (const f of obliqueSeries()) writeFileSync(join(dir, f.path.slice(f.path.lastIndexOf('/') + 1)), f.bytes);
    writeFileSync(join(dir, 'notes.txt'), 'not DICOM');
    writeFileSync(join(dir, 'DICOMDIR'), encodeDicom({ sopClass: '1.2.840.10008.1.3.10', noPixels: true }));
    mkdirSync(join(dir, 'sub'));
    const v = await readDicomSeries(dir);
    expect(v.path).toBe(dir);
    const labels = new Uint8Array(NX * NY * NZ).map((_, p) => p % 3);
    const out = join(tmp, 'mask.nii.gz');
    await writeNiftiMask(out, v, labels);
    const mask = await readNifti(out);
    expect(mask.dims).toEqual([NX, NY, NZ]);
    expect([...mask.data]).toEqual([...labels]);
    expect(maxDiff(mask.affine, EXPECTED)).toBeLessThan(1e-4); // float32 srow
    const header = new NIFTI1();
    header.readHeader(gunzipSync(readFileSync(out)).buffer);
    expect([header.qform_code, header.sform_code]).toEqual([1, 1]);
    expect(maxDiff(header.getQformMat(), EXPECTED)).toBeLessThan(1e-4);
    expect(header.description).toBe('oblique test');
  });

  it('masks values to BitsStored and sign-extends (12-bit with garbage in the top bits)', () => {
    const files = [
      {
        path: '/s/a.dcm',
        bytes: encodeDicom({ stored: 12, signed: true, pixels: [0xf005, 0x0fff, 0x7800, 0x0800, ...Array(8).fill(1)] }),
      },
    ];
    expect([...parseDicomSeries(files, '/s').data.slice(0, 4)]).toEqual([5, -1, -2048, -2048]);
    const unsigned = [
      { path: '/s/a.dcm', bytes: encodeDicom({ stored: 12, pixels: [0xf005, 0x0fff, ...Array(10).fill(1)] }) },
    ];
    expect([...parseDicomSeries(unsigned, '/s').data.slice(0, 2)]).toEqual([5, 4095]);
  });

  it('reads 8-bit, signed and unsigned', () => {
    const u8 = [{ path: '/s/a.dcm', bytes: encodeDicom({ bits: 8, pixels: [200, ...Array(11).fill(1)] }) }];
    expect(parseDicomSeries(u8, '/s').data[0]).toBe(200);
    const i8 = [
      { path: '/s/a.dcm', bytes: encodeDicom({ bits: 8, signed: true, pixels: [200, ...Array(11).fill(1)] }) },
    ];
    expect(parseDicomSeries(i8, '/s').data[0]).toBe(-56);
  });

  it('an axial series given top to bottom: k runs foot to head, origin at the lowest slice', () => {
    const files = [40, 37, 34].map((z, f) => ({
      path: `/ax/${f}.dcm`,
      bytes: encodeDicom({ position: [-120, -130, z], pixelSpacing: [0.5, 0.8] }),
    }));
    const v = parseDicomSeries(files, '/ax');
    expect(
      maxDiff(v.affine, [
        [-0.8, 0, 0, 120],
        [0, -0.5, 0, 130],
        [0, 0, 3, 34],
        [0, 0, 0, 1],
      ]),
    ).toBeLessThan(1e-9);
  });

  it.each([
    ['SliceThickness', 1.25, 1.25],
    ['no SliceThickness', null, 1],
  ])('a single slice: nz = 1, slice spacing from %s', (_, thickness, expected) => {
    const v = parseDicomSeries(
      [{ path: '/one/a.dcm', bytes: encodeDicom({ thickness, position: [1, 2, 3] }) }],
      '/one',
    );
    expect(v.dims).toEqual([4, 3, 1]);
    expect(v.spacing).toEqual([0.9, 0.7, expected]);
    expect(
      maxDiff(v.affine, [
        [-0.9, 0, 0, -1],
        [0, -0.7, 0, -2],
        [0, 0, expected, 3],
        [0, 0, 0, 1],
      ]),
    ).toBeLessThan(1e-9);
  });
});

describe('parseDicomSeries refuses what is not one regular series', () => {
  const one = (o: SliceSpec): DicomFileBytes[] => [{ path: '/scans/x/a.dcm', bytes: encodeDicom(o) }];
  const tilted = obliqueSeries((k) => ({
    position: positionOf(k).map((p, a) => p + (a === 0 ? 0.6 * k * 0.3 : a === 1 ? 0.8 * k * 0.3 : 0)),
  }));
  it.each<[string, DicomFileBytes[], string, readonly string[]]>([
    [
      'two series',
      [
        ...obliqueSeries().slice(0, 3),
        ...['b1', 'b2'].map((n) => ({
          path: `/scans/ct/${n}.dcm`,
          bytes: encodeDicom({ series: '1.2.3.999', description: 'scout' }),
        })),
      ],
      '/scans/ct',
      [
        '/scans/ct: 2 DICOM series in one folder; put each series in a folder of its own:',
        "1.2.826.0.1.3680043.2.1125.1 'oblique test': 3 files",
        "1.2.3.999 'scout': 2 files",
      ],
    ],
    [
      'JPEG 2000',
      one({ transferSyntax: '1.2.840.10008.1.2.4.90' }),
      '/scans/x',
      ['/scans/x/a.dcm: transfer syntax 1.2.840.10008.1.2.4.90 (JPEG 2000 (Lossless Only)) is not read'],
    ],
    [
      'JPEG baseline',
      one({ transferSyntax: '1.2.840.10008.1.2.4.50' }),
      '/scans/x',
      ['/scans/x/a.dcm: transfer syntax 1.2.840.10008.1.2.4.50 (JPEG Baseline (Process 1))'],
    ],
    [
      'RLE',
      one({ transferSyntax: '1.2.840.10008.1.2.5' }),
      '/scans/x',
      ['/scans/x/a.dcm: transfer syntax 1.2.840.10008.1.2.5 (RLE Lossless)'],
    ],
    [
      'a missing slice',
      obliqueSeries().filter((_, f) => SHUFFLE[f] !== 2),
      '/scans/ct',
      [
        '/scans/ct: slice spacing is not uniform: gaps along the slice normal range from 2.5 to 5 mm (mean 3.33333 mm; the largest deviation, 1.66667 mm, is between f3.dcm and f0.dcm); a missing slice?',
      ],
    ],
    [
      'duplicate positions',
      obliqueSeries((k) => ({ position: positionOf(Math.min(k, 3)) })),
      '/scans/ct',
      ['/scans/ct: two slices at the same position (-105.3, 23.85, 37.5): f0.dcm and f2.dcm'],
    ],
    [
      'differing orientation',
      obliqueSeries((k) => (k === 4 ? { orientation: [1, 0, 0, 0, 1, 0] } : {})),
      '/scans/ct',
      [
        '/scans/ct: ImageOrientationPatient differs between slices: f0.dcm has 0.6\\0.8\\0\\-0.48\\0.36\\-0.8, f2.dcm has 1\\0\\0\\0\\1\\0',
      ],
    ],
    [
      'differing size',
      obliqueSeries((k) => (k === 4 ? { rows: 2, pixels: Array(8).fill(0) } : {})),
      '/scans/ct',
      ['/scans/ct: image size (Columns x Rows) differs between slices: f0.dcm has 4x3, f2.dcm has 4x2'],
    ],
    [
      'differing pixel spacing',
      obliqueSeries((k) => (k === 4 ? { pixelSpacing: [0.9, 0.7] } : {})),
      '/scans/ct',
      ['/scans/ct: PixelSpacing differs between slices: f0.dcm has 0.7\\0.9, f2.dcm has 0.9\\0.7'],
    ],
    [
      'gantry tilt',
      tilted,
      '/scans/ct',
      ['/scans/ct: slice origins step 0.3 mm sideways per slice (6.84277 degrees off the slice normal: gantry tilt?)'],
    ],
    [
      'no DICOM',
      [
        { path: '/scans/y/readme.txt', bytes: new TextEncoder().encode('hello') },
        { path: '/scans/y/DICOMDIR', bytes: encodeDicom({ sopClass: '1.2.840.10008.1.3.10', noPixels: true }) },
      ],
      '/scans/y',
      ['/scans/y: no DICOM images among its 2 files'],
    ],
    ['an empty folder', [], '/scans/y', ['/scans/y: no DICOM images among its 0 files']],
    // Issue 11, item 4: random bytes in place of the first and last slices (read as a shorter,
    // shifted volume before), and of a middle one (reported as uneven spacing before).
    [
      'the first and last slices damaged',
      obliqueSeries().map((f, i) =>
        SHUFFLE[i] === 0 || SHUFFLE[i] === 4 ? { ...f, bytes: noise(f.bytes.length) } : f,
      ),
      '/scans/ct',
      [
        "/scans/ct: 2 files are not DICOM (no 'DICM' after the 128-byte preamble): f1.dcm, f2.dcm; damaged slices would leave the volume short or shifted",
      ],
    ],
    [
      'a middle slice damaged',
      obliqueSeries().map((f, i) => (SHUFFLE[i] === 2 ? { ...f, bytes: noise(f.bytes.length) } : f)),
      '/scans/ct',
      ['/scans/ct: 1 file is not DICOM', 'f4.dcm'],
    ],
    [
      'MONOCHROME1',
      one({ photometric: 'MONOCHROME1' }),
      '/scans/x',
      ['/scans/x/a.dcm: PhotometricInterpretation MONOCHROME1 (lowest value shown white) is not read'],
    ],
    [
      'RGB',
      one({ photometric: 'RGB', samples: 3 }),
      '/scans/x',
      ["/scans/x/a.dcm: PhotometricInterpretation 'RGB' with 3 samples per pixel is not read"],
    ],
    ['multi-frame', one({ frames: 2 }), '/scans/x', ['/scans/x/a.dcm: a multi-frame image (NumberOfFrames 2)']],
    ['32-bit', one({ bits: 32 as 16 }), '/scans/x', ['/scans/x/a.dcm: BitsAllocated 32 is not read; expected 8 or 16']],
    [
      'no position',
      one({ position: null }),
      '/scans/x',
      [
        '/scans/x/a.dcm: ImagePositionPatient (0020,0032) must be 3 numbers, found nothing; cannot place this image in space',
      ],
    ],
    [
      'no orientation',
      one({ orientation: null }),
      '/scans/x',
      ['/scans/x/a.dcm: ImageOrientationPatient (0020,0037) must be 6 numbers, found nothing'],
    ],
    [
      'a skewed orientation',
      one({ orientation: [1, 0, 0, 0.5, 0.5, 0] }),
      '/scans/x',
      ['/scans/x/a.dcm: ImageOrientationPatient 1\\0\\0\\0.5\\0.5\\0 is not two perpendicular unit vectors'],
    ],
    [
      'truncated pixels',
      one({ truncate: 4 }),
      '/scans/x',
      ['/scans/x/a.dcm: truncated pixel data: 4x3 16-bit pixels need 24 bytes, PixelData has 20'],
    ],
    [
      'a corrupt file',
      [{ path: '/scans/x/a.dcm', bytes: encodeDicom().subarray(0, 140) }],
      '/scans/x',
      ['/scans/x/a.dcm: corrupt DICOM file:'],
    ],
  ])('%s', (_, files, dir, fragments) => {
    let error: unknown;
    try {
      parseDicomSeries(files, dir);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DataError);
    const message = (error as DataError).message;
    for (const f of fragments) expect(message).toContain(f);
    expect((error as DataError).path).toBe(
      message.startsWith(dir + '/') ? message.slice(0, message.indexOf(': ')) : dir,
    );
  });

  it('negative control: notes and thumbnails beside the slices are not slices', () => {
    const extra = [
      { path: '/scans/ct/notes.txt', bytes: new TextEncoder().encode('scanner notes') },
      { path: '/scans/ct/.DS_Store', bytes: noise(64) },
      { path: '/scans/ct/preview.png', bytes: noise(64) },
    ];
    expect(parseDicomSeries([...obliqueSeries(), ...extra], '/scans/ct').dims).toEqual([NX, NY, NZ]);
  });

  it('readDicomSeries names a folder that is not there', async () => {
    const missing = join(tmp, 'nope');
    await expect(readDicomSeries(missing)).rejects.toThrow(`${missing}: cannot read: no such folder`);
  });
});
