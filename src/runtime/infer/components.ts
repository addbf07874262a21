/**
 * Connected components of the non-zero elements of a class map with any number of axes ([h, w]
 * images, [d, h, w] volumes), where neighbours join only when they have the same class (for a
 * binary mask: the foreground's components). Neighbours are the face neighbours (4 in 2D, 6 in
 * 3D) or all of the 3^n - 1 around (8, 26). Two-pass labelling with union-find, as MONAI's and
 * scikit-image's `label`: a provisional label per element merging with its already-visited
 * neighbours, then final labels 1..K in raster order of each component's first element, with
 * components under `minSize` elements removed (0) before numbering. One code path for images and
 * volumes; instances.ts and instances3d.ts shape its result for each.
 */

/** One component: its label, class, size and bounding box ([lo, hi) per axis). */
export interface LabelledComponent {
  readonly label: number;
  readonly classId: number;
  readonly size: number;
  readonly lo: readonly number[];
  readonly hi: readonly number[];
}

export interface Labelling {
  readonly labels: Uint32Array;
  /** components[k - 1] has label k. */
  readonly components: readonly LabelledComponent[];
}

/** Root of `i`, halving the path on the way (keeps the trees shallow). */
export function find(parent: Int32Array, i: number): number {
  while (parent[i] !== i) {
    const up = parent[parent[i]!]!;
    parent[i] = up;
    i = up;
  }
  return i;
}

/**
 * The neighbour offsets visited before an element in raster order (each as per-axis steps):
 * those whose first non-zero step is negative. `full`: every element of the 3^n block around;
 * else the faces only.
 */
export function previousOffsets(dims: number, full: boolean): number[][] {
  if (!full) return Array.from({ length: dims }, (_, a) => Array.from({ length: dims }, (_, b) => (a === b ? -1 : 0)));
  const out: number[][] = [];
  const step = (prefix: number[]) => {
    if (prefix.length === dims) {
      const first = prefix.find((v) => v !== 0);
      if (first !== undefined && first < 0) out.push(prefix);
      return;
    }
    for (const v of [-1, 0, 1]) step([...prefix, v]);
  };
  step([]);
  return out;
}

/** Labels the connected components of `map`'s non-zero elements (row-major, of `shape`). */
export function labelComponents(
  map: ArrayLike<number>,
  shape: readonly number[],
  options: { readonly full: boolean; readonly minSize?: number },
): Labelling {
  const n = shape.reduce((a, b) => a * b, 1);
  if (map.length !== n) throw new RangeError(`labelComponents: ${map.length} values for a ${shape.join('x')} array`);
  const dims = shape.length;
  const strides = new Array<number>(dims);
  for (let a = dims - 1, s = 1; a >= 0; a--) {
    strides[a] = s;
    s *= shape[a]!;
  }
  const offsets = previousOffsets(dims, options.full).map((o) => ({
    steps: o,
    delta: o.reduce((acc, v, a) => acc + v * strides[a]!, 0),
  }));
  const provisional = new Int32Array(n);
  // At most one new provisional label per element, plus one.
  const parent = new Int32Array(n + 1);
  let next = 1;
  const coord = new Array<number>(dims).fill(0);
  // Pass 1: a provisional label per element, merging with the already-visited neighbours of the same class.
  for (let p = 0; p < n; p++) {
    if (p > 0) {
      // The next coordinate in raster order.
      for (let a = dims - 1; a >= 0; a--) {
        if (++coord[a]! < shape[a]!) break;
        coord[a] = 0;
      }
    }
    const v = map[p]!;
    if (v === 0) continue;
    let label = 0;
    for (const { steps, delta } of offsets) {
      let inside = true;
      for (let a = 0; a < dims; a++) {
        const c = coord[a]! + steps[a]!;
        if (c < 0 || c >= shape[a]!) {
          inside = false;
          break;
        }
      }
      if (!inside || map[p + delta] !== v) continue;
      const other = find(parent, provisional[p + delta]!);
      if (label === 0) label = other;
      else if (other !== label) {
        // The smaller provisional label becomes the root.
        const [lo, hi] = other < label ? [other, label] : [label, other];
        parent[hi] = lo;
        label = lo;
      }
    }
    if (label === 0) {
      label = next++;
      parent[label] = label;
    }
    provisional[p] = label;
  }
  const size = new Float64Array(next);
  for (let p = 0; p < n; p++) if (provisional[p]) size[find(parent, provisional[p]!)]!++;
  // Pass 2: final labels in raster order of first element; removed components map to 0.
  const minSize = options.minSize ?? 0;
  const final = new Int32Array(next).fill(-1);
  const labels = new Uint32Array(n);
  const components: { label: number; classId: number; size: number; lo: number[]; hi: number[] }[] = [];
  coord.fill(0);
  for (let p = 0; p < n; p++) {
    if (p > 0) {
      for (let a = dims - 1; a >= 0; a--) {
        if (++coord[a]! < shape[a]!) break;
        coord[a] = 0;
      }
    }
    if (!provisional[p]) continue;
    const root = find(parent, provisional[p]!);
    if (final[root] === -1) {
      const keep = size[root]! >= minSize;
      final[root] = keep ? components.length + 1 : 0;
      if (keep)
        components.push({
          label: components.length + 1,
          classId: map[p]!,
          size: size[root]!,
          lo: [...coord],
          hi: coord.map((c) => c + 1),
        });
    }
    const label = final[root]!;
    labels[p] = label;
    if (label === 0) continue;
    const c = components[label - 1]!;
    for (let a = 0; a < dims; a++) {
      if (coord[a]! < c.lo[a]!) c.lo[a] = coord[a]!;
      if (coord[a]! + 1 > c.hi[a]!) c.hi[a] = coord[a]! + 1;
    }
  }
  return { labels, components };
}
