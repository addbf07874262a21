import { describe, expect, it } from 'vitest';
import { addCounts, instanceScores, matchInstances } from '../../../src/runtime/eval/index.js';

/** Rows of digits/letters -> label values (0-9, then a=10...). */
const labels = (...rows: string[]) => Uint16Array.from(rows.join(''), (ch) => parseInt(ch, 36));

// Truth: two 2x4 nuclei (ids 1 and 2) side by side, one empty row between them, and a 2x2 one (id 3).
const truth = labels(
  '11110222200', //
  '11110222200',
  '00000000000',
  '00000000330',
  '00000000330',
);

describe('instance matching at IoU > 0.5', () => {
  it.each([
    // [name, prediction, truth count, predicted count, matched, F1]
    ['perfect', truth, 3, 3, 3, 1],
    [
      'perfect with other, non-consecutive ids',
      labels('77770555500', '77770555500', '00000000000', '00000000990', '00000000990'),
      3,
      3,
      3,
      1,
    ],
    [
      'split: one nucleus in two halves (IoU 0.5 each, not above)',
      labels('11440222200', '11440222200', '00000000000', '00000000330', '00000000330'),
      3,
      4,
      2,
      4 / 7,
    ],
    [
      'split unevenly: the larger part (IoU 0.75) still matches',
      labels('11140222200', '11140222200', '00000000000', '00000000330', '00000000330'),
      3,
      4,
      3,
      6 / 7,
    ],
    [
      'merged: two nuclei predicted as one (IoU 8/18 each)',
      labels('11111111100', '11111111100', '00000000000', '00000000330', '00000000330'),
      3,
      2,
      1,
      2 / 5,
    ],
    [
      'missed: nothing where nucleus 3 is',
      labels('11110222200', '11110222200', '00000000000', '00000000000', '00000000000'),
      3,
      2,
      2,
      4 / 5,
    ],
    [
      'an extra false positive',
      labels('11110222200', '11110222200', '00000000000', '50000000330', '00000000330'),
      3,
      4,
      3,
      6 / 7,
    ],
    [
      'negative control: shifted by two columns (IoU 1/3 for the nuclei)',
      labels('00111102222', '00111102222', '00000000000', '00000000003', '00000000003'),
      3,
      3,
      0,
      0,
    ],
  ])('%s', (_name, predicted, t, p, m, f1) => {
    const c = matchInstances(truth, predicted);
    expect(c).toEqual({ truth: t, predicted: p, matched: m });
    expect(instanceScores(c).f1).toBeCloseTo(f1, 12);
  });

  it('scores: precision matched/predicted, recall matched/truth; empty vs empty is 1, one-sided empty is 0', () => {
    expect(instanceScores({ truth: 4, predicted: 2, matched: 2 })).toEqual({ precision: 1, recall: 0.5, f1: 2 / 3 });
    expect(instanceScores({ truth: 0, predicted: 0, matched: 0 })).toEqual({ precision: 1, recall: 1, f1: 1 });
    expect(instanceScores({ truth: 3, predicted: 0, matched: 0 })).toEqual({ precision: 0, recall: 0, f1: 0 });
    expect(instanceScores({ truth: 0, predicted: 2, matched: 0 })).toEqual({ precision: 0, recall: 0, f1: 0 });
  });

  it('pooled counts are sums, so pooled F1 is not the mean of per-image F1', () => {
    const a = { truth: 10, predicted: 10, matched: 10 };
    const b = { truth: 1, predicted: 1, matched: 0 };
    const pooled = instanceScores(addCounts([a, b]));
    expect(pooled.f1).toBeCloseTo(20 / 22, 12);
    expect((instanceScores(a).f1 + instanceScores(b).f1) / 2).toBe(0.5);
  });

  it('refuses maps of different sizes and thresholds below 0.5 (matches would not be unique)', () => {
    expect(() => matchInstances(truth, truth.subarray(1))).toThrow(RangeError);
    expect(() => matchInstances(truth, truth, 0.3)).toThrow(/unique/);
  });
});
