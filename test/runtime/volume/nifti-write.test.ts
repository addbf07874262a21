import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { NIFTI1 } from 'nifti-reader-js';
import { afterAll, describe, expect, it } from 'vitest';
import { DataError } from '../../../src/util/error.js';
import {
  createNiftiHeader,
  encodeNiftiMask,
  parseNifti,
  readNifti,
  writeNiftiMask,
  writeNiftiVolume,
  writeSyntheticVolumes,
} from '../../../src/runtime/volume/index.js';
import { buildNifti } from './build.js';

const dir = mkdtempSync(join(tmpdir(), 'unetc-nifti-write-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** NIfTI-1 header fields a mask writer may change, [start, end) (nifti1.h). */
const maskFields1: Record<string, [number, number]> = {
  datatype: [70, 72],
  bitpix: [72, 74],
  vox_offset: [108, 112],
  scl_slope: [112, 116],
  scl_inter: [116, 120],
  cal_max: [124, 128],
  cal_min: [128, 132],
};
/** Fields that must be kept byte for byte. */
const kept1: Record<string, [number, number]> = {
  dim: [40, 56],
  intent: [56, 70],
  pixdim: [76, 108],
  xyzt_units: [123, 124],
  descrip: [148, 228],
  qform: [252, 280],
  srow: [280, 328],
  intent_name: [328, 344],
  magic: [344, 348],
};

/** Offsets where a and b differ outside the allowed ranges. */
function unexpectedDiffs(a: Uint8Array, b: Uint8Array, allowed: Record<string, [number, number]>): number[] {
  const ok = (i: number) => Object.values(allowed).some(([s, e]) => i >= s && i < e);
  const out: number[] = [];
  for (let i = 0; i < Math.max(a.length, b.length); i++) if (a[i] !== b[i] && !ok(i)) out.push(i);
  return out;
}
const range = (b: Uint8Array, [s, e]: [number, number]) => [...b.subarray(s, e)];
const unzip = (path: string) => new Uint8Array(gunzipSync(readFileSync(path)));

describe('writeNiftiMask: the input header is kept', async () => {
  const [sample] = await writeSyntheticVolumes(join(dir, 'synth'), { count: 1, seed: 3, dims: [12, 10, 6] });
  const input = await readNifti(sample!.image);
  const labels = new Uint8Array(12 * 10 * 6).map((_, p) => p % 4);
  const out = join(dir, 'pred.nii.gz');
  await writeNiftiMask(out, input, labels);
  const written = unzip(out);
  const header = written.subarray(0, input.header.length);

  it('bytes equal outside the changed fields', () => {
    expect(unexpectedDiffs(input.header, header, maskFields1)).toEqual([]);
    for (const [name, r] of Object.entries(kept1))
      expect([name, range(header, r)]).toEqual([name, range(input.header, r)]);
  });

  it('the comparison catches a changed srow byte (negative control)', () => {
    const broken = Uint8Array.from(header);
    broken[290]! ^= 1;
    expect(unexpectedDiffs(input.header, broken, maskFields1)).toEqual([290]);
  });

  it('the voxel fields changed: float32 to uint8, cal_max the largest label', () => {
    const a = new DataView(input.header.buffer, input.header.byteOffset);
    const b = new DataView(header.buffer, header.byteOffset);
    expect([a.getInt16(70, true), a.getInt16(72, true)]).toEqual([16, 32]);
    expect([b.getInt16(70, true), b.getInt16(72, true)]).toEqual([2, 8]);
    expect([b.getFloat32(108, true), b.getFloat32(112, true), b.getFloat32(116, true)]).toEqual([352, 1, 0]);
    expect([b.getFloat32(128, true), b.getFloat32(124, true)]).toEqual([0, 3]);
    expect(a.getFloat32(124, true)).not.toBe(3);
  });

  it('reads back with the labels, the dims and the affine', async () => {
    const back = await readNifti(out);
    expect(back.datatype).toBe(2);
    expect(back.dims).toEqual(input.dims);
    expect(back.affine).toEqual(input.affine);
    expect(back.spacing).toEqual(input.spacing);
    expect([...back.data]).toEqual([...labels]);
    expect(written.length).toBe(352 + labels.length);
  });

  it('a path without .gz is not gzipped', async () => {
    const plain = join(dir, 'pred.nii');
    await writeNiftiMask(plain, input, labels);
    expect([...readFileSync(plain).subarray(0, 352)]).toEqual([...header]);
  });
});

describe('writers keep extensions, byte order, version and scaling out', () => {
  const comment = new TextEncoder().encode('acquired on a test scanner');
  it.each([
    ['NIfTI-1 big-endian int16 with slope, intent and an extension', 1 as const, false],
    ['NIfTI-2 big-endian', 2 as const, false],
    ['NIfTI-2 little-endian', 2 as const, true],
  ])('%s', async (_, version, littleEndian) => {
    const srow = [0, 0, 2.5, -10, 0, -1.5, 0, 20, 1.25, 0, 0, 5];
    const bytes = buildNifti({
      version,
      littleEndian,
      datatype: 4,
      dims: [4, 3, 2],
      sclSlope: 2,
      sclInter: 1,
      srow,
      intentCode: 1002,
      intentName: 'label',
      extensions: [{ code: 6, data: comment }],
    });
    const input = parseNifti(bytes, 'in.nii');
    expect(input.data[5]).toBe(11); // 5 * 2 + 1
    const labels = Uint8Array.from({ length: 24 }, (_, p) => (p * 7) % 5);
    const path = join(dir, `v${version}-${littleEndian}.nii`);
    await writeNiftiMask(path, input, labels);
    const written = new Uint8Array(readFileSync(path));
    expect(Buffer.from(written.subarray(0, input.header.length)).includes(Buffer.from(comment))).toBe(true);
    const back = parseNifti(written, path);
    expect([back.version, back.littleEndian, back.datatype]).toEqual([version, littleEndian, 2]);
    expect(back.header.length).toBe(input.header.length);
    expect(back.affine).toEqual(input.affine);
    expect([...back.data]).toEqual([...labels]); // scl_slope 1, scl_inter 0 in the copy
    const floats = Float32Array.from({ length: 24 }, (_, p) => p / 3 - 2);
    await writeNiftiVolume(path, input, floats);
    const again = await readNifti(path);
    expect([again.datatype, again.littleEndian]).toEqual([16, littleEndian]);
    expect([...again.data]).toEqual([...floats]);
  });
});

describe('writer errors and atomic writes', () => {
  const like = createNiftiHeader({ dims: [3, 3, 2], spacing: [1, 1, 1] });
  it('the wrong number of labels', () => {
    expect(() => encodeNiftiMask('m.nii', like, new Uint8Array(10))).toThrow(
      new DataError('m.nii', 'cannot write: 10 values for a 3x3x2 volume (expected 18)'),
    );
  });
  it('a folder that does not exist, and no temporary file left behind', async () => {
    const path = join(dir, 'missing', 'm.nii.gz');
    await expect(writeNiftiMask(path, like, new Uint8Array(18))).rejects.toThrow(
      `${path}: cannot write: the folder does not exist`,
    );
    const sub = mkdtempSync(join(dir, 'atomic-'));
    writeFileSync(join(sub, 'm.nii'), 'old');
    await writeNiftiMask(join(sub, 'm.nii'), like, new Uint8Array(18).fill(1));
    expect(readdirSync(sub)).toEqual(['m.nii']);
    expect((await readNifti(join(sub, 'm.nii'))).data.every((v) => v === 1)).toBe(true);
  });
});

describe('createNiftiHeader: sform is the affine, qform agrees (as nifti-reader-js computes it)', () => {
  const rot = (deg: number, s: [number, number, number]) => {
    const [c, n] = [Math.cos((deg * Math.PI) / 180), Math.sin((deg * Math.PI) / 180)];
    return [
      [c * s[0], -n * s[1], 0, 4],
      [n * s[0], c * s[1], 0, -5],
      [0, 0, s[2], 6],
    ];
  };
  // An oblique rotation: about the axis (1, 1, 1) by 120 degrees permutes the axes.
  const cases: [string, [number, number, number], number[][]][] = [
    [
      'diagonal',
      [0.8, 0.8, 2],
      [
        [0.8, 0, 0, 1],
        [0, 0.8, 0, 2],
        [0, 0, 2, 3],
      ],
    ],
    [
      'x and y flipped (det > 0)',
      [0.8, 0.8, 2],
      [
        [-0.8, 0, 0, 30],
        [0, -0.8, 0, 20],
        [0, 0, 2, -10],
      ],
    ],
    [
      'x flipped only (det < 0, qfac -1)',
      [1, 2, 3],
      [
        [-1, 0, 0, 0],
        [0, 2, 0, 0],
        [0, 0, 3, 0],
      ],
    ],
    [
      'z flipped only',
      [1, 2, 3],
      [
        [1, 0, 0, 0],
        [0, 2, 0, 0],
        [0, 0, -3, 0],
      ],
    ],
    ['rotated 30 degrees about z', [0.5, 0.7, 3], rot(30, [0.5, 0.7, 3])],
    ['rotated 180 degrees about z', [1, 1, 1], rot(180, [1, 1, 1])],
    [
      'axes permuted',
      [1, 2, 3],
      [
        [0, 0, 3, 1],
        [1, 0, 0, 2],
        [0, 2, 0, 3],
      ],
    ],
  ];
  it.each(cases)('%s', (_, spacing, affine) => {
    const t = createNiftiHeader({ dims: [5, 6, 7], spacing, affine, description: 'test' });
    const h = new NIFTI1();
    h.readHeader(Uint8Array.from(t.header).buffer);
    expect([h.sform_code, h.qform_code, h.datatypeCode, h.vox_offset, h.littleEndian, h.description]).toEqual([
      1,
      1,
      16,
      352,
      true,
      'test',
    ]);
    expect(h.dims.slice(0, 4)).toEqual([3, 5, 6, 7]);
    const q = h.getQformMat();
    for (let r = 0; r < 3; r++) {
      for (let c = 0; c < 4; c++) {
        expect(q[r]![c]).toBeCloseTo(affine[r]![c]!, 5);
        expect(h.affine[r]![c]).toBe(Math.fround(affine[r]![c]!));
      }
    }
    expect(
      parseNifti(Uint8Array.from([...t.header, ...new Uint8Array(5 * 6 * 7 * 4)]), 'x.nii').affine.slice(0, 3),
    ).toEqual(affine.map((row) => row.map(Math.fround)));
  });
  it('refuses spacing that disagrees with the affine', () => {
    expect(() =>
      createNiftiHeader({
        dims: [2, 2, 2],
        spacing: [1, 1, 1],
        affine: [
          [2, 0, 0, 0],
          [0, 1, 0, 0],
          [0, 0, 1, 0],
        ],
      }),
    ).toThrow('createNiftiHeader: affine column 0 has length 2, but spacing[0] is 1');
  });
});
