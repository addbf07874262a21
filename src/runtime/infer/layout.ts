/**
 * Channels-last (tfjs, unetc's rasters: [n, ...spatial, c]) to channels-first (ONNX: [n, c,
 * ...spatial]) and back, for any number of spatial axes: the spatial axes stay in order, so they
 * count as one axis of their product.
 */

const product = (sizes: readonly number[]) => sizes.reduce((a, b) => a * b, 1);

/** [n, ...spatial, c] -> [n, c, ...spatial]. */
export function toChannelsFirst(data: Float32Array, n: number, spatial: readonly number[], c: number): Float32Array {
  const s = product(spatial);
  const out = new Float32Array(data.length);
  for (let b = 0; b < n; b++)
    for (let p = 0; p < s; p++) for (let k = 0; k < c; k++) out[(b * c + k) * s + p] = data[(b * s + p) * c + k]!;
  return out;
}

/** [n, c, ...spatial] -> [n, ...spatial, c]. */
export function toChannelsLast(data: Float32Array, n: number, spatial: readonly number[], c: number): Float32Array {
  const s = product(spatial);
  const out = new Float32Array(data.length);
  for (let b = 0; b < n; b++)
    for (let p = 0; p < s; p++) for (let k = 0; k < c; k++) out[(b * s + p) * c + k] = data[(b * c + k) * s + p]!;
  return out;
}
