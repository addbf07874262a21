import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeGray, writeLabels, writeMask } from '../../../src/runtime/data/index.js';
import { tuneSplitFolder } from '../../../src/runtime/eval/tune-split.js';
import { progression, type ModelInfo, type SegmentationModel } from '../../../src/runtime/infer/index.js';

const height = 8;
const width = 24;

/**
 * A fake boundary network that sees two touching nuclei in every image, an outline between them
 * (column 12): the left one's interior confident (P 0.9), the right one's only 0.65.
 */
function fakeBoundaryModel(info: Partial<ModelInfo> = {}): SegmentationModel {
  const data = new Float32Array(height * width * 3);
  for (let p = 0; p < height * width; p++) {
    const y = Math.floor(p / width);
    const x = p % width;
    const inside = y >= 1 && y < 7 && x >= 1 && x < 23;
    const interior = !inside ? 0 : x < 12 ? 0.9 : x === 12 ? 0.3 : 0.65;
    data.set(inside ? [0.02, interior, 0.98 - interior] : [1, 0, 0], p * 3);
  }
  return {
    info: {
      path: 'fake.onnx',
      format: 'onnx',
      name: 'fake',
      inputChannels: 1,
      classes: 3,
      activation: 'softmax',
      threshold: 0.5,
      classNames: undefined,
      normalization: 'none',
      sizes: { height: progression(height, 1), width: progression(width, 1) },
      margin: [0, 0],
      instances: 'boundary',
      ...info,
    },
    engine: 'fake',
    run: async () => ({ height, width, channels: 3, data }),
    close: async () => {},
  };
}

let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'unetc-tune-'));
  for (const sub of ['images', 'masks', 'labels']) mkdirSync(join(dir, sub));
  const labels = new Uint16Array(height * width);
  for (let y = 1; y < 7; y++) for (let x = 1; x < 23; x++) labels[y * width + x] = x < 12 ? 1 : 2;
  await writeGray(join(dir, 'images', 'a.png'), { width, height, data: new Float32Array(height * width) });
  await writeMask(
    join(dir, 'masks', 'a.png'),
    { width, height, data: labels.map((v) => (v ? 1 : 0)) },
    { binary: true },
  );
  await writeLabels(join(dir, 'labels', 'a.png'), { width, height, data: labels });
  mkdirSync(join(dir, 'nolabels', 'images'), { recursive: true });
  mkdirSync(join(dir, 'nolabels', 'masks'));
  await writeGray(join(dir, 'nolabels', 'images', 'a.png'), { width, height, data: new Float32Array(height * width) });
  await writeMask(
    join(dir, 'nolabels', 'masks', 'a.png'),
    { width, height, data: new Uint8Array(height * width) },
    {
      binary: true,
    },
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const grid = { seedThresholds: [0.6, 0.7], waistDepths: [1, 1.5] };

describe('tuneSplit', () => {
  it("finds the seed threshold that splits the pair; the model's own default (0.7) merges it", async () => {
    const r = await tuneSplitFolder(fakeBoundaryModel(), dir, { grid });
    if (!('tuning' in r)) throw new Error(`problems: ${r.problems.join('; ')}`);
    const t = r.tuning;
    expect(t.images).toBe(1);
    expect(t.trials.map((x) => [x.split.seedThreshold, x.split.waistDepth])).toEqual([
      [0.6, 1],
      [0.6, 1.5],
      [0.7, 1],
      [0.7, 1.5],
    ]);
    expect(t.best.split).toEqual({ seedThreshold: 0.6, waistDepth: 1 });
    expect(t.best.pooled).toMatchObject({ truth: 2, predicted: 2, matched: 2, f1: 1 });
    // Negative control: the default merges the two nuclei into one instance, which matches neither.
    expect(t.current.split).toEqual({ seedThreshold: 0.7, waistDepth: 1.5 });
    expect(t.current.pooled).toMatchObject({ truth: 2, predicted: 1, matched: 0, f1: 0 });
  });

  it("scores the model's declared split as its own, off the grid too", async () => {
    const model = fakeBoundaryModel({ split: { seedThreshold: 0.62, waistDepth: 2 } });
    const r = await tuneSplitFolder(model, dir, { grid });
    if (!('tuning' in r)) throw new Error('problems');
    expect(r.tuning.current.split).toEqual({ seedThreshold: 0.62, waistDepth: 2 });
    expect(r.tuning.current.pooled.f1).toBe(1);
    expect(r.tuning.trials).toHaveLength(4);
  });

  it('refuses a model without a boundary head, and a folder without labels/ (naming it)', async () => {
    const plain = fakeBoundaryModel({ instances: undefined, classes: 1, activation: 'sigmoid' });
    await expect(tuneSplitFolder(plain, dir, { grid })).rejects.toThrow(/fake\.onnx: has no boundary head/);
    await expect(tuneSplitFolder(fakeBoundaryModel(), join(dir, 'nolabels'), { grid })).rejects.toThrow(
      /nolabels\/labels: missing: tuning the split/,
    );
  });
});
