import { describe, expect, it } from 'vitest';
import { toChannelsFirst, toChannelsLast } from '../../../src/runtime/infer/layout.js';

describe('channels-last <-> channels-first', () => {
  it('moves the channel axis of a batch of volumes and back', () => {
    // [n 2, d 2, h 1, w 3, c 2]: value = 1000 n + 100 d + 10 w + c.
    const spatial = [2, 1, 3];
    const last = Float32Array.from({ length: 24 }, (_, i) => {
      const [b, v, k] = [Math.floor(i / 12), Math.floor(i / 2) % 6, i % 2];
      return 1000 * b + 100 * Math.floor(v / 3) + 10 * (v % 3) + k;
    });
    const first = toChannelsFirst(last, 2, spatial, 2);
    // Batch 0, channel 1: every voxel's channel-1 value in D, H, W order.
    expect(Array.from(first.subarray(6, 12))).toEqual([1, 11, 21, 101, 111, 121]);
    expect(Array.from(first.subarray(12, 18))).toEqual([1000, 1010, 1020, 1100, 1110, 1120]);
    expect(Array.from(toChannelsLast(first, 2, spatial, 2))).toEqual(Array.from(last));
    // Negative control: one channel is no transpose at all, two are.
    expect(Array.from(toChannelsFirst(last, 2, [2, 1, 6], 1))).toEqual(Array.from(last));
    expect(Array.from(first)).not.toEqual(Array.from(last));
  });
});
