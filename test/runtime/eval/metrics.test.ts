import { describe, expect, it } from 'vitest';
import { classMap, ConfusionCounts } from '../../../src/runtime/eval/metrics.js';
import { learningRate } from '../../../src/runtime/train/schedule.js';

describe('metrics', () => {
  it.each([
    ['perfect', [0, 1, 1, 0], [0, 1, 1, 0], 1, 1, 1],
    ['half the foreground found', [0, 1, 0, 0], [0, 1, 1, 0], 2 / 3, 1 / 2, 3 / 4],
    ['one false positive', [1, 1, 1, 0], [0, 1, 1, 0], 4 / 5, 2 / 3, 3 / 4],
    ['everything wrong (negative control)', [1, 0, 0, 1], [0, 1, 1, 0], 0, 0, 0],
    ['both empty: the empty-mask rule gives 1', [0, 0, 0, 0], [0, 0, 0, 0], 1, 1, 1],
    ['truth empty, prediction not', [0, 1, 0, 0], [0, 0, 0, 0], 0, 0, 3 / 4],
  ])('%s', (_name, predicted, truth, dice, iou, accuracy) => {
    const s = new ConfusionCounts(2).add(predicted, truth).scores();
    expect(s.dice).toBeCloseTo(dice, 10);
    expect(s.iou).toBeCloseTo(iou, 10);
    expect(s.pixelAccuracy).toBeCloseTo(accuracy, 10);
  });

  it('multi-class: the mean leaves out the background', () => {
    const s = new ConfusionCounts(3).add([0, 1, 2, 2], [0, 1, 2, 1]).scores();
    expect(s.perClass.map((c) => c.dice)).toEqual([1, 2 / 3, 2 / 3]);
    expect(s.dice).toBeCloseTo(2 / 3, 10);
  });

  it('counts accumulate over images (not a mean of per-image scores)', () => {
    const s = new ConfusionCounts(2).add([1, 0], [1, 0]).add([0, 0], [1, 1]).scores();
    expect(s.dice).toBeCloseTo(2 / 4, 10);
  });

  it('class maps: threshold for one channel, argmax for several', () => {
    expect(Array.from(classMap([0.2, 0.7, 0.5], 1))).toEqual([0, 1, 0]);
    expect(Array.from(classMap([0.1, 0.9, 0.6, 0.4, 0.3, 0.3, 0.4], 2).slice(0, 3))).toEqual([1, 0, 0]);
  });
});

describe('learning-rate schedules', () => {
  it.each([
    ['constant', 50, 0.1],
    ['cosine', 0, 0.1],
    ['cosine', 50, 0.05],
    ['cosine', 100, 0],
    ['poly', 0, 0.1],
    ['poly', 50, 0.1 * 0.5 ** 0.9],
  ] as const)('%s at step %i of 100', (name, step, expected) => {
    expect(learningRate(name, 0.1, step, 100)).toBeCloseTo(expected, 10);
  });
});
