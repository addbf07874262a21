import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeImage, decodeMask } from '../../../src/runtime/data/png.js';
import { writeFileAtomic } from '../../../src/runtime/data/atomic.js';
import { encodeGray, encodeLabels, encodeMask } from '../../../src/runtime/data/png-write.js';
import { generateDataset, generateSample, type SyntheticSample } from '../../../src/runtime/data/synthetic.js';

/** One buffer of all three arrays, compared with Buffer.equals (expect's deep equality is slow on big arrays). */
const bytes = (s: SyntheticSample) =>
  Buffer.concat([Buffer.from(s.image.buffer), Buffer.from(s.mask.buffer), Buffer.from(s.labels.buffer)]);
const same = (a: SyntheticSample, b: SyntheticSample) => bytes(a).equals(bytes(b));

describe('generateSample', () => {
  it.each([1, 42, 123456789])('seed %i gives identical bytes twice', (seed) => {
    const a = generateSample(seed, { height: 96, width: 128 });
    const b = generateSample(seed, { height: 96, width: 128 });
    expect(same(a, b)).toBe(true);
    expect(a.count).toBe(b.count);
  });

  it.each([
    [1, 2],
    [7, 8],
    [1000, 1001],
  ])('seeds %i and %i differ', (s1, s2) => {
    const a = generateSample(s1, { height: 64, width: 64 });
    const b = generateSample(s2, { height: 64, width: 64 });
    expect(Buffer.from(a.image.buffer).equals(Buffer.from(b.image.buffer))).toBe(false);
  });

  it.each(['typical', 'dense', 'sparse'] as const)('scene %s can be forced and has nuclei', (scene) => {
    const s = generateSample(5, { height: 128, width: 128, scene });
    expect(s.scene).toBe(scene);
    expect(s.count).toBeGreaterThan(0);
  });

  it('an empty scene has no nuclei but a noisy background', () => {
    const s = generateSample(5, { height: 64, width: 64, scene: 'empty' });
    expect([s.count, Math.max(...s.mask), Math.max(...s.labels)]).toEqual([0, 0, 0]);
    expect(new Set(s.image).size).toBeGreaterThan(1);
  });

  it('count overrides the number of nuclei to place', () => {
    const few = generateSample(9, { height: 128, width: 128, scene: 'typical', count: 3 });
    const many = generateSample(9, { height: 128, width: 128, scene: 'typical', count: 40 });
    expect(few.count).toBeLessThanOrEqual(3);
    expect(many.count).toBeGreaterThan(20);
  });

  it('quantizes to 8-bit levels by default, and not when asked', () => {
    const q = generateSample(3, { height: 32, width: 32 });
    const f = generateSample(3, { height: 32, width: 32, quantize: false });
    expect([...q.image].every((v) => Math.abs(v * 255 - Math.round(v * 255)) < 1e-4)).toBe(true);
    expect([...f.image].some((v) => Math.abs(v * 255 - Math.round(v * 255)) > 1e-3)).toBe(true);
  });

  it.each([
    [0, 10],
    [10, 0],
    [2.5, 10],
  ])('rejects a %sx%s size', (height, width) => {
    expect(() => generateSample(1, { height, width })).toThrow(/positive integers/);
  });
});

describe('generateDataset statistics (40 images of 256x256)', () => {
  const data = generateDataset(2024, 40, 256);
  const fg = (s: SyntheticSample) => s.mask.reduce((a, v) => a + v, 0) / s.mask.length;

  it('is a stable prefix: the first samples do not depend on n', () => {
    const three = generateDataset(2024, 3, 256);
    expect(three.map((s, i) => same(s, data[i]!))).toEqual([true, true, true]);
  });

  it('mask equals labels > 0 and labels are exactly 1..count', () => {
    for (const s of data) {
      const ids = new Set<number>();
      let mismatches = 0;
      for (let p = 0; p < s.mask.length; p++) {
        if (s.mask[p] !== (s.labels[p]! > 0 ? 1 : 0)) mismatches++;
        if (s.labels[p]) ids.add(s.labels[p]!);
      }
      expect(mismatches).toBe(0);
      expect([...ids].sort((a, b) => a - b)).toEqual(Array.from({ length: s.count }, (_, i) => i + 1));
    }
  });

  it('intensities lie in [0, 1] and nuclei are brighter than the background', () => {
    for (const s of data) {
      expect(Math.min(...s.image)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...s.image)).toBeLessThanOrEqual(1);
      if (s.count === 0) continue;
      let inside = 0;
      let outside = 0;
      for (let p = 0; p < s.mask.length; p++) {
        if (s.mask[p]) inside += s.image[p]!;
        else outside += s.image[p]!;
      }
      const ratio =
        inside / s.mask.reduce((a, v) => a + v, 0) / (outside / (s.mask.length - s.mask.reduce((a, v) => a + v, 0)));
      expect(ratio).toBeGreaterThan(2);
    }
  });

  it('foreground fractions, counts and sizes are in the range of the DSB2018 fluorescence images', () => {
    const nonEmpty = data.filter((s) => s.count > 0);
    expect(nonEmpty.length).toBeGreaterThanOrEqual(38);
    const fractions = nonEmpty.map(fg);
    const mean = fractions.reduce((a, b) => a + b, 0) / fractions.length;
    expect(mean).toBeGreaterThan(0.03);
    expect(mean).toBeLessThan(0.15);
    expect(Math.min(...fractions)).toBeGreaterThan(0.003);
    expect(Math.max(...fractions)).toBeLessThan(0.35);
    const counts = nonEmpty.map((s) => s.count);
    expect(Math.max(...counts)).toBeGreaterThan(40);
    expect(Math.max(...counts)).toBeLessThan(200);
    expect(Math.min(...counts)).toBeLessThan(12);
    const meanArea = nonEmpty.map((s) => (fg(s) * s.mask.length) / s.count);
    expect(Math.min(...meanArea)).toBeGreaterThan(30);
    expect(Math.max(...meanArea)).toBeLessThan(900);
    expect(new Set(data.map((s) => s.scene))).toEqual(new Set(['typical', 'dense', 'sparse']));
  });

  it('some nuclei touch: at least one image has two labels side by side', () => {
    const touching = data.filter((s) => {
      for (let p = 1; p < s.labels.length; p++) {
        const a = s.labels[p - 1]!;
        const b = s.labels[p]!;
        if (p % s.width !== 0 && a && b && a !== b) return true;
      }
      return false;
    });
    expect(touching.length).toBeGreaterThan(3);
  });

  it('writes previews that read back as the same values (look at them in $TMPDIR/unetc-synthetic-preview)', async () => {
    const dir = join(tmpdir(), 'unetc-synthetic-preview');
    mkdirSync(dir, { recursive: true });
    for (const [i, s] of data.slice(0, 6).entries()) {
      const image = encodeGray({ ...s, data: s.image }, 'image', 8);
      const mask = encodeMask({ ...s, data: s.mask }, 'mask', { binary: true });
      const labels = encodeLabels({ ...s, data: s.labels }, 'labels');
      await writeFileAtomic(join(dir, `${i}-${s.scene}-image.png`), image);
      await writeFileAtomic(join(dir, `${i}-${s.scene}-mask.png`), mask);
      await writeFileAtomic(join(dir, `${i}-${s.scene}-labels.png`), labels);
      const equal = (a: ArrayLike<number>, b: ArrayLike<number>) =>
        a.length === b.length && Array.prototype.every.call(a, (v: number, k: number) => v === b[k]);
      expect(equal(decodeImage(image, 'image').data, s.image)).toBe(true);
      expect(equal(decodeMask(mask, 'mask').data, s.mask)).toBe(true);
      expect(equal(decodeMask(labels, 'labels').data, s.labels)).toBe(true);
    }
  });
});
