import { describe, expect, it } from 'vitest';
import { predictVolume, tileStarts, type VolumeModel } from '../../../src/runtime/infer/volume.js';

/** A "network" that maps each voxel on its own (sigmoid of the input): any correct tiling reproduces the untiled result. */
function pointwise(divisor: [number, number, number], calls: number[][] = []): VolumeModel {
  return {
    info: { path: 'fake', format: 'onnx', name: 'fake', inputChannels: 1, classes: 1, activation: 'sigmoid', threshold: 0.5, normalization: 'none', divisor },
    engine: 'test',
    async run(tile, dims) {
      calls.push([...dims]);
      expect(dims.every((n, a) => n % divisor[a]! === 0)).toBe(true);
      return tile.map((v) => 1 / (1 + Math.exp(-v)));
    },
    close: async () => {},
  };
}

describe('3D tiling', () => {
  it.each([
    [[20, 64], 4],
    [[96, 40], 8],
  ])('tileStarts(%j) cover the axis on the shift grid', ([size, tile], step) => {
    const starts = tileStarts(size!, tile!, 0.25, step);
    expect(starts[0]).toBe(0);
    expect(starts[starts.length - 1]! + tile!).toBe(Math.max(size!, tile!));
    for (const s of starts) expect(s % step).toBe(0);
    for (let i = 1; i < starts.length; i++) expect(starts[i]! - starts[i - 1]!).toBeLessThanOrEqual(tile!);
  });

  it('tiled and untiled predictions of a pointwise model are identical (odd sizes, padding, overlaps)', async () => {
    const dims = [13, 37, 29] as const;
    const volume = Float32Array.from({ length: dims[0] * dims[1] * dims[2] }, (_, i) => Math.sin(i * 0.37) * 3);
    const calls: number[][] = [];
    const tiled = await predictVolume(pointwise([4, 8, 8], calls), volume, dims, { tile: 8 });
    const whole = await predictVolume(pointwise([4, 8, 8]), volume, dims, { tile: 256 });
    expect(calls.length).toBeGreaterThan(8);
    let worst = 0;
    for (let i = 0; i < volume.length; i++) worst = Math.max(worst, Math.abs(tiled.probabilities[i]! - whole.probabilities[i]!));
    expect(worst).toBeLessThan(1e-6);
    expect(Array.from(tiled.classMap)).toEqual(Array.from(whole.classMap));
    // Negative control: the probabilities are the input's sigmoid, voxel for voxel.
    expect(whole.probabilities[5]).toBeCloseTo(1 / (1 + Math.exp(-volume[5]!)), 6);
  });
});
