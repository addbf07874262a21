/**
 * Instances in volumes: connected components of the non-zero voxels of a class map
 * ([depth, height, width], row-major), where neighbours join only when they have the same class.
 * 26-connectivity (faces, edges and corners touch) by default, or 6 (faces only); labels 1..K in
 * raster order of each component's first voxel. The labelling is components.ts's, shared with images.
 */
import { labelComponents } from './components.js';

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

/** Labels the connected components of a volume's non-zero voxels. */
export function connectedComponents3d(
  map: ArrayLike<number>,
  dims: readonly [number, number, number],
  options: Instance3dOptions = {},
): Instances3d {
  if (map.length !== dims[0] * dims[1] * dims[2])
    throw new RangeError(`connectedComponents3d: ${map.length} values for a ${dims.join('x')} volume`);
  const { labels, components } = labelComponents(map, dims, {
    full: (options.connectivity ?? 26) === 26,
    minSize: options.minSize ?? 0,
  });
  return { dims, labels, components: components.map((c) => ({ label: c.label, classId: c.classId, volume: c.size })) };
}
