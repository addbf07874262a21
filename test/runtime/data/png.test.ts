import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encode } from 'fast-png';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeImage, decodeMask, readImage, readMask } from '../../../src/runtime/data/png.js';
import { DataError } from '../../../src/util/error.js';
import { encodeGray, encodeLabels, encodeMask, writeLabels, writeMask } from '../../../src/runtime/data/png-write.js';
import { writeFileAtomic } from '../../../src/runtime/data/atomic.js';

const dir = mkdtempSync(join(tmpdir(), 'unetc-png-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The message a decoder throws for these bytes ('' when it decodes). */
function errorOf(fn: () => unknown): string {
  try {
    fn();
    return '';
  } catch (error) {
    expect(error).toBeInstanceOf(DataError);
    return (error as Error).message;
  }
}

/** A valid 4x3 8-bit gray PNG, and the same with its IHDR bit depth patched (framing check runs before the CRC). */
const gray = encode({ width: 4, height: 3, data: new Uint8Array(12).fill(7), channels: 1, depth: 8 });
const withDepth = (depth: number) => {
  const b = Uint8Array.from(gray);
  b[24] = depth;
  return b;
};
const idat = Buffer.from(gray).indexOf('IDAT');

/** Bytes with one IDAT byte flipped and the chunk's CRC recomputed: framing is fine, zlib is not. */
function badDeflate(): Uint8Array {
  const b = Uint8Array.from(gray);
  const view = new DataView(b.buffer);
  const length = view.getUint32(idat - 4);
  b[idat + 4]! ^= 0xff; // the zlib header byte
  let c = 0xffffffff;
  for (const x of b.subarray(idat, idat + 4 + length)) {
    c ^= x;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  view.setUint32(idat + 4 + length, (c ^ 0xffffffff) >>> 0);
  return b;
}

describe('decodeImage', () => {
  it.each([
    ['gray 8-bit', 1, 8, [0, 128, 255, 1], [0, 128 / 255, 1, 1 / 255]],
    ['gray 16-bit', 1, 16, [0, 32768, 65535, 1], [0, 32768 / 65535, 1, 1 / 65535]],
    [
      'gray+alpha 8-bit',
      2,
      8,
      [10, 255, 20, 0, 30, 255, 40, 128],
      [10, 255, 20, 0, 30, 255, 40, 128].map((v) => v / 255),
    ],
    [
      'RGB 8-bit',
      3,
      8,
      [255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9],
      [255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9].map((v) => v / 255),
    ],
    [
      'RGBA 16-bit',
      4,
      16,
      Array.from({ length: 16 }, (_, i) => i * 4000),
      Array.from({ length: 16 }, (_, i) => (i * 4000) / 65535),
    ],
  ])('%s: channels, bit depth and values scaled to [0, 1]', (_, channels, depth, values, expected) => {
    const data = depth === 16 ? Uint16Array.from(values) : Uint8Array.from(values);
    const png = encode({ width: 2, height: 2, data, channels, depth: depth as 8 | 16 });
    const image = decodeImage(png, 'x.png');
    expect([image.width, image.height, image.channels, image.bitDepth]).toEqual([2, 2, channels, depth]);
    expect([...image.data].map((v, i) => Math.abs(v - expected[i]!) < 1e-6)).toEqual(expected.map(() => true));
  });

  it('unpacks 1-bit gray rows (9 pixels wide: two bytes per row)', () => {
    // Row 0: 1 0 1 0 1 0 1 0 | 1 ; row 1: all 0 except the last.
    const packed = Uint8Array.from([0b10101010, 0b10000000, 0b00000000, 0b10000000]);
    const mask = decodeMask(encode({ width: 9, height: 2, data: packed, channels: 1, depth: 1 }), 'm.png');
    expect([...mask.data]).toEqual([1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    expect([mask.bitDepth, mask.encoding]).toEqual([1, 'binary-01']);
  });

  it('expands a palette image to RGB, and reads a palette mask as its indices', () => {
    const png = encode({
      width: 2,
      height: 1,
      data: Uint8Array.from([0, 2]),
      channels: 1,
      depth: 8,
      palette: [
        [0, 0, 0],
        [9, 9, 9],
        [255, 0, 0],
      ],
    });
    const image = decodeImage(png, 'p.png');
    expect([image.channels, ...[...image.data].map((v) => Math.round(v * 255))]).toEqual([3, 0, 0, 0, 255, 0, 0]);
    const mask = decodeMask(png, 'p.png');
    expect([mask.encoding, ...mask.data]).toEqual(['ids', 0, 2]);
  });

  it.each([
    ['empty file', new Uint8Array(0), 'f.png: empty file (0 bytes)'],
    ['not a PNG', new TextEncoder().encode('hello, world'), 'f.png: not a PNG file (bad signature)'],
    ['header cut', gray.subarray(0, 20), 'f.png: truncated: 20 bytes, too short for the IHDR header'],
    ['truncated in IDAT', gray.subarray(0, idat + 10), `f.png: truncated: chunk IDAT at byte ${idat - 4} needs`],
    [
      'no IEND',
      gray.subarray(0, gray.length - 12),
      `f.png: truncated: no IEND chunk (the file ends at byte ${gray.length - 12})`,
    ],
    ['unsupported bit depth', withDepth(3), 'f.png: unsupported bit depth 3 for grayscale (PNG allows 1, 2, 4, 8, 16)'],
    [
      'corrupt CRC',
      Uint8Array.from(gray, (b, i) => (i === idat + 6 ? b ^ 0xff : b)),
      `f.png: corrupt: CRC mismatch in chunk IDAT at byte ${idat - 4} (the file is damaged)`,
    ],
    ['bad zlib data', badDeflate(), 'f.png: corrupt: Error while decompressing the data: '],
  ])('%s: a DataError naming the file', (_, bytes, message) => {
    expect(errorOf(() => decodeImage(bytes, 'f.png'))).toContain(message);
    expect(errorOf(() => decodeImage(bytes, 'f.png')).startsWith('f.png: ')).toBe(true);
  });

  it('a valid file decodes (positive control for the table above)', () => {
    expect(errorOf(() => decodeImage(gray, 'f.png'))).toBe('');
    expect(errorOf(() => decodeImage(withDepth(8), 'f.png'))).toBe('');
  });

  it('reading a missing file is a DataError', async () => {
    await expect(readImage(join(dir, 'nope.png'))).rejects.toThrow(
      `${join(dir, 'nope.png')}: cannot read: no such file`,
    );
  });
});

describe('decodeMask', () => {
  it.each([
    ['0/255', 8, [0, 255, 255, 0], 'binary-max', [0, 1, 1, 0], [0, 255]],
    ['0/1', 8, [0, 1, 1, 0], 'binary-01', [0, 1, 1, 0], [0, 1]],
    ['all zero', 8, [0, 0, 0, 0], 'binary-01', [0, 0, 0, 0], [0]],
    ['0/65535', 16, [0, 65535, 0, 0], 'binary-max', [0, 1, 0, 0], [0, 65535]],
    ['class ids', 8, [0, 1, 2, 3], 'ids', [0, 1, 2, 3], [0, 1, 2, 3]],
    ['0/128/255', 8, [0, 128, 255, 0], 'ids', [0, 128, 255, 0], [0, 128, 255]],
    ['16-bit labels', 16, [0, 300, 65535, 7], 'ids', [0, 300, 65535, 7], [0, 7, 300, 65535]],
  ])('%s -> %s', (_, depth, raw, encoding, data, values) => {
    const png = encode({
      width: 2,
      height: 2,
      data: depth === 16 ? Uint16Array.from(raw) : Uint8Array.from(raw),
      channels: 1,
      depth: depth as 8 | 16,
    });
    const mask = decodeMask(png, 'm.png');
    expect([mask.encoding, [...mask.data], mask.values]).toEqual([encoding, data, values]);
  });

  it('accepts an RGB mask whose channels agree, rejects a colored one', () => {
    const rgb = (px: number[]) => encode({ width: 2, height: 1, data: Uint8Array.from(px), channels: 3, depth: 8 });
    expect([...decodeMask(rgb([0, 0, 0, 255, 255, 255]), 'm.png').data]).toEqual([0, 1]);
    expect(errorOf(() => decodeMask(rgb([0, 0, 0, 255, 0, 0]), 'm.png'))).toBe(
      'm.png: color mask: pixel (1, 0) is (255,0,0); expected grayscale values or a palette PNG of class ids',
    );
  });
});

describe('writing', () => {
  it.each([
    [
      'binary mask as 0/255',
      () => encodeMask({ width: 3, height: 1, data: [0, 1, 5] }, 'm', { binary: true }),
      [0, 255, 255],
      8,
    ],
    ['label ids in 8 bits', () => encodeMask({ width: 3, height: 1, data: [0, 1, 5] }, 'm'), [0, 1, 5], 8],
    [
      '16-bit label map',
      () => encodeLabels({ width: 3, height: 1, data: [0, 1000, 65535] }, 'm'),
      [0, 1000, 65535],
      16,
    ],
  ])('%s round-trips', (_, make, raw, depth) => {
    const mask = decodeMask(make(), 'm.png');
    expect([mask.bitDepth, mask.values]).toEqual([depth, [...new Set(raw)].sort((a, b) => a - b)]);
  });

  it.each([8, 16] as const)('%i-bit gray image round-trips within one level', (depth) => {
    const data = Float32Array.from([0, 0.1, 0.5, 0.999, 1, 1.5, -1, NaN]);
    const back = decodeImage(encodeGray({ width: 4, height: 2, data }, 'g', depth), 'g').data;
    const expected = [0, 0.1, 0.5, 0.999, 1, 1, 0, 0];
    const level = 1 / (2 ** depth - 1);
    expect([...back].map((v, i) => Math.abs(v - expected[i]!) <= level / 2 + 1e-7)).toEqual(expected.map(() => true));
  });

  it.each([
    [
      '8-bit mask with id 300',
      () => encodeMask({ width: 1, height: 1, data: [300] }, 'o.png'),
      'o.png: cannot write value 300 into an 8-bit mask',
    ],
    [
      'label 70000',
      () => encodeLabels({ width: 1, height: 1, data: [70000] }, 'o.png'),
      'o.png: cannot write label 70000 into a 16-bit label map',
    ],
    [
      'wrong length',
      () => encodeMask({ width: 2, height: 2, data: [0] }, 'o.png'),
      'o.png: cannot write: 1 values for a 2x2 image (expected 4)',
    ],
  ])('%s is a DataError', (_, fn, message) => {
    expect(errorOf(fn)).toContain(message);
  });

  it('writes atomically: the file appears whole and no temporary file is left', async () => {
    const path = join(dir, 'mask.png');
    await writeMask(path, { width: 2, height: 1, data: [0, 1] }, { binary: true });
    await writeLabels(join(dir, 'labels.png'), { width: 2, height: 1, data: [0, 513] });
    expect(readdirSync(dir).sort()).toEqual(['labels.png', 'mask.png']);
    expect([...(await readMask(path)).data]).toEqual([0, 1]);
    expect([...(await readMask(join(dir, 'labels.png'))).data]).toEqual([0, 513]);
    expect(readFileSync(path).subarray(1, 4).toString()).toBe('PNG');
  });

  it('a write into a missing folder is a DataError', async () => {
    const path = join(dir, 'missing', 'm.png');
    await expect(writeFileAtomic(path, gray)).rejects.toThrow(`${path}: cannot write: the folder does not exist`);
  });
});
