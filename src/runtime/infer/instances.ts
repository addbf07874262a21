/**
 * Instances from a class map: connected components of the non-zero pixels, where neighbours join
 * only when they have the same class (for a binary mask: the foreground's components); labels
 * 1..K in raster order of each component's first pixel, with their areas and bounding boxes.
 * The labelling is components.ts's, shared with volumes.
 */
import { labelComponents } from './components.js';

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
  if (map.length !== height * width)
    throw new RangeError(`connectedComponents: ${map.length} values for a ${height}x${width} map`);
  const { labels, components } = labelComponents(map, [height, width], {
    full: (options.connectivity ?? 8) === 8,
    minSize: options.minSize ?? 0,
  });
  const shaped = components.map((c) => ({
    label: c.label,
    classId: c.classId,
    area: c.size,
    top: c.lo[0]!,
    left: c.lo[1]!,
    bottom: c.hi[0]!,
    right: c.hi[1]!,
  }));
  return { height, width, labels, components: shaped };
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
