/**
 * Pure helpers between volumes and what a model sees: 2D slices along an axis (for 2D U-Nets on
 * slices) and 3D patches (for 3D U-Nets), and back. A volume is stored as NIfTI stores it, index
 * `i + nx * (j + ny * k)`, with dims [nx, ny, nz]; slices and patches are row-major with the
 * slowest axis first, so a patch of size [d, h, w] is a [D, H, W] tensor.
 */

/** Typed arrays a volume or label map is held in. */
export type VoxelArray = Float32Array | Uint8Array | Uint16Array | Int32Array;

/** [nx, ny, nz], as in `NiftiVolume.dims`. */
export type VolumeDims = readonly [number, number, number];

/** The axis a slice is taken across: `z` gives [ny, nx] images, `y` [nz, nx], `x` [nz, ny]. */
export type SliceAxis = 'x' | 'y' | 'z';

/** A 2D slice, row-major height x width. */
export interface Slice<T extends VoxelArray> {
  readonly data: T;
  readonly height: number;
  readonly width: number;
}

/** Anything with a uniform draw in [0, 1) (the project's `Random`). */
export interface UniformSource {
  next(): number;
}

function alloc<T extends VoxelArray>(like: T, n: number): T {
  return new (like.constructor as new (n: number) => T)(n);
}

function checkVolume(data: VoxelArray, dims: VolumeDims, fn: string): void {
  if (!dims.every((d) => Number.isInteger(d) && d >= 1))
    throw new RangeError(`${fn}: dims must be positive integers, got ${dims.join('x')}`);
  if (data.length !== dims[0] * dims[1] * dims[2]) {
    throw new RangeError(
      `${fn}: ${data.length} values for a ${dims.join('x')} volume (expected ${dims[0] * dims[1] * dims[2]})`,
    );
  }
}

/** Height, width, and volume index of slice pixel (row, col), for one axis and slice index. */
function sliceGeometry(
  dims: VolumeDims,
  axis: SliceAxis,
  index: number,
  fn: string,
): { height: number; width: number; at: (row: number, col: number) => number } {
  const [nx, ny, nz] = dims;
  const count = axis === 'x' ? nx : axis === 'y' ? ny : nz;
  if (!(Number.isInteger(index) && index >= 0 && index < count))
    throw new RangeError(`${fn}: ${axis} index ${index} outside 0..${count - 1}`);
  switch (axis) {
    case 'z':
      return { height: ny, width: nx, at: (row, col) => col + nx * (row + ny * index) };
    case 'y':
      return { height: nz, width: nx, at: (row, col) => col + nx * (index + ny * row) };
    case 'x':
      return { height: nz, width: ny, at: (row, col) => index + nx * (col + ny * row) };
    default: {
      const never: never = axis;
      throw new RangeError(`${fn}: unknown axis ${String(never)}`);
    }
  }
}

/** Slice `index` across `axis`: z gives [ny, nx], y gives [nz, nx], x gives [nz, ny]. */
export function sliceVolume<T extends VoxelArray>(data: T, dims: VolumeDims, axis: SliceAxis, index: number): Slice<T> {
  checkVolume(data, dims, 'sliceVolume');
  const { height, width, at } = sliceGeometry(dims, axis, index, 'sliceVolume');
  const out = alloc(data, height * width);
  for (let row = 0; row < height; row++)
    for (let col = 0; col < width; col++) out[row * width + col] = data[at(row, col)] ?? 0;
  return { data: out, height, width };
}

/** Writes a slice back into a volume (in place): the inverse of `sliceVolume`. */
export function placeSlice(
  volume: VoxelArray,
  dims: VolumeDims,
  axis: SliceAxis,
  index: number,
  slice: Slice<VoxelArray>,
): void {
  checkVolume(volume, dims, 'placeSlice');
  const { height, width, at } = sliceGeometry(dims, axis, index, 'placeSlice');
  if (slice.height !== height || slice.width !== width || slice.data.length !== height * width) {
    throw new RangeError(
      `placeSlice: a ${axis} slice of a ${dims.join('x')} volume is ${height}x${width}, got ${slice.height}x${slice.width} (${slice.data.length} values)`,
    );
  }
  for (let row = 0; row < height; row++)
    for (let col = 0; col < width; col++) volume[at(row, col)] = slice.data[row * width + col] ?? 0;
}

/** [k, j, i] origin or [d, h, w] size of a patch: z first, like the tensor. */
export type PatchVector = readonly [number, number, number];

function checkPatch(origin: PatchVector, size: PatchVector, fn: string): void {
  if (!origin.every(Number.isInteger)) throw new RangeError(`${fn}: origin must be integers, got ${origin.join(', ')}`);
  if (!size.every((s) => Number.isInteger(s) && s >= 1))
    throw new RangeError(`${fn}: size must be positive integers, got ${size.join('x')}`);
}

/**
 * The [d, h, w] patch whose voxel (0, 0, 0) is volume voxel (i, j, k) = origin reversed; voxels
 * outside the volume are 0 (so an origin may be negative and a patch larger than the volume).
 */
export function extractPatch<T extends VoxelArray>(
  data: T,
  dims: VolumeDims,
  origin: PatchVector,
  size: PatchVector,
): T {
  checkVolume(data, dims, 'extractPatch');
  checkPatch(origin, size, 'extractPatch');
  const [nx, ny, nz] = dims;
  const [k0, j0, i0] = origin;
  const [d, h, w] = size;
  const out = alloc(data, d * h * w);
  const [x0, x1] = [Math.max(0, -i0), Math.min(w, nx - i0)];
  for (let z = 0; z < d; z++) {
    const k = k0 + z;
    if (k < 0 || k >= nz) continue;
    for (let y = 0; y < h; y++) {
      const j = j0 + y;
      if (j < 0 || j >= ny) continue;
      const from = nx * (j + ny * k) + i0;
      if (x1 > x0) out.set(data.subarray(from + x0, from + x1), (z * h + y) * w + x0);
    }
  }
  return out;
}

/** Writes a [d, h, w] patch into a volume at `origin` (in place), dropping what falls outside. */
export function placePatch(
  volume: VoxelArray,
  dims: VolumeDims,
  origin: PatchVector,
  size: PatchVector,
  patch: VoxelArray,
): void {
  checkVolume(volume, dims, 'placePatch');
  checkPatch(origin, size, 'placePatch');
  const [nx, ny, nz] = dims;
  const [k0, j0, i0] = origin;
  const [d, h, w] = size;
  if (patch.length !== d * h * w)
    throw new RangeError(`placePatch: ${patch.length} values for a ${size.join('x')} patch (expected ${d * h * w})`);
  const [x0, x1] = [Math.max(0, -i0), Math.min(w, nx - i0)];
  for (let z = 0; z < d; z++) {
    const k = k0 + z;
    if (k < 0 || k >= nz) continue;
    for (let y = 0; y < h; y++) {
      const j = j0 + y;
      if (j < 0 || j >= ny || x1 <= x0) continue;
      const from = (z * h + y) * w;
      volume.set(patch.subarray(from + x0, from + x1), nx * (j + ny * k) + i0 + x0);
    }
  }
}

/**
 * A uniformly drawn [k, j, i] origin for a `size` patch: inside the volume on every axis the
 * patch fits; where the patch is larger than the volume, the volume lands at a random place in it.
 */
export function randomPatchOrigin(rng: UniformSource, dims: VolumeDims, size: PatchVector): [number, number, number] {
  checkPatch([0, 0, 0], size, 'randomPatchOrigin');
  const pick = (n: number, s: number): number => {
    const [lo, hi] = [Math.min(0, n - s), Math.max(0, n - s)];
    return lo + Math.min(hi - lo, Math.floor(rng.next() * (hi - lo + 1)));
  };
  const [nx, ny, nz] = dims;
  const [d, h, w] = size;
  return [pick(nz, d), pick(ny, h), pick(nx, w)];
}
