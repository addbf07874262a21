import { describe, expect, it } from 'vitest';
import {
  checkInputSize,
  convAxis,
  convTransposeAxis,
  describeSizes,
  formatOneLine,
  inferShapes,
  nearestSizes,
  poolAxis,
  validSizes,
} from '../../src/compiler/index.js';
import { compileFile } from '../helpers.js';

describe('per-axis shape functions', () => {
  it.each([
    ['conv same 3', () => convAxis(100, 3, 1, 'same'), 100],
    ['conv same stride 2 odd', () => convAxis(101, 3, 2, 'same'), 51],
    ['conv valid 3', () => convAxis(572, 3, 1, 'valid'), 570],
    ['conv valid stride 2', () => convAxis(9, 3, 2, 'valid'), 4],
    ['conv-transpose same 2/2', () => convTransposeAxis(28, 2, 2, 'same'), 56],
    ['conv-transpose valid 3/2', () => convTransposeAxis(28, 3, 2, 'valid'), 57],
    ['conv-transpose valid 1/2 (kernel < stride)', () => convTransposeAxis(28, 1, 2, 'valid'), 56],
    ['pool 2/2', () => poolAxis(64, 2, 2), 32],
  ])('%s', (_n, f, size) => {
    expect(f()).toEqual({ ok: true, size });
  });

  it.each([
    ['conv valid smaller than kernel', () => convAxis(2, 3, 1, 'valid')],
    ['pool of an odd size', () => poolAxis(25, 2, 2)],
    ['pool smaller than window', () => poolAxis(1, 2, 2)],
  ])('%s fails', (_n, f) => {
    expect(f().ok).toBe(false);
  });
});

describe('shape inference on shipped specs', () => {
  it('the 2015 U-Net maps 572x572 to 388x388', () => {
    const g = compileFile('specs/unet-2015.yaml').graph!;
    const { shapes, failure } = inferShapes(g, 572, 572);
    expect(failure).toBeUndefined();
    expect(shapes.get('output')).toEqual({ h: 388, w: 388, c: 2 });
    expect(shapes.get('dec4.crop')).toEqual({ h: 56, w: 56, c: 512 }); // 64 cropped to the upsampled 56
  });

  it.each([
    ['specs/unet.yaml', 'multiples of 16'],
    ['specs/tiny.yaml', 'multiples of 8'],
    ['specs/unet-2015.yaml', '188 + 16k (188, 204, 220, ...)'],
  ])('%s accepts %s', (file, described) => {
    const g = compileFile(file).graph!;
    expect(describeSizes(validSizes(g, 0))).toBe(described);
    expect(describeSizes(validSizes(g, 1))).toBe(described);
  });

  it('a same-padded U-Net keeps the input size, even when height and width differ', () => {
    const g = compileFile('specs/unet.yaml').graph!;
    expect(inferShapes(g, 320, 416).shapes.get('output')).toEqual({ h: 320, w: 416, c: 1 });
  });

  it('100x100 with depth 4 says which level fails and which sizes work', () => {
    const g = compileFile('specs/unet.yaml').graph!;
    const [d] = checkInputSize(g, [100, 100], undefined, ' (from --input)');
    expect(d && formatOneLine(d)).toBe(
      'specs/unet.yaml:26:9: error[E401] input 100x100 (from --input) does not fit: at enc3.pool the height is 25: 25 is not divisible by 2, so pooling would drop 1 row(s)',
    );
    expect(d!.notes).toEqual([
      'heights that work: multiples of 16',
      'nearest to 100: 96 and 112',
      'the width 100 does not fit either: widths that work: multiples of 16',
    ]);
  });

  it('only the failing axis is blamed', () => {
    const g = compileFile('specs/unet.yaml').graph!;
    const [d] = checkInputSize(g, [256, 260], undefined, '');
    expect(d!.message).toMatch(/at enc3.pool the width is 65/);
    expect(d!.notes).toEqual(['widths that work: multiples of 16', 'nearest to 260: 256 and 272']);
  });

  it('the valid-padding net names the right failing level at 570', () => {
    const g = compileFile('specs/unet-2015.yaml').graph!;
    const [d] = checkInputSize(g, [570, 570], undefined, '');
    expect(d!.message).toMatch(/^input 570x570 does not fit: at enc\d\.pool/);
    expect(d!.notes[1]).toBe('nearest to 570: 556 and 572');
  });

  it('nearest sizes', () => {
    expect(nearestSizes([16, 32, 48], 40)).toEqual([32, 48]);
    expect(nearestSizes([16, 32, 48], 8)).toEqual([16]);
  });
});
