/**
 * Instances from a class map: connected components of the non-zero pixels, where neighbours join
 * only when they have the same class (for a binary mask: the foreground's components). Two-pass
 * labelling with union-find; labels 1..K in raster order of each component's first pixel.
 */

/** One connected component. */
export interface Component {
  /** Its label in `labels` (1..K). */
  readonly label: number;
  /** The class id its pixels have. */
  readonly classId: number;
  /** Pixel count. */
  readonly area: number;
  /** Bounding box, rows [top, bottom) and columns [left, right). */
  readonly top: number;
  readonly left: number;
  readonly bottom: number;
  readonly right: number;
}

/** A labelled image: `labels[y * width + x]` is 0 (background) or a component's label. */
export interface Instances {
  readonly height: number;
  readonly width: number;
  readonly labels: Uint32Array;
  /** components[k - 1] has label k. */
  readonly components: readonly Component[];
}

export interface InstanceOptions {
  /** 8 (default): diagonal neighbours touch; 4: only edge neighbours do. */
  readonly connectivity?: 4 | 8;
  /** Drop components of fewer pixels (they become background); default 0 keeps all. */
  readonly minSize?: number;
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

/** Joins two sets; the smaller provisional label becomes the root. */
function union(parent: Int32Array, a: number, b: number): number {
  const ra = find(parent, a);
  const rb = find(parent, b);
  if (ra === rb) return ra;
  if (ra < rb) {
    parent[rb] = ra;
    return ra;
  }
  parent[ra] = rb;
  return rb;
}

/** The label after meeting a neighbour labelled `other`: its root, or the union of both. */
const merge = (parent: Int32Array, label: number, other: number): number =>
  label === 0 ? find(parent, other) : union(parent, label, other);

/**
 * Labels the connected components of the non-zero pixels of `map` (height x width, row-major).
 * See the module comment; with `minSize`, smaller components are removed before numbering.
 */
export function connectedComponents(
  map: ArrayLike<number>,
  height: number,
  width: number,
  options: InstanceOptions = {},
): Instances {
  const n = height * width;
  if (map.length !== n) throw new RangeError(`connectedComponents: ${map.length} values for a ${height}x${width} map`);
  const eight = (options.connectivity ?? 8) === 8;
  const minSize = options.minSize ?? 0;
  const provisional = new Int32Array(n);
  // At most one new provisional label per two pixels in a row, plus one: n / 2 + 2 is plenty, n + 1 is safe.
  const parent = new Int32Array(n + 1);
  let next = 1;
  // Pass 1: a provisional label per pixel, merging with the already-seen neighbours of the same class.
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = y * width + x;
      const v = map[p]!;
      if (v === 0) continue;
      let label = 0;
      // The neighbours already visited: west, then north-west, north, north-east.
      if (x > 0 && map[p - 1] === v) label = merge(parent, label, provisional[p - 1]!);
      if (y > 0) {
        const up = p - width;
        if (eight && x > 0 && map[up - 1] === v) label = merge(parent, label, provisional[up - 1]!);
        if (map[up] === v) label = merge(parent, label, provisional[up]!);
        if (eight && x < width - 1 && map[up + 1] === v) label = merge(parent, label, provisional[up + 1]!);
      }
      if (label === 0) {
        label = next++;
        parent[label] = label;
      }
      provisional[p] = label;
    }
  }
  const area = new Float64Array(next);
  for (let p = 0; p < n; p++) if (provisional[p]) area[find(parent, provisional[p]!)]!++;
  // Pass 2: final labels in raster order of first pixel; removed components map to 0.
  const final = new Int32Array(next).fill(-1);
  const labels = new Uint32Array(n);
  const boxes: { classId: number; area: number; top: number; left: number; bottom: number; right: number }[] = [];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = y * width + x;
      if (!provisional[p]) continue;
      const root = find(parent, provisional[p]!);
      if (final[root] === -1) {
        const keep = area[root]! >= minSize;
        final[root] = keep ? boxes.length + 1 : 0;
        if (keep) boxes.push({ classId: map[p]!, area: area[root]!, top: y, left: x, bottom: y + 1, right: x + 1 });
      }
      const label = final[root]!;
      labels[p] = label;
      if (label === 0) continue;
      const b = boxes[label - 1]!;
      // top is set by the first pixel (raster order); the rest can only grow.
      if (x < b.left) b.left = x;
      if (x + 1 > b.right) b.right = x + 1;
      b.bottom = y + 1;
    }
  }
  return { height, width, labels, components: boxes.map((b, i) => ({ label: i + 1, ...b })) };
}

/** A class map with the components below `minSize` set to 0 (what the mask shows after `--min-size`). */
export function removeSmall<T extends Uint8Array | Uint16Array>(map: T, instances: Instances): T {
  const out = map.slice() as T;
  for (let p = 0; p < out.length; p++) if (instances.labels[p] === 0) out[p] = 0;
  return out;
}

/** Mean and median of the components' areas (0 when there are none). */
export function areaSummary(components: readonly Component[]): {
  count: number;
  mean: number;
  median: number;
  min: number;
  max: number;
} {
  const areas = components.map((c) => c.area).sort((a, b) => a - b);
  const count = areas.length;
  if (count === 0) return { count, mean: 0, median: 0, min: 0, max: 0 };
  const mid = Math.floor(count / 2);
  const median = count % 2 === 1 ? areas[mid]! : (areas[mid - 1]! + areas[mid]!) / 2;
  return { count, mean: areas.reduce((a, b) => a + b, 0) / count, median, min: areas[0]!, max: areas[count - 1]! };
}
