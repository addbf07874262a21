import { describe, expect, it } from 'vitest';
import {
  BACKGROUND,
  BOUNDARY,
  boundaryTargets,
  distanceToOutside,
  fillSeedHoles,
  INTERIOR,
  splitInstances,
} from '../../../src/runtime/infer/boundary.js';
import { connectedComponents } from '../../../src/runtime/infer/instances.js';
import { Random } from '../../../src/util/random.js';

/** A label map from rows of characters: '.' is 0, digits and letters are instance ids. */
function grid(rows: string[]): { labels: Uint16Array; shape: [number, number] } {
  const h = rows.length;
  const w = rows[0]!.length;
  const labels = new Uint16Array(h * w);
  rows.forEach((r, y) => [...r].forEach((c, x) => (labels[y * w + x] = c === '.' ? 0 : parseInt(c, 36))));
  return { labels, shape: [h, w] };
}

/** Classes as rows: '.' background, 'o' interior, '#' boundary. */
function show(classes: Uint8Array, [h, w]: readonly number[]): string[] {
  const ch = ['.', 'o', '#'];
  return Array.from({ length: h! }, (_, y) => Array.from({ length: w! }, (_, x) => ch[classes[y * w! + x]!]).join(''));
}

describe('boundaryTargets', () => {
  it.each([
    {
      what: 'one instance: its outline',
      rows: ['......', '.1111.', '.1111.', '.1111.', '......'],
      want: ['......', '.####.', '.#oo#.', '.####.', '......'],
    },
    {
      what: 'two touching instances: an outline on each side of the contact',
      rows: ['........', '.111222.', '.111222.', '.111222.', '.111222.', '........'],
      want: ['........', '.######.', '.#o##o#.', '.#o##o#.', '.######.', '........'],
    },
    {
      what: 'a nested instance: outlines on both sides of the ring',
      rows: ['1111111', '1111111', '1122211', '1122211', '1122211', '1111111', '1111111'],
      want: ['ooooooo', 'oo###oo', 'o#####o', 'o##o##o', 'o#####o', 'oo###oo', 'ooooooo'],
    },
    {
      what: 'an instance cut by the image border has no outline along the border',
      rows: ['111..', '111..', '111..', '.....'],
      want: ['oo#..', 'oo#..', '###..', '.....'],
    },
  ])('$what', ({ rows, want }) => {
    const { labels, shape } = grid(rows);
    expect(show(boundaryTargets(labels, shape), shape)).toEqual(want);
  });

  it('3D: the same rule over six face neighbours', () => {
    // Two 3x3x3 cubes side by side along x in a 3x3x6 volume.
    const shape = [3, 3, 6];
    const labels = new Uint16Array(54).map((_, i) => (i % 6 < 3 ? 1 : 2));
    const t = boundaryTargets(labels, shape);
    // The volume's faces make no outline; the contact face does, on both sides.
    const at = (z: number, y: number, x: number) => t[(z * 3 + y) * 6 + x];
    expect(at(1, 1, 2)).toBe(BOUNDARY);
    expect(at(1, 1, 3)).toBe(BOUNDARY);
    expect(at(1, 1, 1)).toBe(INTERIOR);
    expect(at(1, 1, 0)).toBe(INTERIOR);
    expect(at(0, 0, 0)).toBe(INTERIOR);
    expect(t.filter((c) => c === BACKGROUND)).toHaveLength(0);
  });

  it('rejects a shape that does not match the data', () => {
    expect(() => boundaryTargets(new Uint16Array(10), [3, 3])).toThrow(RangeError);
  });
});

/** A label map of disks: [cy, cx, r] each, later ones drawn over earlier ones. */
function disks(h: number, w: number, list: [number, number, number][]): Uint16Array {
  const out = new Uint16Array(h * w);
  list.forEach(([cy, cx, r], i) => {
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) if ((y - cy) ** 2 + (x - cx) ** 2 <= r * r) out[y * w + x] = i + 1;
  });
  return out;
}

/** Probabilities a perfect boundary network would give: the targets, one-hot, softened a little. */
function probabilitiesOf(classes: Uint8Array): Float32Array {
  const out = new Float32Array(classes.length * 3);
  classes.forEach((c, p) => {
    for (let k = 0; k < 3; k++) out[p * 3 + k] = k === c ? 0.9 : 0.05;
  });
  return out;
}

const count = (labels: Uint32Array) => new Set(labels.filter((v) => v !== 0)).size;

describe('splitInstances', () => {
  it('splits touching disks into the right count, where connected components merge them', () => {
    const h = 64;
    const w = 96;
    // Five disks: three in a touching chain, two touching each other, and they overlap a little.
    const truth = disks(h, w, [
      [20, 15, 9],
      [20, 32, 9],
      [20, 49, 9],
      [46, 30, 10],
      [46, 50, 11],
    ]);
    const classes = boundaryTargets(truth, [h, w]);
    const labels = splitInstances(probabilitiesOf(classes), [h, w], 3);
    expect(count(labels)).toBe(5);
    // Every true disk is one predicted instance (outline pixels where disks touch may go either way).
    const majority = [1, 2, 3, 4, 5].map((t) => {
      const votes = new Map<number, number>();
      let size = 0;
      truth.forEach((v, p) => {
        if (v !== t) return;
        size++;
        votes.set(labels[p]!, (votes.get(labels[p]!) ?? 0) + 1);
      });
      const [label, n] = [...votes].sort((a, b) => b[1] - a[1])[0]!;
      expect(n / size).toBeGreaterThan(0.95);
      return label;
    });
    expect(new Set(majority).size).toBe(5);
    // Negative control: the foreground's connected components see two blobs.
    const fg = Uint8Array.from(truth, (v) => (v > 0 ? 1 : 0));
    expect(connectedComponents(fg, h, w).components).toHaveLength(2);
  });

  it('a nucleus too small to have an interior is still an instance', () => {
    const h = 20;
    const w = 20;
    const truth = disks(h, w, [
      [10, 5, 3],
      [10, 14, 1],
    ]);
    const labels = splitInstances(probabilitiesOf(boundaryTargets(truth, [h, w])), [h, w], 3);
    expect(count(labels)).toBe(2);
  });

  it('noise seeds under minSeed are grown over instead of splitting a nucleus', () => {
    const h = 30;
    const w = 30;
    const truth = disks(h, w, [[15, 15, 10]]);
    // A stray interior pixel cut off from the interior by a ring of boundary (a blip of the network).
    const blip = (cx: number) => {
      const classes = boundaryTargets(truth, [h, w]);
      for (let dy = -1; dy <= 1; dy++)
        for (let dx = -1; dx <= 1; dx++) classes[(15 + dy) * w + cx + dx] = dx === 0 && dy === 0 ? INTERIOR : BOUNDARY;
      return probabilitiesOf(classes);
    };
    // At the nucleus's edge the ring opens onto the outline: two seeds, one of them noise.
    expect(count(splitInstances(blip(23), [h, w], 3))).toBe(2);
    expect(count(splitInstances(blip(23), [h, w], 3, { minSeed: 3 }))).toBe(1);
    // In the middle the ring is a hole of the interior, filled (fillSeedHoles): one seed either way.
    expect(count(splitInstances(blip(15), [h, w], 3))).toBe(1);
  });

  it('3D: touching balls split the same way', () => {
    const shape = [20, 20, 36];
    const n = 20 * 20 * 36;
    const truth = new Uint16Array(n);
    for (let z = 0; z < 20; z++)
      for (let y = 0; y < 20; y++)
        for (let x = 0; x < 36; x++) {
          const p = (z * 20 + y) * 36 + x;
          if ((z - 10) ** 2 + (y - 10) ** 2 + (x - 10) ** 2 <= 64) truth[p] = 1;
          else if ((z - 10) ** 2 + (y - 10) ** 2 + (x - 25) ** 2 <= 64) truth[p] = 2;
        }
    const labels = splitInstances(probabilitiesOf(boundaryTargets(truth, shape)), shape, 3);
    expect(count(labels)).toBe(2);
  });
});

/** Probabilities of a network that saw `interior` as one interior: outline round its edge only. */
function oneInterior(interior: Uint8Array, shape: number[]): Float32Array {
  return probabilitiesOf(boundaryTargets(interior, shape));
}

describe('splitInstances with neck splitting', () => {
  const neck = { depth: 1, area: 10 };

  it('two overlapping disks the network saw as one interior come apart at their waist', () => {
    const h = 40;
    const w = 60;
    const union = Uint8Array.from(
      disks(h, w, [
        [20, 20, 10],
        [20, 37, 10],
      ]),
      (v) => (v ? 1 : 0),
    );
    const probabilities = oneInterior(union, [h, w]);
    expect(count(splitInstances(probabilities, [h, w], 3, { neck }))).toBe(2);
    // Negative control: without neck splitting the interior is one seed.
    expect(count(splitInstances(probabilities, [h, w], 3))).toBe(1);
    // The cut is at the waist: each half holds one disk centre and about half the pixels.
    const labels = splitInstances(probabilities, [h, w], 3, { neck });
    expect(labels[20 * w + 20]).not.toBe(labels[20 * w + 37]);
    const left = labels.filter((v) => v === labels[20 * w + 20]).length;
    expect(left / labels.filter((v) => v !== 0).length).toBeCloseTo(0.5, 1);
  });

  it('an elongated nucleus, and one with a shallow bump, stay whole', () => {
    const h = 40;
    const w = 60;
    const ellipse = new Uint8Array(h * w);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) if (((y - 20) / 8) ** 2 + ((x - 30) / 22) ** 2 <= 1) ellipse[y * w + x] = 1;
    expect(count(splitInstances(oneInterior(ellipse, [h, w]), [h, w], 3, { neck }))).toBe(1);
    const bumpy = Uint8Array.from(
      disks(h, w, [
        [20, 25, 11],
        [20, 37, 3],
      ]),
      (v) => (v ? 1 : 0),
    );
    expect(count(splitInstances(oneInterior(bumpy, [h, w]), [h, w], 3, { neck }))).toBe(1);
    // A deep but tiny side is not a nucleus either: with a larger area floor the disks stay one.
    const union = Uint8Array.from(
      disks(h, w, [
        [20, 20, 10],
        [20, 37, 10],
      ]),
      (v) => (v ? 1 : 0),
    );
    expect(count(splitInstances(oneInterior(union, [h, w]), [h, w], 3, { neck: { depth: 1, area: 1000 } }))).toBe(1);
  });

  it('3D: two overlapping balls seen as one interior split the same way', () => {
    const shape = [20, 20, 32];
    const union = new Uint8Array(20 * 20 * 32);
    for (let z = 0; z < 20; z++)
      for (let y = 0; y < 20; y++)
        for (let x = 0; x < 32; x++)
          if ((z - 10) ** 2 + (y - 10) ** 2 + Math.min((x - 9) ** 2, (x - 22) ** 2) <= 49)
            union[(z * 20 + y) * 32 + x] = 1;
    const probabilities = oneInterior(union, shape);
    expect(count(splitInstances(probabilities, shape, 3, { neck }))).toBe(2);
    expect(count(splitInstances(probabilities, shape, 3))).toBe(1);
  });
});

/** Masks from rows of characters: 's' seed, 'f' foreground that is not seed, '.' background. */
function seedRows(rows: string[]): { seed: Uint8Array; fg: Uint8Array; shape: [number, number] } {
  const cells = rows.join('');
  return {
    seed: Uint8Array.from(cells, (c) => (c === 's' ? 1 : 0)),
    fg: Uint8Array.from(cells, (c) => (c === '.' ? 0 : 1)),
    shape: [rows.length, rows[0]!.length],
  };
}

function seedShown(seed: Uint8Array, fg: Uint8Array, [h, w]: readonly number[]): string[] {
  return Array.from({ length: h! }, (_, y) =>
    Array.from({ length: w! }, (_, x) => (seed[y * w! + x] ? 's' : fg[y * w! + x] ? 'f' : '.')).join(''),
  );
}

describe('fillSeedHoles', () => {
  it('fills enclosed foreground only: not a piece with background in it, nor one that reaches a side', () => {
    const { seed, fg, shape } = seedRows([
      'sssss.ssfs',
      'sfffs.ssss',
      'sssss.....',
      '..........',
      '.sssss.sss',
      '.sffss.sff',
      '.sffss.sss',
      '.sssss....',
      '.ssss.....',
      '.s.fs.ssss',
      '.ssss.sffs',
      '......sffs',
      '.......sss',
      '..........',
      'sss..sssss',
      'ffs..sfffs',
      'sss..sssss',
      '......ssss',
      'sssss..sff',
      'sffss..sss',
      'sssss.....',
    ]);
    fillSeedHoles(seed, fg, shape);
    expect(seedShown(seed, fg, shape)).toEqual([
      'sssss.ssfs', // right: reaches the top side, stays
      'sssss.ssss', // a ring on the top and left sides: its hole is off them by a pixel, filled
      'sssss.....',
      '..........',
      '.sssss.sss',
      '.sssss.sff', // left: filled; right: reaches the right side, stays
      '.sssss.sss',
      '.sssss....',
      '.ssss.....',
      '.s.fs.ssss', // background in it: stays
      '.ssss.sffs', // closed on every face, open to the background at a corner: stays
      '......sffs', // (pieces join across corners, as seeds join across faces only)
      '.......sss',
      '..........',
      'sss..sssss',
      'ffs..sssss', // left: reaches the left side, stays; right: off the right side by a pixel, filled
      'sss..sssss',
      '......ssss',
      'sssss..sff', // reaches the right side, stays
      'sssss..sss', // a ring on the left and bottom sides: filled
      'sssss.....',
    ]);
  });

  it('3D: a hollow cube is filled, one with a way out to the background is not', () => {
    const shape = [5, 5, 5];
    const cube = (open: boolean) => {
      const seed = new Uint8Array(125);
      const fg = new Uint8Array(125).fill(1);
      for (let z = 0; z < 5; z++)
        for (let y = 0; y < 5; y++)
          for (let x = 0; x < 5; x++) {
            const shell = [z, y, x].some((v) => v === 0 || v === 4);
            const inner = [z, y, x].every((v) => v >= 1 && v <= 3);
            const p = (z * 5 + y) * 5 + x;
            if (inner && [z, y, x].some((v) => v === 1 || v === 3)) seed[p] = 1;
            if (shell) fg[p] = 0;
          }
      // The centre (2, 2, 2) is foreground, not seed; open: a tunnel from it to the shell.
      if (open) seed[(2 * 5 + 2) * 5 + 3] = 0;
      return { seed, fg };
    };
    const closed = cube(false);
    fillSeedHoles(closed.seed, closed.fg, shape);
    expect(closed.seed[(2 * 5 + 2) * 5 + 2]).toBe(1);
    const open = cube(true);
    fillSeedHoles(open.seed, open.fg, shape);
    expect(open.seed[(2 * 5 + 2) * 5 + 2]).toBe(0);
  });
});

describe('splitInstances: an interior with a hole', () => {
  /**
   * A disk (radius 14) whose interior probability dips in a flat ellipse across its middle, as
   * textured chromatin makes it: the seeds are a ring, thick above and below, thin at the ends.
   * `dip` gives the dip's class probabilities (background, interior, boundary).
   */
  function ringed(dip: [number, number, number]): { probabilities: Float32Array; shape: [number, number] } {
    const h = 40;
    const w = 40;
    const classes = boundaryTargets(disks(h, w, [[20, 20, 14]]), [h, w]);
    const probabilities = probabilitiesOf(classes);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        if (((y - 20) / 3.5) ** 2 + ((x - 20) / 11) ** 2 <= 1) probabilities.set(dip, (y * w + x) * 3);
    return { probabilities, shape: [h, w] };
  }
  const neck = { depth: 1, area: 10 };

  it('is one instance, with neck splitting too (its ring would be cut at the thin ends)', () => {
    const { probabilities, shape } = ringed([0.1, 0.35, 0.55]);
    expect(count(splitInstances(probabilities, shape, 3, { neck }))).toBe(1);
    expect(count(splitInstances(probabilities, shape, 3))).toBe(1);
  });

  it('a hole the network calls background stays, and the ring around it is cut as before', () => {
    // Negative control: the same ring with background in the dip is not filled, so the split
    // sees the ring and cuts it at its thin ends, as it cut every ring before holes were filled.
    const { probabilities, shape } = ringed([0.9, 0.05, 0.05]);
    expect(count(splitInstances(probabilities, shape, 3, { neck }))).toBe(2);
  });

  it('3D: a ball whose interior dips in a flat disk is one instance', () => {
    const shape = [24, 24, 24];
    const n = 24 ** 3;
    const ball = new Uint8Array(n);
    for (let z = 0; z < 24; z++)
      for (let y = 0; y < 24; y++)
        for (let x = 0; x < 24; x++)
          if ((z - 12) ** 2 + (y - 12) ** 2 + (x - 12) ** 2 <= 100) ball[(z * 24 + y) * 24 + x] = 1;
    const dipped = (dip: [number, number, number]) => {
      const probabilities = probabilitiesOf(boundaryTargets(ball, shape));
      for (let z = 0; z < 24; z++)
        for (let y = 0; y < 24; y++)
          for (let x = 0; x < 24; x++)
            if (((z - 12) / 2.5) ** 2 + ((y - 12) / 6.5) ** 2 + ((x - 12) / 6.5) ** 2 <= 1)
              probabilities.set(dip, ((z * 24 + y) * 24 + x) * 3);
      return probabilities;
    };
    expect(count(splitInstances(dipped([0.1, 0.35, 0.55]), shape, 3, { neck }))).toBe(1);
    // Negative control: background in the dip leaves two caps joined by a thin rim, cut apart.
    expect(count(splitInstances(dipped([0.9, 0.05, 0.05]), shape, 3, { neck }))).toBe(2);
  });
});

describe('distanceToOutside', () => {
  /** Distances by brute force over every outside pixel (the array's edge is not outside). */
  function bruteForce(mask: Uint8Array, shape: number[], norm: (d: number[]) => number): number[] {
    const coords = (p: number) => {
      const c: number[] = [];
      for (let a = shape.length - 1; a >= 0; a--) {
        c.unshift(p % shape[a]!);
        p = Math.floor(p / shape[a]!);
      }
      return c;
    };
    const outside = [...mask.keys()].filter((p) => !mask[p]).map(coords);
    return [...mask].map((m, p) => (m ? Math.min(...outside.map((o) => norm(coords(p).map((c, a) => c - o[a]!)))) : 0));
  }
  const euclid = (d: number[]) => Math.hypot(...d);
  const cityBlock = (d: number[]) => d.reduce((a, b) => a + Math.abs(b), 0);

  for (const shape of [
    [13, 17],
    [5, 7, 9],
  ]) {
    it(`is the exact Euclidean distance on a random ${shape.length}-D mask`, () => {
      const rng = new Random(7);
      const mask = Uint8Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (rng.next() < 0.85 ? 1 : 0));
      const got = [...distanceToOutside(mask, shape)];
      bruteForce(mask, shape, euclid).forEach((d, p) => expect(got[p]).toBeCloseTo(d, 9));
      // Negative control: the city-block distance, which a 4- or 6-neighbour flood would give, differs.
      expect(bruteForce(mask, shape, cityBlock).some((d, p) => Math.abs(d - got[p]!) > 0.1)).toBe(true);
    });
  }
});
