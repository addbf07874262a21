import { describe, expect, it } from 'vitest';
import { progression } from '../../../src/runtime/infer/sizes.js';
import { planAxis } from '../../../src/runtime/infer/tiling.js';
import { predictVolume, type VolumeModel } from '../../../src/runtime/infer/volume.js';

/**
 * A "network" that maps each voxel on its own (sigmoid of the input) and, like an unpadded
 * network, drops `margin` voxels on each side: any correct tiling reproduces the untiled result.
 * It accepts sizes first + k * divisor per axis.
 */
function pointwise(
  divisor: [number, number, number],
  calls: number[][] = [],
  margin = 0,
  first = divisor,
): VolumeModel {
  return {
    info: {
      path: 'fake',
      format: 'onnx',
      name: 'fake',
      inputChannels: 1,
      classes: 1,
      activation: 'sigmoid',
      threshold: 0.5,
      normalization: 'none',
      sizes: [0, 1, 2].map((a) => progression(first[a]!, divisor[a]!)) as never,
      margin: [margin, margin, margin],
    },
    engine: 'test',
    async run(tile, dims) {
      calls.push([...dims]);
      expect(dims.every((n, a) => (n - first[a]!) % divisor[a]! === 0 && n >= first[a]!)).toBe(true);
      const out = dims.map((n) => n - 2 * margin) as [number, number, number];
      const data = new Float32Array(out[0] * out[1] * out[2]);
      for (let z = 0; z < out[0]; z++)
        for (let y = 0; y < out[1]; y++)
          for (let x = 0; x < out[2]; x++)
            data[(z * out[1] + y) * out[2] + x] =
              1 / (1 + Math.exp(-tile[((z + margin) * dims[1] + y + margin) * dims[2] + x + margin]!));
      return { data, dims: out };
    },
    close: async () => {},
  };
}

describe('3D tiling', () => {
  it.each([
    [[20, 64], 4],
    [[96, 40], 8],
  ])("volumes use the images' planner: planAxis(%j) covers the axis on the shift grid", ([size, tile], step) => {
    const tiles = planAxis(size!, progression(step, step), { tile: tile!, overlap: 0.25, margin: 0 }).tiles;
    const starts = tiles.map((t) => t.outStart);
    expect(starts[0]).toBe(0);
    expect(tiles[tiles.length - 1]!.keepEnd).toBe(size);
    expect(starts[starts.length - 1]! + tiles[tiles.length - 1]!.inSize).toBeLessThan(Math.max(size!, tile!) + step);
    for (const s of starts) expect(s % step).toBe(0);
    for (let i = 1; i < tiles.length; i++) expect(tiles[i]!.keepStart).toBeLessThanOrEqual(tiles[i - 1]!.keepEnd);
  });

  it('tiled and untiled predictions of a pointwise model are identical (odd sizes, padding, overlaps)', async () => {
    const dims = [13, 37, 29] as const;
    const volume = Float32Array.from({ length: dims[0] * dims[1] * dims[2] }, (_, i) => Math.sin(i * 0.37) * 3);
    const calls: number[][] = [];
    const tiled = await predictVolume(pointwise([4, 8, 8], calls), volume, dims, { tile: 8 });
    const whole = await predictVolume(pointwise([4, 8, 8]), volume, dims, { tile: 256 });
    expect(calls.length).toBeGreaterThan(8);
    let worst = 0;
    for (let i = 0; i < volume.length; i++)
      worst = Math.max(worst, Math.abs(tiled.probabilities[i]! - whole.probabilities[i]!));
    expect(worst).toBeLessThan(1e-6);
    expect(Array.from(tiled.classMap)).toEqual(Array.from(whole.classMap));
    // Negative control: the probabilities are the input's sigmoid, voxel for voxel.
    expect(whole.probabilities[5]).toBeCloseTo(1 / (1 + Math.exp(-volume[5]!)), 6);
  });

  it('an unpadded network (output = input less a margin): tiles reach past their outputs, and tiled == untiled', async () => {
    const dims = [11, 30, 23] as const;
    const volume = Float32Array.from({ length: dims[0] * dims[1] * dims[2] }, (_, i) => Math.cos(i * 0.21) * 2);
    const calls: number[][] = [];
    const tiled = await predictVolume(pointwise([4, 4, 4], calls, 3, [10, 10, 10]), volume, dims, { tile: 8 });
    const whole = await predictVolume(pointwise([4, 4, 4], [], 3, [10, 10, 10]), volume, dims, { tile: 256 });
    expect(calls.length).toBeGreaterThan(4);
    let worst = 0;
    for (let i = 0; i < volume.length; i++)
      worst = Math.max(worst, Math.abs(tiled.probabilities[i]! - whole.probabilities[i]!));
    expect(worst).toBeLessThan(1e-6);
    // Negative control: every voxel is the sigmoid of its own input (the margin was not misplaced).
    for (const i of [0, 1234, volume.length - 1])
      expect(tiled.probabilities[i]).toBeCloseTo(1 / (1 + Math.exp(-volume[i]!)), 5);
  });
});
