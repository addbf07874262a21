/**
 * Channels-last (tfjs, unetc's rasters: [n, ...spatial, c]) to channels-first (ONNX: [n, c,
 * ...spatial]) and back, for any number of spatial axes: the spatial axes stay in order, so they
 * count as one axis of their product.
 */

const product = (sizes: readonly number[]) => sizes.reduce((a, b) => a * b, 1);

/** Copies `data` between the two layouts: `first` true writes channels-first, false reads it. */
function moveChannels(
  data: Float32Array,
  n: number,
  spatial: readonly number[],
  c: number,
  first: boolean,
): Float32Array {
  const s = product(spatial);
  const out = new Float32Array(data.length);
  for (let b = 0; b < n; b++)
    for (let p = 0; p < s; p++)
      for (let k = 0; k < c; k++) {
        const last = (b * s + p) * c + k;
        const firstAt = (b * c + k) * s + p;
        if (first) out[firstAt] = data[last]!;
        else out[last] = data[firstAt]!;
      }
  return out;
}

/** [n, ...spatial, c] -> [n, c, ...spatial]. */
export const toChannelsFirst = (data: Float32Array, n: number, spatial: readonly number[], c: number): Float32Array =>
  moveChannels(data, n, spatial, c, true);

/** [n, c, ...spatial] -> [n, ...spatial, c]. */
export const toChannelsLast = (data: Float32Array, n: number, spatial: readonly number[], c: number): Float32Array =>
  moveChannels(data, n, spatial, c, false);
