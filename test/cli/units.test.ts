import { describe, expect, it } from 'vitest';
import { mmPerUnit } from '../../src/runtime/infer/folder.js';
import type { NiftiVolume } from '../../src/runtime/volume/index.js';

const volume = (version: 1 | 2, code: number, littleEndian = true): NiftiVolume => {
  const header = new Uint8Array(version === 1 ? 352 : 544);
  if (version === 1) header[123] = code;
  else new DataView(header.buffer).setInt32(500, code, littleEndian);
  return { version, header, littleEndian } as unknown as NiftiVolume;
};

describe('NIfTI spatial units to millimetres', () => {
  it.each([
    [1, 2, 1],
    [1, 0, 1],
    [1, 1, 1000],
    [1, 3, 0.001],
    [1, 2 | 8, 1], // time units in bits 3-5 do not matter
    [2, 1, 1000],
    [2, 3, 0.001],
  ] as const)('NIfTI-%d, xyzt_units %d: %d mm per unit', (version, code, mm) => {
    expect(mmPerUnit(volume(version, code))).toBe(mm);
  });
  it('NIfTI-2 big-endian headers are read in their byte order', () => {
    expect(mmPerUnit(volume(2, 1, false))).toBe(1000);
  });
});
