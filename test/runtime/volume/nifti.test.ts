import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { DataError } from '../../../src/util/error.js';
import { parseNifti, readNifti } from '../../../src/runtime/volume/index.js';
import { buildNifti, type BuildOptions } from './build.js';

const dir = mkdtempSync(join(tmpdir(), 'unetc-nifti-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The DataError message parsing these bytes throws ('' when it parses). */
function errorOf(bytes: Uint8Array, path = 'vol.nii'): string {
  try {
    parseNifti(bytes, path);
    return '';
  } catch (error) {
    expect(error).toBeInstanceOf(DataError);
    return (error as Error).message;
  }
}

describe('parseNifti: voxel values', () => {
  // [datatype, values]: every supported type, in both byte orders.
  const types: [number, number[]][] = [
    [2, [0, 1, 127, 255, 3, 9]],
    [256, [-128, -1, 0, 1, 127, 5]],
    [4, [-32768, -2, 0, 7, 32767, 300]],
    [512, [0, 1, 65535, 40000, 2, 3]],
    [8, [-2147483648, -1, 0, 1, 2147483647, 100000]],
    [768, [0, 1, 4294967295, 3000000000, 7, 8]],
    [16, [-1.5, 0, 0.25, 3.4e38, 1e-30, Math.PI]],
    [64, [-1.5, 0, 0.1, 1e300, 1e-3, Math.E]],
    [1024, [-(2 ** 40), -1, 0, 1, 2 ** 40, 12]],
    [1280, [0, 1, 2 ** 50, 17, 2 ** 33, 5]],
  ];
  const cases = types.flatMap(([datatype, values]) => [true, false].map((le) => [datatype, le, values] as const));
  it.each(cases)('datatype %i, little-endian %s', (datatype, littleEndian, values) => {
    const v = parseNifti(buildNifti({ datatype, littleEndian, dims: [3, 2, 1], values }), 'x.nii');
    expect(v.datatype).toBe(datatype);
    expect(v.littleEndian).toBe(littleEndian);
    expect([...v.data]).toEqual(values.map((x) => Math.fround(x)));
  });

  it.each([
    ['slope and intercept', { sclSlope: 0.5, sclInter: -10 }, (x: number) => x * 0.5 - 10],
    ['slope 0 means unscaled', { sclSlope: 0, sclInter: 7 }, (x: number) => x],
    ['slope NaN means unscaled', { sclSlope: NaN, sclInter: 7 }, (x: number) => x],
    ['slope 1, intercept only', { sclSlope: 1, sclInter: 3 }, (x: number) => x + 3],
  ] as const)('%s', (_, options, f) => {
    const values = [0, 1, 2, -4, 100, 7];
    const v = parseNifti(buildNifti({ datatype: 4, dims: [3, 2, 1], values, ...options }), 'x.nii');
    expect([...v.data]).toEqual(values.map(f));
  });

  it('keeps the file order: index i + nx * (j + ny * k)', () => {
    const [nx, ny, nz] = [4, 3, 2];
    const values = Array.from(
      { length: nx * ny * nz },
      (_, p) => (p % nx) + 10 * (Math.floor(p / nx) % ny) + 100 * Math.floor(p / (nx * ny)),
    );
    const v = parseNifti(buildNifti({ dims: [nx, ny, nz], values }), 'x.nii');
    expect(v.dims).toEqual([4, 3, 2]);
    expect(v.data[1 + nx * (2 + ny * 1)]).toBe(1 + 20 + 100);
  });
});

describe('parseNifti: NIfTI-2, 2D, 4D with one volume', () => {
  it.each([true, false])('NIfTI-2, little-endian %s', (littleEndian) => {
    const values = [0.5, -2, 3, 1e10, 4, 5, 6, 7, 8, 9, 10, 11];
    const srow = [0, -2, 0, 10, 3, 0, 0, -20, 0, 0, 4, 30];
    const bytes = buildNifti({
      version: 2,
      littleEndian,
      datatype: 64,
      dims: [3, 2, 2],
      values,
      pixdim: [1, 3, 2, 4, 1, 1, 1, 1],
      srow,
    });
    const v = parseNifti(bytes, 'two.nii');
    expect(v.version).toBe(2);
    expect(v.littleEndian).toBe(littleEndian);
    expect(v.dims).toEqual([3, 2, 2]);
    expect(v.spacing).toEqual([3, 2, 4]);
    expect([...v.data]).toEqual(values.map(Math.fround));
    expect(v.affine).toEqual([srow.slice(0, 4), srow.slice(4, 8), srow.slice(8), [0, 0, 0, 1]]);
    expect(v.header.length).toBe(544);
  });

  it('NIfTI-2 with the extension flag set but no extension (nifti-reader-js throws on this)', () => {
    const bytes = buildNifti({ version: 2, dims: [2, 2, 1] });
    bytes[540] = 1;
    expect(errorOf(bytes)).toBe('');
  });

  it('a 2D image has nz = 1, and a missing pixdim[3] reads as 1', () => {
    const v = parseNifti(
      buildNifti({ dim: [2, 5, 4, 0, 0, 0, 0, 0], pixdim: [1, 0.5, 0.25, 0, 0, 0, 0, 0], values: Array(20).fill(1) }),
      'x.nii',
    );
    expect(v.dims).toEqual([5, 4, 1]);
    expect(v.spacing).toEqual([0.5, 0.25, 1]);
  });

  it('4D with dim[4] = 1 is one volume', () => {
    expect(parseNifti(buildNifti({ dim: [4, 2, 2, 2, 1, 0, 0, 0] }), 'x.nii').dims).toEqual([2, 2, 2]);
  });
});

describe('parseNifti: affine', () => {
  const srow = [0, 0, 5, 1, 0, 6, 0, 2, 7, 0, 0, 3];
  // quaternion (0, 0, 1): 180 degrees about z; qfac -1 flips z.
  const quatern = [0, 0, 1, 11, 12, 13];
  const pixdim = [-1, 2, 3, 4, 1, 1, 1, 1];
  const qform = [
    [-2, 0, 0, 11],
    [0, -3, 0, 12],
    [0, 0, -4, 13],
    [0, 0, 0, 1],
  ];
  const sform = [srow.slice(0, 4), srow.slice(4, 8), srow.slice(8), [0, 0, 0, 1]];
  it.each<[string, BuildOptions, number[][]]>([
    ['sform only', { sformCode: 1, qformCode: 0 }, sform],
    ['sform over qform, even when qform_code > sform_code', { sformCode: 1, qformCode: 2 }, sform],
    ['qform when sform_code is 0', { sformCode: 0, qformCode: 1 }, qform],
    [
      'pixdim scaling when both are 0',
      { sformCode: 0, qformCode: 0 },
      [
        [2, 0, 0, 0],
        [0, 3, 0, 0],
        [0, 0, 4, 0],
        [0, 0, 0, 1],
      ],
    ],
  ])('%s', (_, options, expected) => {
    const v = parseNifti(buildNifti({ srow, quatern, pixdim, ...options }), 'x.nii');
    expect(v.affine.map((row) => row.map((x) => Math.round(x * 1e6) / 1e6 + 0))).toEqual(expected);
  });
});

describe('readNifti: files', () => {
  const values = Array.from({ length: 24 }, (_, i) => i * 1.25 - 3);
  const bytes = buildNifti({ dims: [2, 3, 4], values });
  it.each(['plain.nii', 'zipped.nii.gz'])('%s', async (name) => {
    const path = join(dir, name);
    writeFileSync(path, name.endsWith('.gz') ? gzipSync(bytes) : bytes);
    const v = await readNifti(path);
    expect(v.path).toBe(path);
    expect([...v.data]).toEqual(values);
    expect([...v.header]).toEqual([...bytes.subarray(0, 352)]);
  });

  it('keeps extension bytes in the header', () => {
    const payload = new TextEncoder().encode('a comment extension');
    const b = buildNifti({ dims: [2, 2, 2], extensions: [{ code: 6, data: payload }] });
    const v = parseNifti(b, 'x.nii');
    expect(v.header.length).toBe(352 + 32);
    expect(Buffer.from(v.header).includes(Buffer.from(payload))).toBe(true);
    expect([...v.data]).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });
});

describe('parseNifti: errors name the file and the problem', () => {
  const good = buildNifti({ dims: [4, 4, 4] });
  const patch = (f: (b: Uint8Array, v: DataView) => void, from = good): Uint8Array => {
    const b = Uint8Array.from(from);
    f(b, new DataView(b.buffer));
    return b;
  };
  const zipped = gzipSync(good);
  const cases: [string, Uint8Array, string][] = [
    ['empty', new Uint8Array(0), 'empty file (0 bytes)'],
    [
      'a PNG',
      Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0]),
      'not a NIfTI file (sizeof_hdr is 1196314761, expected 348 for NIfTI-1 or 540 for NIfTI-2)',
    ],
    ['3 bytes', Uint8Array.from([1, 2, 3]), 'not a NIfTI file (3 bytes, too short for a header)'],
    [
      'bad magic',
      patch((b) => b.set([0x61, 0x62, 0x63, 0], 344)),
      "not a NIfTI-1 file (bad magic 'abc\\u0000' at byte 344, expected 'n+1')",
    ],
    [
      'hdr/img pair',
      patch((b) => b.set([0x6e, 0x69, 0x31, 0], 344)),
      "a .hdr/.img pair header (magic 'ni1'); only single-file .nii or .nii.gz is read",
    ],
    [
      'NIfTI-2 line endings',
      patch((b) => b.set([0x0a], 8), buildNifti({ version: 2 })),
      'line endings changed in transfer',
    ],
    ['truncated header', good.subarray(0, 200), 'truncated: 200 bytes, too short for the 348-byte NIfTI-1 header'],
    [
      'truncated data',
      good.subarray(0, good.length - 1),
      'truncated: 4x4x4 float32 voxels need 608 bytes (from vox_offset 352), the file has 607',
    ],
    ['truncated data, gzipped', gzipSync(good.subarray(0, good.length - 4)), 'the unzipped file has 604'],
    ['truncated gzip', zipped.subarray(0, zipped.length - 10), 'corrupt gzip: unexpected end of file'],
    ['damaged gzip', patch((b) => (b[b.length - 6]! ^= 0xff), zipped), 'corrupt gzip: incorrect data check'],
    [
      'complex64',
      patch((_, v) => v.setInt16(70, 32, true)),
      'unsupported datatype 32 (complex64); expected one real number per voxel',
    ],
    ['RGB24', patch((_, v) => v.setInt16(70, 128, true)), 'unsupported datatype 128 (RGB24)'],
    [
      'unknown datatype',
      patch((_, v) => v.setInt16(70, 99, true)),
      'unsupported datatype 99 (not a NIfTI datatype code)',
    ],
    [
      '4D',
      buildNifti({ dim: [4, 2, 2, 2, 3, 1, 1, 1] }),
      '4D image with 3 volumes (dim 2x2x2x3); only single 3D volumes are read',
    ],
    ['5D', buildNifti({ dim: [5, 2, 2, 2, 1, 2, 1, 1] }), '5D image with 2 volumes'],
    ['dim[0] 0', patch((_, v) => v.setInt16(40, 0, true)), 'corrupt: dim[0] is 0, expected 1 to 7'],
    ['dim[2] 0', patch((_, v) => v.setInt16(44, 0, true)), 'corrupt: dim[2] is 0, expected a positive size'],
    [
      'vox_offset inside the header',
      patch((_, v) => v.setFloat32(108, 100, true)),
      'corrupt: vox_offset is 100, expected a whole number of bytes >= 348',
    ],
  ];
  it.each(cases)('%s', (_, bytes, expected) => {
    const message = errorOf(bytes, '/data/case_7.nii.gz');
    expect(message.startsWith('/data/case_7.nii.gz: ')).toBe(true);
    expect(message).toContain(expected);
    expect(message).not.toMatch(/\n\s+at /);
  });

  it('the unpatched file and its gzip read (control for the table)', () => {
    expect(errorOf(good)).toBe('');
    expect(errorOf(zipped)).toBe('');
  });

  it('readNifti: a missing file', async () => {
    const path = join(dir, 'nope.nii.gz');
    await expect(readNifti(path)).rejects.toThrow(`${path}: cannot read: no such file`);
  });
});
