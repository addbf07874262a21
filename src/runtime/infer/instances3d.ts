/**
 * Instances in volumes: connected components of the non-zero voxels of a class map
 * ([depth, height, width], row-major), where neighbours join only when they have the same class.
 * 26-connectivity (faces, edges and corners touch) by default, or 6 (faces only). Two-pass
 * labelling with union-find, as the 2D version (instances.ts); labels 1..K in raster order of
 * each component's first voxel.
 */
import { find } from './instances.js';

/** One connected component of a volume. */
export interface Component3d {
  readonly label: number;
  readonly classId: number;
  /** Voxel count. */
  readonly volume: number;
}

export interface Instances3d {
  readonly dims: readonly [number, number, number];
  readonly labels: Uint32Array;
  readonly components: readonly Component3d[];
}

export interface Instance3dOptions {
  readonly connectivity?: 6 | 26;
  /** Drop components of fewer voxels; default 0 keeps all. */
  readonly minSize?: number;
}

/** The already-visited neighbour offsets [dz, dy, dx] (raster order: z, then y, then x). */
function previousNeighbours(connectivity: 6 | 26): [number, number, number][] {
  if (connectivity === 6)
    return [
      [-1, 0, 0],
      [0, -1, 0],
      [0, 0, -1],
    ];
  const out: [number, number, number][] = [];
  for (let dz = -1; dz <= 0; dz++)
    for (let dy = -1; dy <= 1; dy++)
      for (let dx = -1; dx <= 1; dx++) {
        if (dz === 0 && (dy > 0 || (dy === 0 && dx >= 0))) continue;
        out.push([dz, dy, dx]);
      }
  return out;
}

/** Labels the connected components of a volume's non-zero voxels. */
export function connectedComponents3d(
  map: ArrayLike<number>,
  dims: readonly [number, number, number],
  options: Instance3dOptions = {},
): Instances3d {
  const [d, h, w] = dims;
  const n = d * h * w;
  if (map.length !== n)
    throw new RangeError(`connectedComponents3d: ${map.length} values for a ${dims.join('x')} volume`);
  const neighbours = previousNeighbours(options.connectivity ?? 26);
  const provisional = new Int32Array(n);
  const parent = new Int32Array(n + 1);
  let next = 1;
  for (let z = 0; z < d; z++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const p = (z * h + y) * w + x;
        const v = map[p]!;
        if (v === 0) continue;
        let label = 0;
        for (const [dz, dy, dx] of neighbours) {
          const [nz, ny, nx] = [z + dz, y + dy, x + dx];
          if (nz < 0 || ny < 0 || ny >= h || nx < 0 || nx >= w) continue;
          const q = (nz * h + ny) * w + nx;
          if (map[q] !== v) continue;
          const other = find(parent, provisional[q]!);
          if (label === 0) label = other;
          else if (other !== label) {
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
  const minSize = options.minSize ?? 0;
  const final = new Int32Array(next).fill(-1);
  const labels = new Uint32Array(n);
  const components: Component3d[] = [];
  for (let p = 0; p < n; p++) {
    if (!provisional[p]) continue;
    const root = find(parent, provisional[p]!);
    if (final[root] === -1) {
      const keep = size[root]! >= minSize;
      final[root] = keep ? components.length + 1 : 0;
      if (keep) components.push({ label: components.length + 1, classId: map[p]!, volume: size[root]! });
    }
    labels[p] = final[root]!;
  }
  return { dims, labels, components };
}
