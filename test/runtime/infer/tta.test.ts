import { describe, expect, it } from 'vitest';
import type { HWC } from '../../../src/runtime/data/index.js';
import { predictImage, progression, type SegmentationModel } from '../../../src/runtime/infer/index.js';
import { averageOverSymmetries } from '../../../src/runtime/infer/predict.js';

/** A fake network on 1-channel tiles: `f(tile, y, x)` per pixel, squashed to a probability. */
function fakeModel(f: (t: HWC<Float32Array>, y: number, x: number) => number): SegmentationModel {
  return {
    info: {
      path: 'fake',
      format: 'onnx',
      name: 'fake',
      inputChannels: 1,
      classes: 1,
      activation: 'sigmoid',
      threshold: 0.5,
      classNames: undefined,
      normalization: 'none',
      sizes: { height: progression(1, 1), width: progression(1, 1) },
      margin: [0, 0],
    },
    engine: 'fake',
    async run(t) {
      const data = new Float32Array(t.height * t.width);
      for (let y = 0; y < t.height; y++)
        for (let x = 0; x < t.width; x++) data[y * t.width + x] = 1 / (1 + Math.exp(-f(t, y, x)));
      return { height: t.height, width: t.width, channels: 1, data };
    },
    close: async () => {},
  };
}

const at = (t: HWC<Float32Array>, y: number, x: number) =>
  t.data[Math.min(t.height - 1, Math.max(0, y)) * t.width + Math.min(t.width - 1, Math.max(0, x))]!;
/** A 3x3 mean (edges clamped): the same whichever way up the image is. */
const symmetric = (t: HWC<Float32Array>, y: number, x: number) => {
  let s = 0;
  for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) s += at(t, y + dy, x + dx);
  return 4 * (s / 9 - 0.5);
};
/** Looks one pixel to the left and two down: it cares which way up the image is. */
const lopsided = (t: HWC<Float32Array>, y: number, x: number) => 4 * (at(t, y + 2, x - 1) - 0.5);

function image(h: number, w: number, seed = 1): HWC<Float32Array> {
  let s = seed;
  const data = Float32Array.from({ length: h * w }, () => (s = (s * 16807) % 2147483647) / 2147483647);
  return { height: h, width: w, channels: 1, data };
}

describe('test-time augmentation', () => {
  it.each([
    [24, 24],
    [20, 33],
  ])('a model that does not care which way up (%ix%i) gives the plain prediction', async (h, w) => {
    const model = fakeModel(symmetric);
    const img = image(h, w);
    const plain = await predictImage(model, img);
    const tta = await predictImage(model, img, { tta: true });
    expect(tta.probabilities.length).toBe(plain.probabilities.length);
    let worst = 0;
    for (let i = 0; i < plain.probabilities.length; i++)
      worst = Math.max(worst, Math.abs(tta.probabilities[i]! - plain.probabilities[i]!));
    expect(worst).toBeLessThan(1e-6);
    expect(tta.classMap).toEqual(plain.classMap);
  });

  it('negative control: a lopsided model gives another, averaged prediction', async () => {
    const model = fakeModel(lopsided);
    const img = image(20, 33);
    const plain = await predictImage(model, img);
    const tta = await predictImage(model, img, { tta: true });
    let worst = 0;
    for (let i = 0; i < plain.probabilities.length; i++)
      worst = Math.max(worst, Math.abs(tta.probabilities[i]! - plain.probabilities[i]!));
    expect(worst).toBeGreaterThan(0.05);
  });

  it('every output goes back where it came from: the identity averages to itself, channels kept', async () => {
    const img: HWC<Float32Array> = {
      height: 5,
      width: 7,
      channels: 2,
      data: Float32Array.from({ length: 70 }, (_, i) => i),
    };
    const out = await averageOverSymmetries(img, async (x) => x);
    expect(Array.from(out.data)).toEqual(Array.from(img.data));
    expect([out.height, out.width, out.channels]).toEqual([5, 7, 2]);
  });
});
