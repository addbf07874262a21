/**
 * Touching instances, the three-class way (`output.instances: boundary`): a network learns
 * background, interior and boundary, where the boundary is each instance's outline (Caicedo et al.
 * 2019 on these very nuclei; the StarDist paper's U-Net baseline). Two touching nuclei then have
 * two outlines between them, so their interiors are apart; each interior seeds one instance,
 * which grows back over its outline.
 *
 * `boundaryTargets` makes the training targets from an instance label map; `splitInstances`
 * turns predicted probabilities into instances with a seeded watershed. Both are pure functions
 * over row-major arrays of any number of axes ([h, w] or [d, h, w]): one code path for images
 * and volumes. Neighbours are the face neighbours (4 in 2D, 6 in 3D): a one-pixel outline then
 * separates interiors, which 8-connectivity would let touch at corners.
 */

/** The classes of a boundary network's output channels. */
export const BACKGROUND = 0;
export const INTERIOR = 1;
export const BOUNDARY = 2;

/** Row-major strides of a shape. */
function stridesOf(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let a = shape.length - 1; a >= 0; a--) {
    strides[a] = s;
    s *= shape[a]!;
  }
  return strides;
}

/**
 * Calls `f(q)` for each face neighbour q of `p` inside the array (the array's edge is not a
 * neighbour: an instance cut by the image border has no outline there, it goes on outside).
 */
function forNeighbours(p: number, shape: readonly number[], strides: readonly number[], f: (q: number) => void): void {
  for (let a = 0; a < shape.length; a++) {
    const coord = Math.floor(p / strides[a]!) % shape[a]!;
    if (coord > 0) f(p - strides[a]!);
    if (coord < shape[a]! - 1) f(p + strides[a]!);
  }
}

/**
 * Three-class targets from an instance label map (0 background, any other id an instance):
 * a pixel of an instance is BOUNDARY when a face neighbour has another id (background or another
 * instance), INTERIOR otherwise; background stays BACKGROUND. Nested instances and instances that
 * touch get outlines on both sides of the contact; the array's edge makes no outline.
 */
export function boundaryTargets(labels: ArrayLike<number>, shape: readonly number[], out = new Uint8Array(labels.length)): Uint8Array {
  const n = shape.reduce((a, b) => a * b, 1);
  if (labels.length !== n || out.length !== n) throw new RangeError(`boundaryTargets: ${labels.length} labels for a ${shape.join('x')} array`);
  const strides = stridesOf(shape);
  for (let p = 0; p < n; p++) {
    const id = labels[p]!;
    if (id === 0) {
      out[p] = BACKGROUND;
      continue;
    }
    let edge = false;
    forNeighbours(p, shape, strides, (q) => {
      if (labels[q] !== id) edge = true;
    });
    out[p] = edge ? BOUNDARY : INTERIOR;
  }
  return out;
}

export interface SplitOptions {
  /** Foreground where P(interior) + P(boundary) is above this (default 0.5). */
  readonly threshold?: number;
  /** Seeds: pixels whose P(interior) is above this (default 0.5), grouped by face connectivity. */
  readonly seedThreshold?: number;
  /** Seeds smaller than this many pixels are not seeds (noise); their pixels are grown over (default 0). */
  readonly minSeed?: number;
  /**
   * Erode the interiors by this many pixels before finding seeds (default 0): two nuclei whose
   * interiors still touch through a neck thinner than twice this come apart. An interior that
   * erodes away entirely stays one seed (a small nucleus is not lost to its neighbour).
   */
  readonly erode?: number;
}

/** Levels of the priority queue: elevations are probabilities, quantized to this many buckets. */
const LEVELS = 256;

/**
 * Instances from a boundary network's probabilities (`channels` values per pixel, in the order
 * background, interior, boundary): seeds are the connected interiors; each seed grows over the
 * foreground in order of rising boundary probability (a seeded watershed with a bucket queue;
 * ties go to the seed that got there first, so growth also follows distance). Foreground no seed
 * reaches (a nucleus too small to have an interior) becomes an instance of its own per
 * connected piece. Returns a label map (0 background, 1..K) of the same shape.
 */
export function splitInstances(probabilities: Float32Array, shape: readonly number[], channels: number, options: SplitOptions = {}): Uint32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  if (probabilities.length !== n * channels || channels < 3) throw new RangeError(`splitInstances: ${probabilities.length} values for a ${shape.join('x')} array of ${channels} (>= 3) channels`);
  const threshold = options.threshold ?? 0.5;
  const seedThreshold = options.seedThreshold ?? 0.5;
  const strides = stridesOf(shape);
  const fg = new Uint8Array(n);
  const seed = new Uint8Array(n);
  for (let p = 0; p < n; p++) {
    const q = p * channels;
    fg[p] = 1 - probabilities[q + BACKGROUND]! > threshold ? 1 : 0;
    seed[p] = fg[p] && probabilities[q + INTERIOR]! > seedThreshold ? 1 : 0;
  }
  const labels = new Uint32Array(n);
  let next = labelComponents(erode(seed, shape, strides, options.erode ?? 0), shape, strides, labels, 1, options.minSeed ?? 0);
  if ((options.erode ?? 0) > 0) {
    // Interiors no eroded seed lies in (they eroded away) are seeds as they are.
    const lost = interiorsWithoutSeed(seed, labels, shape, strides);
    next = labelComponents(lost, shape, strides, labels, next, options.minSeed ?? 0);
  }
  // Grow the seeds: a bucket queue of (pixel, label) by the pixel's boundary probability.
  const buckets: number[][] = Array.from({ length: LEVELS }, () => []);
  const level = (p: number) => Math.min(LEVELS - 1, Math.floor(probabilities[p * channels + BOUNDARY]! * LEVELS));
  const queued = new Uint8Array(n);
  const push = (p: number) => {
    forNeighbours(p, shape, strides, (q) => {
      if (fg[q] && labels[q] === 0 && !queued[q]) {
        queued[q] = 1;
        buckets[level(q)]!.push(q);
      }
    });
  };
  for (let p = 0; p < n; p++) if (labels[p] !== 0) push(p);
  for (let b = 0; b < LEVELS; b++) {
    const bucket = buckets[b]!;
    // The bucket grows while it is walked: a neighbour at this level or below joins it at its end.
    for (let i = 0; i < bucket.length; i++) {
      const p = bucket[i]!;
      // The label of the first labelled neighbour (the one that queued it, or one as early).
      let label = 0;
      forNeighbours(p, shape, strides, (q) => {
        if (label === 0 && labels[q] !== 0) label = labels[q]!;
      });
      labels[p] = label;
      forNeighbours(p, shape, strides, (q) => {
        if (fg[q] && labels[q] === 0 && !queued[q]) {
          queued[q] = 1;
          // Never back to a lower bucket: the flood cannot go downhill past its level.
          buckets[Math.max(b, level(q))]!.push(q);
        }
      });
    }
    bucket.length = 0;
  }
  // Foreground no seed reached: one instance per connected piece.
  const rest = new Uint8Array(n);
  for (let p = 0; p < n; p++) rest[p] = fg[p] && labels[p] === 0 ? 1 : 0;
  labelComponents(rest, shape, strides, labels, next, 0);
  return labels;
}

/** `mask` eroded `times` times by the face neighbourhood (the array's edge does not erode). */
function erode(mask: Uint8Array, shape: readonly number[], strides: readonly number[], times: number): Uint8Array {
  let cur = mask;
  for (let t = 0; t < times; t++) {
    const out = new Uint8Array(cur.length);
    for (let p = 0; p < cur.length; p++) {
      if (!cur[p]) continue;
      let keep = 1;
      forNeighbours(p, shape, strides, (q) => {
        if (!cur[q]) keep = 0;
      });
      out[p] = keep;
    }
    cur = out;
  }
  return cur;
}

/** The pixels of `mask`'s components that hold no labelled pixel. */
function interiorsWithoutSeed(mask: Uint8Array, labels: Uint32Array, shape: readonly number[], strides: readonly number[]): Uint8Array {
  const comp = new Uint32Array(mask.length);
  const count = labelComponents(mask, shape, strides, comp, 1, 0);
  const seeded = new Uint8Array(count);
  for (let p = 0; p < mask.length; p++) if (comp[p] && labels[p]) seeded[comp[p]!] = 1;
  const out = new Uint8Array(mask.length);
  for (let p = 0; p < mask.length; p++) out[p] = comp[p] && !seeded[comp[p]!] ? 1 : 0;
  return out;
}

/**
 * Labels the face-connected components of `mask` into `labels`, from `first` on (breadth-first
 * flood fill); components under `minSize` pixels stay 0. Returns the next free label.
 */
function labelComponents(mask: Uint8Array, shape: readonly number[], strides: readonly number[], labels: Uint32Array, first: number, minSize: number): number {
  const seen = new Uint8Array(mask.length);
  const queue = new Int32Array(mask.length);
  let next = first;
  for (let start = 0; start < mask.length; start++) {
    if (!mask[start] || seen[start]) continue;
    let head = 0;
    let tail = 0;
    queue[tail++] = start;
    seen[start] = 1;
    while (head < tail) {
      const p = queue[head++]!;
      forNeighbours(p, shape, strides, (q) => {
        if (mask[q] && !seen[q]) {
          seen[q] = 1;
          queue[tail++] = q;
        }
      });
    }
    if (tail < minSize) continue;
    for (let i = 0; i < tail; i++) labels[queue[i]!] = next;
    next++;
  }
  return next;
}
