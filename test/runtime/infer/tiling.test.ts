import { describe, expect, it } from 'vitest';
import { Random } from '../../../src/util/random.js';
import type { HWC } from '../../../src/runtime/data/index.js';
import {
  fromList,
  parseValidSizes,
  planAxis,
  progression,
  runTiled,
  TilingError,
  type SizeRule,
  type TileRunner,
} from '../../../src/runtime/infer/index.js';
import { TileBlend, tileGrid, type AxisTile } from '../../../src/runtime/infer/tiling.js';

function randomImage(height: number, width: number, channels: number, seed = 1): HWC<Float32Array> {
  const rng = new Random(seed);
  return { height, width, channels, data: Float32Array.from({ length: height * width * channels }, () => rng.next()) };
}

/** A fake network: checks the tile is an accepted size, records it, and applies `f` per pixel after losing `margin` per side. */
function fakeModel(
  rules: { height: SizeRule; width: SizeRule },
  margin: [number, number],
  f: (t: HWC<Float32Array>, y: number, x: number, c: number) => number,
) {
  const seen: [number, number][] = [];
  const run: TileRunner = async (t) => {
    expect(rules.height.atLeast(t.height)).toBe(t.height);
    expect(rules.width.atLeast(t.width)).toBe(t.width);
    seen.push([t.height, t.width]);
    const [mh, mw] = margin;
    const h = t.height - 2 * mh;
    const w = t.width - 2 * mw;
    const data = new Float32Array(h * w * t.channels);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        for (let c = 0; c < t.channels; c++) data[(y * w + x) * t.channels + c] = f(t, y + mh, x + mw, c);
    return { height: h, width: w, channels: t.channels, data };
  };
  return { run, seen };
}

const at = (t: HWC<Float32Array>, y: number, x: number, c: number) => t.data[(y * t.width + x) * t.channels + c]!;
const identity = at;
/** Reads the pixel to the right (the last column repeats): a one-pixel shift. */
const shifted = (t: HWC<Float32Array>, y: number, x: number, c: number) => at(t, y, Math.min(x + 1, t.width - 1), c);

const m16 = progression(16, 16);
const sixteen = { height: m16, width: m16 };
const valid2015 = { height: progression(188, 16), width: progression(188, 16) };
const fixed256 = { height: progression(256, 0), width: progression(256, 0) };
const anySize = { height: progression(1, 1), width: progression(1, 1) };

describe('runTiled gives the input back exactly through an identity network', () => {
  it.each([
    // [name, height, width, channels, rules, margin, tile, overlap, tiles at least]
    ['300x417, one padded tile', 300, 417, 1, sixteen, [0, 0], 512, 0.25, 1],
    ['300x417, tiles of 128', 300, 417, 1, sixteen, [0, 0], 128, 0.25, 12],
    ['300x417, tiles of 100 (rounded down to 96), overlap 0.5', 300, 417, 2, sixteen, [0, 0], 100, 0.5, 30],
    ['1000x700, tiles of 256, no overlap', 1000, 700, 3, sixteen, [0, 0], 256, 0, 12],
    ['1x1', 1, 1, 1, sixteen, [0, 0], 512, 0.25, 1],
    ['17x5', 17, 5, 1, sixteen, [0, 0], 512, 0.25, 1],
    ['fixed-size network (only 256), 300x417', 300, 417, 1, fixed256, [0, 0], 512, 0.25, 4],
    ['any size, tiles of 64', 150, 130, 1, anySize, [0, 0], 64, 0.3, 9],
    ["'valid' network (188 + 16k, margin 92), 300x417", 300, 417, 1, valid2015, [92, 92], 572, 0.25, 1],
    ["'valid' network, tiles of 300", 300, 417, 1, valid2015, [92, 92], 300, 0.25, 6],
  ] as const)('%s', async (_name, h, w, c, rules, margin, tile, overlap, minTiles) => {
    const image = randomImage(h, w, c);
    const model = fakeModel(rules, [...margin], identity);
    const out = await runTiled(image, model.run, { sizes: rules, margin, tile, overlap });
    expect([out.height, out.width, out.channels]).toEqual([h, w, c]);
    expect(model.seen.length).toBeGreaterThanOrEqual(minTiles);
    expect(Buffer.compare(Buffer.from(out.data.buffer), Buffer.from(image.data.buffer))).toBe(0);
  });

  it('pads 300x417 to 304x432 in one run', async () => {
    const model = fakeModel(sixteen, [0, 0], identity);
    await runTiled(randomImage(300, 417, 1), model.run, { sizes: sixteen });
    expect(model.seen).toEqual([[304, 432]]);
  });

  it('a per-pixel function comes through exactly too (2x + 1, several tiles)', async () => {
    const image = randomImage(300, 417, 1, 3);
    const model = fakeModel(sixteen, [0, 0], (t, y, x, c) => 2 * at(t, y, x, c) + 1);
    const out = await runTiled(image, model.run, { sizes: sixteen, tile: 128 });
    expect(out.data).toEqual(Float32Array.from(image.data, (v) => Math.fround(2 * v + 1)));
  });

  it.each([
    ['one tile', 512],
    ['several tiles', 128],
  ])('negative control: a network that shifts by one pixel does not give the input back (%s)', async (_name, tile) => {
    const image = randomImage(300, 417, 1, 5);
    const model = fakeModel(sixteen, [0, 0], shifted);
    const out = await runTiled(image, model.run, { sizes: sixteen, tile });
    let differ = 0;
    for (let i = 0; i < out.data.length; i++) if (out.data[i] !== image.data[i]) differ++;
    expect(differ).toBeGreaterThan(out.data.length / 2);
  });
});

describe('blending', () => {
  it('weights of neighbouring tiles sum to 1 across each overlap (a partition of unity)', () => {
    const plan = planAxis(1000, m16, { tile: 256, overlap: 0.25, margin: 0 });
    expect(plan.tiles.length).toBe(5);
    const sum = new Float64Array(1000);
    for (const t of plan.tiles)
      for (let i = t.keepStart; i < t.keepEnd; i++) sum[i] = sum[i]! + t.weights[i - t.keepStart]!;
    for (const s of sum) expect(s).toBeCloseTo(1, 12);
    expect(plan.tiles[0]!.keepStart).toBe(0);
    expect(plan.tiles.at(-1)!.keepEnd).toBe(1000);
  });

  it('hides seams: a network whose output differs by 1 between tiles gives a smooth blend', async () => {
    let calls = 0;
    const run: TileRunner = async (t) => ({ ...t, data: new Float32Array(t.data.length).fill(calls++ % 2) });
    const out = await runTiled(randomImage(200, 600, 1), run, { sizes: sixteen, tile: 256, overlap: 0.5 });
    let jump = 0;
    for (let x = 1; x < 600; x++)
      jump = Math.max(jump, Math.abs(out.data[100 * 600 + x]! - out.data[100 * 600 + x - 1]!));
    // A hard seam would jump by 1; a 128-pixel cosine ramp moves by at most pi/(2*128) per pixel.
    expect(jump).toBeLessThan(0.02);
  });
});

describe('sizes and errors', () => {
  it.each([
    ['multiples of 16', 300, 304, 288],
    ['188 + 16k (188, 204, 220, ...)', 200, 204, 188],
    ['only 256', 100, 256, undefined],
    ['any', 7, 7, 7],
    ['64 or more', 10, 64, undefined],
    ['16, 48, 80, 144, 208, 272, ...', 100, 144, 80],
  ])('%s: at least / at most %d', (text, n, least, most) => {
    const rule = parseValidSizes(text, '16')!.height;
    expect([rule.atLeast(n), rule.atMost(n)]).toEqual([least, most]);
  });

  it('reads height and width apart, and a list from the graph as a progression', () => {
    const r = parseValidSizes('height: multiples of 16; width: multiples of 8')!;
    expect([r.height.atLeast(20), r.width.atLeast(20)]).toEqual([32, 24]);
    expect(fromList([16, 32, 48, 64]).atLeast(5000)).toBe(5008);
    expect(parseValidSizes('whatever')).toBeUndefined();
  });

  it("a tile too small for a 'valid' network's margins is a TilingError", () => {
    // The tile rounds down to 16, which loses 2 x 10 pixels: nothing would be left.
    expect(() => planAxis(300, m16, { tile: 20, overlap: 0.25, margin: 10 })).toThrow(TilingError);
    expect(() => planAxis(300, m16, { tile: 20, overlap: 0.25, margin: 10 })).toThrow(/16-pixel tile is too small/);
    // A tile below the smallest accepted size is rounded up to it (188 - 2 x 92 = 4 pixels out):
    // enough for a 4-pixel image, too little to tile a larger one on the 16-pixel grid.
    expect(planAxis(4, valid2015.height, { tile: 100, overlap: 0.25, margin: 92 }).tiles.map((t) => t.inSize)).toEqual([
      188,
    ]);
    expect(() => planAxis(300, valid2015.height, { tile: 100, overlap: 0.25, margin: 92 })).toThrow(
      /leaving 4 \(at least 16 needed\)/,
    );
  });

  it("places tiles on the network's 2^depth grid, the last one reaching the end", () => {
    const plan = planAxis(417, m16, { tile: 128, overlap: 0.25, margin: 0 });
    expect(plan.tiles.map((t) => t.keepStart)).toEqual([0, 80, 160, 224, 304]);
    expect(plan.tiles.map((t) => t.keepEnd)).toEqual([128, 208, 288, 352, 417]);
    expect(plan.tiles.at(-1)!.weights.length).toBe(113);
  });

  it('covers every pixel with positive weight, on the grid, at accepted sizes (random plans)', () => {
    const rng = new Random(11);
    for (let trial = 0; trial < 300; trial++) {
      const grid = [1, 2, 8, 16][Math.floor(rng.next() * 4)]!;
      const margin = rng.next() < 0.3 ? Math.floor(rng.next() * 20) : 0;
      const rule = progression(grid + 2 * margin, grid);
      const n = 1 + Math.floor(rng.next() * 900);
      const tile = grid + 2 * margin + Math.floor(rng.next() * 300);
      const overlap = rng.next() * 0.9;
      const plan = planAxis(n, rule, { tile, overlap, margin });
      const covered = new Float64Array(n);
      for (const t of plan.tiles) {
        expect(rule.atLeast(t.inSize)).toBe(t.inSize);
        expect(t.outStart % grid).toBe(0);
        expect(t.weights.length).toBe(t.keepEnd - t.keepStart);
        for (let i = t.keepStart; i < t.keepEnd; i++) covered[i] = covered[i]! + t.weights[i - t.keepStart]!;
      }
      expect(covered.every((w) => w > 0)).toBe(true);
    }
  });

  it('an output of the wrong size is a TilingError, not a silent misplacement', async () => {
    const run: TileRunner = async (t) => ({
      ...t,
      height: t.height - 2,
      data: t.data.subarray(0, (t.height - 2) * t.width),
    });
    await expect(runTiled(randomImage(40, 40, 1), run, { sizes: sixteen })).rejects.toThrow(/48x48 tile/);
  });
});

describe('the N-d tile grid and blend (images and volumes share them)', () => {
  it('tileGrid gives every combination of one tile per axis, the last axis fastest', () => {
    const plans = [30, 50, 20].map((n) => planAxis(n, m16, { tile: 16, overlap: 0.25, margin: 0 }));
    const grid = [...tileGrid(plans)];
    expect(grid).toHaveLength(plans.reduce((a, p) => a * p.tiles.length, 1));
    expect(grid[0]!.map((t) => t.outStart)).toEqual([0, 0, 0]);
    expect(grid[1]!.map((t) => t.outStart)).toEqual([0, 0, plans[2]!.tiles[1]!.outStart]);
    expect(new Set(grid.map((g) => g.map((t) => t.outStart).join(','))).size).toBe(grid.length);
  });

  it('a 3D blend of tiles that return the array itself gives it back exactly; negative control: a missing tile leaves holes', () => {
    const shape = [13, 37, 29];
    const rng = new Random(3);
    const values = Float64Array.from({ length: 13 * 37 * 29 * 2 }, () => rng.next());
    const plans = shape.map((n) => planAxis(n, progression(4, 4), { tile: 8, overlap: 0.25, margin: 0 }));
    const tileOf = (tiles: readonly AxisTile[]) => {
      const size = tiles.map((t) => t.inSize);
      const out = new Float32Array(size[0]! * size[1]! * size[2]! * 2);
      for (let z = 0; z < size[0]!; z++)
        for (let y = 0; y < size[1]!; y++)
          for (let x = 0; x < size[2]!; x++) {
            const [sz, sy, sx] = [tiles[0]!.outStart + z, tiles[1]!.outStart + y, tiles[2]!.outStart + x];
            if (sz >= shape[0]! || sy >= shape[1]! || sx >= shape[2]!) continue;
            for (let c = 0; c < 2; c++)
              out[((z * size[1]! + y) * size[2]! + x) * 2 + c] =
                values[((sz * shape[1]! + sy) * shape[2]! + sx) * 2 + c]!;
          }
      return out;
    };
    const all = [...tileGrid(plans)];
    expect(all.length).toBeGreaterThan(8);
    const blend = new TileBlend(shape, 2);
    for (const tiles of all) blend.add(tiles, tileOf(tiles));
    expect(Array.from(blend.result())).toEqual(Array.from(Float32Array.from(values)));
    const partial = new TileBlend(shape, 2);
    for (const tiles of all.slice(1)) partial.add(tiles, tileOf(tiles));
    expect(Number.isNaN(partial.result()[0])).toBe(true);
  });
});
