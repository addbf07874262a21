import { describe, expect, it } from 'vitest';
import {
  applyAugmentation,
  augment,
  finishInput,
  planAugmentation,
  type AugmentOptions,
} from '../../../src/runtime/data/augment.js';
import {
  crop,
  cropResized,
  elasticField,
  flip,
  flipAxis,
  quarterTurns,
  reflectIndex,
  rotate90,
  transpose,
  warp,
  type HWC,
} from '../../../src/runtime/data/geometry.js';
import {
  applyNormalization,
  normalizationParams,
  normalize,
  percentiles,
} from '../../../src/runtime/data/normalize.js';
import { generateSample } from '../../../src/runtime/data/synthetic.js';

const sample = generateSample(11, { height: 48, width: 64, scene: 'dense' });
const image: HWC<Float32Array> = { height: 48, width: 64, channels: 1, data: sample.image };
const mask: HWC<Uint8Array> = { height: 48, width: 64, channels: 1, data: sample.mask };
const rgb: HWC<Float32Array> = {
  height: 5,
  width: 4,
  channels: 3,
  data: Float32Array.from({ length: 60 }, (_, i) => i),
};
const small: HWC<Uint16Array> = { height: 2, width: 3, channels: 1, data: Uint16Array.from([1, 2, 3, 4, 5, 6]) };

const same = (a: HWC<Float32Array | Uint8Array | Uint16Array>, b: HWC<Float32Array | Uint8Array | Uint16Array>) =>
  a.height === b.height &&
  a.width === b.width &&
  a.channels === b.channels &&
  Buffer.from(a.data.buffer).equals(Buffer.from(b.data.buffer));

const all: AugmentOptions = {
  patch: [32, 32],
  flip: true,
  rotate90: true,
  elastic: true,
  intensity: 0.2,
  gamma: 0.3,
  noise: 0.05,
};

describe('geometry', () => {
  it.each([
    [-3, 4, 3],
    [-1, 4, 1],
    [0, 4, 0],
    [3, 4, 3],
    [4, 4, 2],
    [7, 4, 1],
    [9, 4, 3],
    [5, 1, 0],
  ])('reflectIndex(%i, %i) = %i', (i, n, expected) => expect(reflectIndex(i, n)).toBe(expected));

  it('crop reflects outside the image (a patch larger than the image)', () => {
    const out = crop(small, -1, -1, 4, 5);
    expect([out.height, out.width, ...out.data]).toEqual([
      4, 5, 5, 4, 5, 6, 5, 2, 1, 2, 3, 2, 5, 4, 5, 6, 5, 2, 1, 2, 3, 2,
    ]);
  });

  it.each([
    ['flip horizontal twice', (x: HWC<Float32Array>) => flip(flip(x, 'horizontal'), 'horizontal')],
    ['flip vertical twice', (x: HWC<Float32Array>) => flip(flip(x, 'vertical'), 'vertical')],
    ['rotate90 four times', (x: HWC<Float32Array>) => rotate90(rotate90(rotate90(rotate90(x, 1), 1), 1), 1)],
    ['rotate 1 then 3', (x: HWC<Float32Array>) => rotate90(rotate90(x, 1), 3)],
    ['rotate 2 = both flips', (x: HWC<Float32Array>) => flip(flip(rotate90(x, 2), 'horizontal'), 'vertical')],
    ['transpose twice', (x: HWC<Float32Array>) => transpose(transpose(x))],
    [
      'zero elastic field',
      (x: HWC<Float32Array>) =>
        warp(x, elasticField(Array(9).fill(0), Array(9).fill(0), 3, x.height, x.width), 'bilinear'),
    ],
  ])('%s is the identity (RGB, HWC)', (_, fn) => {
    expect(same(fn(rgb), rgb)).toBe(true);
  });

  it.each([
    ['one flip', (x: HWC<Float32Array>) => flip(x, 'horizontal')],
    ['one rotation', (x: HWC<Float32Array>) => rotate90(x, 1)],
    [
      'a non-zero elastic field',
      (x: HWC<Float32Array>) =>
        warp(x, elasticField(Array(9).fill(1.5), Array(9).fill(0), 3, x.height, x.width), 'bilinear'),
    ],
  ])('%s is not (negative control)', (_, fn) => {
    expect(same(fn(rgb), rgb)).toBe(false);
  });

  it('rotate90 turns counter-clockwise and swaps the shape', () => {
    const out = rotate90(small, 1);
    expect([out.height, out.width, ...out.data]).toEqual([3, 2, 3, 6, 2, 5, 1, 4]);
  });

  it('flipAxis and quarterTurns: one code path for images and volumes (a volume turns slice by slice)', () => {
    // A 2x2x3 volume of 2 channels: each voxel's value encodes (z, y, x, channel).
    const shape = [2, 2, 3];
    const vol = Float32Array.from({ length: 24 }, (_, i) => {
      const [v, ch] = [Math.floor(i / 2), i % 2];
      return 1000 * Math.floor(v / 6) + 100 * (Math.floor(v / 3) % 2) + 10 * (v % 3) + ch;
    });
    const slice = (data: Float32Array, z: number, h: number, w: number) =>
      Array.from(data.subarray(z * h * w * 2, (z + 1) * h * w * 2));
    const image = (z: number): HWC<Float32Array> => ({
      height: 2,
      width: 3,
      channels: 2,
      data: Float32Array.from(slice(vol, z, 2, 3)),
    });
    for (const k of [1, 2, 3]) {
      const turned = quarterTurns(vol, shape, 2, k);
      expect(turned.shape).toEqual(k === 2 ? [2, 2, 3] : [2, 3, 2]);
      const [h, w] = turned.shape.slice(1) as [number, number];
      for (const z of [0, 1]) expect(slice(turned.data, z, h, w)).toEqual(Array.from(rotate90(image(z), k).data));
    }
    // Negative control: the other direction is another array.
    expect(Array.from(quarterTurns(vol, shape, 2, 3).data)).not.toEqual(
      Array.from(quarterTurns(vol, shape, 2, 1).data),
    );
    // Flips: depth reverses the slices; width mirrors each row; channels stay together.
    const depth = flipAxis(vol, shape, 2, 0);
    expect(slice(depth, 0, 2, 3)).toEqual(slice(vol, 1, 2, 3));
    const width = flipAxis(vol, shape, 2, 2);
    expect(Array.from(width.subarray(0, 6))).toEqual([20, 21, 10, 11, 0, 1]);
    expect(Array.from(flipAxis(width, shape, 2, 2))).toEqual(Array.from(vol));
  });

  it('a constant elastic field is a shift (bicubic interpolation reproduces constants)', () => {
    const field = elasticField(Array(16).fill(2), Array(16).fill(-1), 4, 6, 7);
    expect(
      [...field.dx].every((v) => Math.abs(v - 2) < 1e-6) && [...field.dy].every((v) => Math.abs(v + 1) < 1e-6),
    ).toBe(true);
  });
});

describe('augment', () => {
  it.each([0, 1, 99, 2 ** 31])('seed %i: the same plan and bytes twice', (seed) => {
    const a = augment(seed, image, mask, all);
    const b = augment(seed, image, mask, all);
    expect(a.plan).toEqual(b.plan);
    expect(same(a.image, b.image) && same(a.mask, b.mask)).toBe(true);
  });

  it('different seeds give different results', () => {
    expect(same(augment(1, image, mask, all).image, augment(2, image, mask, all).image)).toBe(false);
  });

  it('does not modify its inputs', () => {
    const before = [Float32Array.from(image.data), Uint8Array.from(mask.data)];
    augment(5, image, mask, all);
    expect([
      Buffer.from(image.data.buffer).equals(Buffer.from(before[0]!.buffer)),
      Buffer.from(mask.data).equals(Buffer.from(before[1]!)),
    ]).toEqual([true, true]);
  });

  it('masks stay binary, patches have the requested shape, and the mask moves with the image', () => {
    for (let seed = 0; seed < 30; seed++) {
      const out = augment(seed, image, mask, { ...all, intensity: 0, gamma: 0, noise: 0 });
      expect([out.image.height, out.image.width, out.mask.height, out.mask.width]).toEqual([32, 32, 32, 32]);
      expect(out.mask.data.every((v) => v === 0 || v === 1)).toBe(true);
      // Nuclei are bright: with intensity changes off, masked pixels stay brighter on average.
      let inside = 0;
      let outside = 0;
      const n = out.mask.data.reduce((a, v) => a + v, 0);
      out.image.data.forEach((v, p) => (out.mask.data[p] ? (inside += v) : (outside += v)));
      if (n > 20) expect(inside / n).toBeGreaterThan((2 * outside) / (out.mask.data.length - n));
    }
  });

  it('non-square patches are only rotated by 0 or 180 degrees and keep their shape', () => {
    const rotations = new Set<number>();
    for (let seed = 0; seed < 40; seed++) {
      const plan = planAugmentation(seed, image, { patch: [16, 40], rotate90: true });
      rotations.add(plan.rotate);
      const out = applyAugmentation(plan, image, mask);
      expect([out.image.height, out.image.width]).toEqual([16, 40]);
    }
    expect([...rotations].sort()).toEqual([0, 2]);
  });

  it('square patches get all four rotations', () => {
    const rotations = new Set(
      Array.from(
        { length: 40 },
        (_, seed) => planAugmentation(seed, image, { patch: [16, 16], rotate90: true }).rotate,
      ),
    );
    expect([...rotations].sort()).toEqual([0, 1, 2, 3]);
  });

  it('with everything off, the result is the input', () => {
    const out = augment(3, image, mask, {});
    expect(same(out.image, image) && same(out.mask, mask)).toBe(true);
  });

  it('elastic alpha 0 is the identity (positive control), alpha 1 is not (negative control)', () => {
    const off = augment(3, image, mask, { elastic: { alpha: 0 } });
    const on = augment(3, image, mask, { elastic: { alpha: 1 } });
    expect(same(off.image, image) && same(off.mask, mask)).toBe(true);
    expect(same(on.image, image)).toBe(false);
    expect(same(on.mask, mask)).toBe(false);
  });

  it('a patch larger than the image is reflection-padded', () => {
    const out = augment(4, image, mask, { patch: [80, 96] });
    expect([out.image.height, out.image.width, out.plan.crop!.top <= 0, out.plan.crop!.left <= 0]).toEqual([
      80,
      96,
      true,
      true,
    ]);
  });

  it('gamma keeps the image range, intensity shifts and scales it', () => {
    const lo = Math.min(...image.data);
    const hi = Math.max(...image.data);
    const g = augment(8, image, mask, { gamma: 0.5 });
    expect(g.plan.gamma).not.toBe(1);
    expect([Math.min(...g.image.data), Math.max(...g.image.data)].map((v) => +v.toFixed(5))).toEqual(
      [lo, hi].map((v) => +v.toFixed(5)),
    );
    const i = augment(8, image, mask, { intensity: 0.3 });
    expect(Math.max(...i.image.data)).not.toBeCloseTo(hi, 3);
  });

  it('gamma is log-uniform in [e^-g, e^g], as the torch runner draws it (not uniform in [1-g, 1+g])', () => {
    const gammas = Array.from({ length: 2000 }, (_, seed) => planAugmentation(seed, image, { gamma: 0.5 }).gamma);
    expect(Math.min(...gammas)).toBeGreaterThanOrEqual(Math.exp(-0.5));
    expect(Math.max(...gammas)).toBeLessThanOrEqual(Math.exp(0.5));
    // Uniform in [0.5, 1.5] would reach below e^-0.5 = 0.61 and never above 1.5.
    expect(Math.min(...gammas)).toBeLessThan(0.62);
    expect(Math.max(...gammas)).toBeGreaterThan(1.6);
    expect(planAugmentation(3, image, { gamma: 0 }).gamma).toBe(1);
  });

  it('changing one option leaves the other random choices as they were', () => {
    const a = planAugmentation(21, image, { patch: [32, 32], flip: true, rotate90: true });
    const b = planAugmentation(21, image, { patch: [32, 32], flip: true, rotate90: true, elastic: true, gamma: 0.2 });
    expect([a.crop, a.flipHorizontal, a.flipVertical, a.rotate]).toEqual([
      b.crop,
      b.flipHorizontal,
      b.flipVertical,
      b.rotate,
    ]);
  });
});

describe("brightness and contrast relative to the image's own levels", () => {
  // The same picture recorded dim (a twentieth of the range, as a faint 16-bit fluorescence image)
  // and bright: after normalization the two are one input, and so must their augmentations be.
  const dim: HWC<Float32Array> = { ...image, data: image.data.map((v) => 0.05 * v + 0.01) };
  const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
  const options: AugmentOptions = { patch: [32, 32], flip: true, intensity: 0.3, gamma: 0.3 };

  it.each(['zscore', 'percentile'] as const)(
    '%s: a dim image and a bright one get the same normalized input (without a reference they do not)',
    (mode) => {
      const ref = normalizationParams(image, { mode });
      const refDim = normalizationParams(dim, { mode });
      for (const seed of [1, 2, 3]) {
        const bright = applyNormalization(augment(seed, image, mask, options, ref).image, ref);
        const faint = applyNormalization(augment(seed, dim, mask, options, refDim).image, refDim);
        expect(maxDiff(bright, faint)).toBeLessThan(1e-3);
      }
      // Negative control: brightness in the file's units moves the faint image 20x as far.
      const diffs = [1, 2, 3].map((seed) =>
        maxDiff(
          applyNormalization(augment(seed, image, mask, options).image, ref),
          applyNormalization(augment(seed, dim, mask, options).image, refDim),
        ),
      );
      expect(Math.max(...diffs)).toBeGreaterThan(0.5);
    },
  );

  it("in normalized values the change is v * contrast + brightness (the torch engine's formula)", () => {
    const ref = normalizationParams(image, { mode: 'percentile' });
    const changed = augment(5, image, mask, { patch: [32, 32], intensity: 0.3 }, ref);
    const plain = augment(5, image, mask, { patch: [32, 32] }, ref);
    expect(changed.plan.brightness).not.toBe(0);
    expect(changed.plan.contrast).not.toBe(1);
    const expected = applyNormalization(plain.image, ref).map(
      (v) => v * changed.plan.contrast + changed.plan.brightness,
    );
    expect(maxDiff(applyNormalization(changed.image, ref), expected)).toBeLessThan(1e-4);
  });

  // Three channels: the same plane at three gains; normalized per channel they are equal.
  const three: HWC<Float32Array> = {
    ...image,
    channels: 3,
    data: Float32Array.from(
      { length: image.data.length * 3 },
      (_, i) => [1, 0.2, 0.05][i % 3]! * image.data[(i / 3) | 0]!,
    ),
  };

  it('per channel: gamma bends each normalized channel alike (in the raw values the dim ones would barely bend)', () => {
    const ref = normalizationParams(three, { mode: 'percentile', perChannel: true });
    const options: AugmentOptions = { patch: [32, 32], gamma: 0.5 };
    const seed = [1, 2, 3, 4, 5].find((k) => Math.abs(Math.log(augment(k, three, mask, options).plan.gamma)) > 0.2);
    expect(seed).toBeDefined();
    const planes = (out: Float32Array) => [0, 1, 2].map((c) => out.filter((_, i) => i % 3 === c));
    const [p0, p1, p2] = planes(applyNormalization(augment(seed!, three, mask, options, ref).image, ref));
    expect(maxDiff(p0!, p1!)).toBeLessThan(1e-3);
    expect(maxDiff(p0!, p2!)).toBeLessThan(1e-3);
    // The change itself is there: the same plane without gamma differs.
    const plain = planes(applyNormalization(augment(seed!, three, mask, { patch: [32, 32] }, ref).image, ref));
    expect(maxDiff(p0!, plain[0]!)).toBeGreaterThan(0.02);
    // Negative control: over the raw values of all three channels the channels bend differently.
    const [r0, , r2] = planes(applyNormalization(augment(seed!, three, mask, options).image, ref));
    expect(maxDiff(r0!, r2!)).toBeGreaterThan(0.02);
  });

  it('per channel: each channel moves by its own scale, so normalized channels move alike', () => {
    const ref = normalizationParams(three, { mode: 'zscore', perChannel: true });
    const out = applyNormalization(augment(4, three, mask, { patch: [32, 32], intensity: 0.3 }, ref).image, ref);
    const plane = (c: number) => out.filter((_, i) => i % 3 === c);
    expect(maxDiff(plane(0), plane(1))).toBeLessThan(1e-3);
    expect(maxDiff(plane(0), plane(2))).toBeLessThan(1e-3);
    expect(
      maxDiff(
        plane(0),
        applyNormalization(augment(4, three, mask, { patch: [32, 32] }, ref).image, ref).filter((_, i) => i % 3 === 0),
      ),
    ).toBeGreaterThan(0.01);
  });
});

describe('appearance and scale augmentations', () => {
  const labels: HWC<Uint16Array> = { height: 48, width: 64, channels: 1, data: sample.labels };
  const mean = (d: ArrayLike<number>) => Array.from(d).reduce((a, b) => a + b, 0) / d.length;
  const variance = (d: ArrayLike<number>) => {
    const m = mean(d);
    return Array.from(d).reduce((a, b) => a + (b - m) ** 2, 0) / d.length;
  };

  it('cropResized zooms about pixel centres: a ramp gets twice as steep at 2x, the same at 1x', () => {
    const ramp: HWC<Float32Array> = {
      height: 8,
      width: 32,
      channels: 1,
      data: Float32Array.from({ length: 256 }, (_, i) => i % 32),
    };
    const same1 = cropResized(ramp, 0, 4, 8, 16, 8, 16, 'bilinear');
    expect(Array.from(same1.data.slice(0, 16))).toEqual(Array.from({ length: 16 }, (_, c) => 4 + c));
    const zoomed = cropResized(ramp, 0, 4, 4, 8, 8, 16, 'bilinear');
    const row = Array.from(zoomed.data.slice(0, 16));
    // Output pixel c samples 4 + (c + 0.5) / 2 - 0.5: steps of 0.5, starting at 3.75.
    expect(row[0]).toBeCloseTo(3.75, 5);
    for (let c = 1; c < 16; c++) expect(row[c]! - row[c - 1]!).toBeCloseTo(0.5, 5);
  });

  it('scale zooms within [1/s, s], keeps the patch size, and moves labels without mixing them', () => {
    const zooms = Array.from({ length: 60 }, (_, seed) => augment(seed, image, labels, { patch: [32, 32], scale: 2 }));
    for (const z of zooms) {
      expect(z.plan.zoom).toBeGreaterThanOrEqual(0.5);
      expect(z.plan.zoom).toBeLessThanOrEqual(2);
      expect([z.image.height, z.image.width, z.mask.height, z.mask.width]).toEqual([32, 32, 32, 32]);
      // Nearest for labels: every value is one of the source's ids.
      const ids = new Set(sample.labels);
      expect(Array.from(z.mask.data).every((v) => ids.has(v))).toBe(true);
    }
    expect(zooms.some((z) => z.plan.zoom < 0.8) && zooms.some((z) => z.plan.zoom > 1.25)).toBe(true);
    // Negative control: without scale, no zoom.
    expect(augment(5, image, labels, { patch: [32, 32] }).plan.zoom).toBe(1);
  });

  it('zooming in makes objects bigger: fewer, larger label regions per patch', () => {
    const area = (zoom: number) => {
      const plan = {
        ...planAugmentation(1, image, { patch: [32, 32] }),
        zoom,
        resize: [32, 32] as const,
        crop: { top: 8, left: 16, height: Math.round(32 / zoom), width: Math.round(32 / zoom) },
      };
      const out = applyAugmentation(plan, image, labels).mask.data;
      return Array.from(out).filter((v) => v !== 0).length / new Set(Array.from(out).filter((v) => v !== 0)).size;
    };
    expect(area(2)).toBeGreaterThan(2 * area(1));
  });

  it('invert flips the sign of the normalized input, as inverting the image before z-scoring would', () => {
    const z = normalize(image, { mode: 'zscore' });
    const inverted: HWC<Float32Array> = { ...image, data: image.data.map((v) => 1 - v) };
    const zi = normalize(inverted, { mode: 'zscore' });
    const flipped = finishInput(z.data.slice(), { invert: true });
    for (let i = 0; i < flipped.length; i += 97) expect(flipped[i]).toBeCloseTo(zi.data[i]!, 4);
    expect(finishInput(z.data.slice(), { invert: false })).toEqual(z.data);
    // Percentile-normalized values (about [0, 1]) invert to 1 - v; not inverted, unchanged.
    const p = normalize(image, { mode: 'percentile' }).data;
    const pi = finishInput(p.slice(), { invert: true }, 'percentile');
    for (let i = 0; i < pi.length; i += 97) expect(pi[i]).toBeCloseTo(1 - p[i]!, 6);
    expect(finishInput(p.slice(), { invert: false }, 'percentile')).toEqual(p);
    const share =
      Array.from({ length: 200 }, (_, s) => planAugmentation(s, image, { invert: 0.5 }).invert).filter(Boolean).length /
      200;
    expect(share).toBeGreaterThan(0.35);
    expect(share).toBeLessThan(0.65);
    expect(Array.from({ length: 50 }, (_, s) => planAugmentation(s, image, {}).invert).some(Boolean)).toBe(false);
  });

  it('blur lowers the variance of the image, not its mean; the mask is untouched', () => {
    const seed = Array.from({ length: 50 }, (_, s) => s).find(
      (s) => planAugmentation(s, image, { blur: 3 }).blurSigma > 2,
    )!;
    const out = augment(seed, image, mask, { blur: 3 });
    expect(variance(out.image.data)).toBeLessThan(0.9 * variance(image.data));
    expect(mean(out.image.data)).toBeCloseTo(mean(image.data), 2);
    expect(same(out.mask, mask)).toBe(true);
  });

  it('gray makes the colour channels equal; color jitter changes them per channel; gray images are left alone', () => {
    const colour: HWC<Float32Array> = {
      height: 6,
      width: 6,
      channels: 3,
      data: Float32Array.from({ length: 108 }, (_, i) => ((i * 37) % 100) / 100),
    };
    const m3: HWC<Uint8Array> = { height: 6, width: 6, channels: 1, data: new Uint8Array(36) };
    const g = augment(1, colour, m3, { gray: 1 });
    for (let p = 0; p < 36; p++) expect(g.image.data[p * 3]).toBe(g.image.data[p * 3 + 2]);
    const c = augment(1, colour, m3, { color: 0.3 });
    expect(c.plan.colorGain.slice(0, 3).some((x) => Math.abs(x - 1) > 0.01)).toBe(true);
    expect(same(c.image, colour)).toBe(false);
    expect(same(augment(1, image, mask, { gray: 1, color: 0.3 }).image, image)).toBe(true);
  });

  it('the new options leave the older random choices as they were', () => {
    const a = planAugmentation(21, image, all);
    const b = planAugmentation(21, image, { ...all, invert: 0.5, blur: 2, color: 0.2, gray: 0.3 });
    expect([
      a.crop,
      a.flipHorizontal,
      a.flipVertical,
      a.rotate,
      a.elastic,
      a.gamma,
      a.contrast,
      a.brightness,
      a.noiseStd,
    ]).toEqual([
      b.crop,
      b.flipHorizontal,
      b.flipVertical,
      b.rotate,
      b.elastic,
      b.gamma,
      b.contrast,
      b.brightness,
      b.noiseStd,
    ]);
  });
});

describe('normalize', () => {
  it('zscore gives mean 0 and std 1, and records the parameters', () => {
    const { data, params } = normalize(image, { mode: 'zscore' });
    const mean = data.reduce((a, v) => a + v, 0) / data.length;
    const std = Math.sqrt(data.reduce((a, v) => a + (v - mean) ** 2, 0) / data.length);
    expect([Math.abs(mean) < 1e-5, Math.abs(std - 1) < 1e-4, params.mode, params.offset.length]).toEqual([
      true,
      true,
      'zscore',
      1,
    ]);
    expect(Buffer.from(applyNormalization(image, params).buffer).equals(Buffer.from(data.buffer))).toBe(true);
  });

  it('minmax maps to [0, 1]; per channel gives one offset per channel', () => {
    const { data, params } = normalize(rgb, { mode: 'minmax', perChannel: true });
    expect([Math.min(...data), Math.max(...data)]).toEqual([0, 1]);
    expect([params.offset, params.scale]).toEqual([
      [0, 1, 2],
      [57, 57, 57],
    ]);
  });

  it('percentile puts the 1st percentile at 0 and the 99.8th at 1 (numpy.percentile, linear)', () => {
    // 0..999: numpy.percentile(range(1000), [1, 99.8]) = [9.99, 997.002].
    const ramp: HWC<Float32Array> = {
      height: 10,
      width: 100,
      channels: 1,
      data: Float32Array.from({ length: 1000 }, (_, i) => 999 - i),
    };
    const { data, params } = normalize(ramp, { mode: 'percentile' });
    expect(params.mode).toBe('percentile');
    expect(params.offset[0]).toBeCloseTo(9.99, 4);
    expect(params.offset[0]! + params.scale[0]!).toBeCloseTo(997.002, 3);
    expect(data[999 - 10]).toBeCloseTo((10 - 9.99) / (997.002 - 9.99), 6);
    // A saturated pixel: the z-score's scale grows with it, the percentiles' barely moves
    // (the negative control: the same image without them).
    const spiked = Float32Array.from(ramp.data);
    spiked[0] = 100_000;
    const scaleOf = (mode: 'zscore' | 'percentile', d: Float32Array) =>
      normalize({ ...ramp, data: d }, { mode }).params.scale[0]!;
    expect(scaleOf('percentile', spiked) / scaleOf('percentile', ramp.data)).toBeLessThan(1.01);
    expect(scaleOf('zscore', spiked) / scaleOf('zscore', ramp.data)).toBeGreaterThan(10);
  });

  it('percentile of a nearly flat image (over 99.8% alike) spans to its brightest pixel, not to epsilon', () => {
    const sparse: HWC<Float32Array> = { height: 10, width: 100, channels: 1, data: new Float32Array(1000) };
    sparse.data[500] = 1000;
    const { data, params } = normalize(sparse, { mode: 'percentile' });
    expect([params.offset[0], params.scale[0], data[500], data[0]]).toEqual([0, 1000, 1, 0]);
    // The percentiles alone would put the bright pixel at 1000 / 1e-6.
    expect(percentiles(sparse, undefined, [1, 99.8])).toEqual([0, 0]);
  });

  it('percentile per channel: each channel its own', () => {
    const { params } = normalize(rgb, { mode: 'percentile', perChannel: true });
    const one = normalize(
      { ...rgb, channels: 1, data: rgb.data.filter((_, i) => i % 3 === 1) },
      { mode: 'percentile' },
    );
    expect(params.offset[1]).toBeCloseTo(one.params.offset[0]!, 6);
    expect(params.scale[1]).toBeCloseTo(one.params.scale[0]!, 6);
    expect(params.offset[0]).not.toBeCloseTo(params.offset[1]!, 3);
  });

  it.each(['zscore', 'percentile', 'minmax'] as const)('%s of a flat image is all zeros (epsilon, no NaN)', (mode) => {
    const flat: HWC<Float32Array> = { height: 2, width: 2, channels: 1, data: new Float32Array(4).fill(0.3) };
    const { data, params } = normalize(flat, { mode });
    expect([...data]).toEqual([0, 0, 0, 0]);
    expect(params.scale).toEqual([1e-6]);
  });

  it('none is the identity', () => {
    expect(normalize(rgb, { mode: 'none' })).toEqual({
      data: rgb.data,
      params: { mode: 'none', offset: [0], scale: [1] },
    });
  });
});
