/**
 * Reading NIfTI-1 and NIfTI-2 volumes (.nii, .nii.gz; either byte order). nifti-reader-js parses
 * the header fields; this module checks the framing around it first (gzip, sizeof_hdr, magic,
 * dims, datatype, vox_offset, enough bytes) so a bad file gets a `DataError` that says what is
 * wrong with it, and converts the voxels itself (the library hands back raw bytes).
 *
 * Voxels keep the file's order: index `i + nx * (j + ny * k)`. Read as a tensor that is
 * [D = nz, H = ny, W = nx] row-major, so a volume goes into a 3D model without a copy.
 */
import { gunzipSync } from 'node:zlib';
import { NIFTI1, NIFTI2 } from 'nifti-reader-js';
import { DataError } from '../../util/error.js';
import { readBytes } from '../data/png.js';
import { datatypes, getField, layouts, unsupportedDatatypes, type NiftiVersion } from './layout.js';

export type { NiftiVersion } from './layout.js';

/** One 3D (or 2D, nz = 1) volume. */
export interface NiftiVolume {
  readonly path: string;
  readonly version: NiftiVersion;
  /** [nx, ny, nz]: dim[1..3] (missing ones are 1). */
  readonly dims: readonly [number, number, number];
  /** [dx, dy, dz]: pixdim[1..3], as stored. */
  readonly spacing: readonly [number, number, number];
  /**
   * Voxel (i, j, k, 1) to world (x, y, z, 1), 4x4: the sform when sform_code > 0, else the qform
   * when qform_code > 0, else diag(pixdim) (NIfTI "method 1").
   */
  readonly affine: readonly (readonly number[])[];
  /** The file's datatype code (2 uint8, 4 int16, 16 float32, ...). */
  readonly datatype: number;
  /** Voxel values with scl_slope/scl_inter applied, index i + nx * (j + ny * k). */
  readonly data: Float32Array;
  /** The header bytes up to vox_offset, extensions included, in the file's byte order. */
  readonly header: Uint8Array;
  readonly littleEndian: boolean;
}

const hostLittleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

type TypedCtor = new (buffer: ArrayBuffer) => ArrayLike<number>;
const typedArrays: Readonly<Record<number, TypedCtor>> = {
  2: Uint8Array,
  4: Int16Array,
  8: Int32Array,
  16: Float32Array,
  64: Float64Array,
  256: Int8Array,
  512: Uint16Array,
  768: Uint32Array,
};

const text = (bytes: Uint8Array): string => String.fromCharCode(...bytes);
const printable = (s: string): string => JSON.stringify(s).slice(1, -1);

/** A plain Uint8Array over the same bytes: a Buffer's `slice` is a view, a Uint8Array's a copy. */
const plain = (b: Uint8Array): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

const isGzip = (bytes: Uint8Array): boolean => bytes[0] === 0x1f && bytes[1] === 0x8b;

/** Unzips gzip bytes; other bytes are returned as they are. */
function gunzip(bytes: Uint8Array, path: string): Uint8Array {
  if (!isGzip(bytes)) return plain(bytes);
  try {
    return plain(gunzipSync(bytes));
  } catch (error) {
    throw new DataError(path, `corrupt gzip: ${(error as Error).message}`, { cause: error });
  }
}

/** The version and byte order from sizeof_hdr, after checking the magic. */
function identify(raw: Uint8Array, path: string): { version: NiftiVersion; littleEndian: boolean } {
  if (raw.length < 4) throw new DataError(path, `not a NIfTI file (${raw.length} bytes, too short for a header)`);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  let found: { version: NiftiVersion; littleEndian: boolean } | undefined;
  for (const littleEndian of [true, false]) {
    const size = view.getInt32(0, littleEndian);
    if (size === 348) found = { version: 1, littleEndian };
    if (size === 540) found = { version: 2, littleEndian };
  }
  if (!found)
    throw new DataError(
      path,
      `not a NIfTI file (sizeof_hdr is ${view.getInt32(0, true)}, expected 348 for NIfTI-1 or 540 for NIfTI-2)`,
    );
  const layout = layouts[found.version];
  if (raw.length < layout.size) {
    throw new DataError(
      path,
      `truncated: ${raw.length} bytes, too short for the ${layout.size}-byte NIfTI-${found.version} header`,
    );
  }
  const magic = text(raw.subarray(layout.magicAt, layout.magicAt + layout.magic.length));
  if (magic === layout.pairMagic) {
    throw new DataError(
      path,
      `a .hdr/.img pair header (magic '${layout.pairMagic.slice(0, 3)}'); only single-file .nii or .nii.gz is read`,
    );
  }
  if (magic.slice(0, 4) === layout.magic.slice(0, 4) && magic !== layout.magic) {
    throw new DataError(
      path,
      `corrupt: NIfTI-2 magic is '${printable(magic)}', expected '${printable(layout.magic)}' (line endings changed in transfer?)`,
    );
  }
  if (magic !== layout.magic) {
    throw new DataError(
      path,
      `not a NIfTI-${found.version} file (bad magic '${printable(magic)}' at byte ${layout.magicAt}, expected '${printable(layout.magic.slice(0, 3))}')`,
    );
  }
  return found;
}

/** [nx, ny, nz]; refuses bad dims and 4D+ files with more than one volume. */
function volumeDims(dim: readonly number[], path: string): [number, number, number] {
  const rank = dim[0] ?? 0;
  if (!(Number.isInteger(rank) && rank >= 1 && rank <= 7))
    throw new DataError(path, `corrupt: dim[0] is ${rank}, expected 1 to 7`);
  const used = dim.slice(1, rank + 1);
  const bad = used.findIndex((d) => !(Number.isInteger(d) && d >= 1));
  if (bad >= 0) throw new DataError(path, `corrupt: dim[${bad + 1}] is ${used[bad]}, expected a positive size`);
  const extra = used.slice(3).reduce((a, b) => a * b, 1);
  if (extra > 1) {
    throw new DataError(
      path,
      `${rank}D image with ${extra} volumes (dim ${used.join('x')}); only single 3D volumes are read (split it into 3D files first)`,
    );
  }
  return [used[0] ?? 1, used[1] ?? 1, used[2] ?? 1];
}

/** Voxels as float32, in file order. */
function voxels(raw: Uint8Array, offset: number, n: number, code: number, littleEndian: boolean): Float32Array {
  const type = datatypes[code]!;
  const bytes = raw.slice(offset, offset + n * type.bytes); // a copy, so typed views are aligned
  const Typed = typedArrays[code];
  if (Typed && (littleEndian === hostLittleEndian || type.bytes === 1)) {
    if (code === 16) return new Float32Array(bytes.buffer);
    const out = new Float32Array(n);
    out.set(new Typed(bytes.buffer));
    return out;
  }
  const view = new DataView(bytes.buffer);
  const out = new Float32Array(n);
  for (let p = 0; p < n; p++) out[p] = type.get(view, p * type.bytes, littleEndian);
  return out;
}

/** sform, else qform, else pixdim scaling (see `NiftiVolume.affine`). */
function bestAffine(header: NIFTI1 | NIFTI2, view: DataView, version: NiftiVersion, littleEndian: boolean): number[][] {
  const srow = layouts[version].srow;
  if (header.sform_code > 0) {
    // Read here: nifti-reader-js prefers the qform when qform_code > sform_code.
    const rows = [0, 1, 2].map((r) => [0, 1, 2, 3].map((c) => getField(view, srow, littleEndian, r * 4 + c)));
    return [...rows, [0, 0, 0, 1]];
  }
  if (header.qform_code > 0) return header.getQformMat().map((row) => [...row]);
  const [, dx = 1, dy = 1, dz = 1] = header.pixDims;
  return [
    [dx, 0, 0, 0],
    [0, dy, 0, 0],
    [0, 0, dz, 0],
    [0, 0, 0, 1],
  ];
}

/** Parses NIfTI bytes (gzipped or not); `path` is only used in error messages. */
export function parseNifti(bytes: Uint8Array, path: string): NiftiVolume {
  if (bytes.length === 0) throw new DataError(path, 'empty file (0 bytes)');
  const raw = gunzip(bytes, path);
  const { version, littleEndian } = identify(raw, path);
  const layout = layouts[version];
  const header = version === 1 ? new NIFTI1() : new NIFTI2();
  try {
    // Only the standard header: extensions are kept as bytes, never interpreted (and the
    // library's NIfTI-2 extension parser throws on a set flag with no extension).
    header.readHeader(raw.slice(0, layout.size).buffer);
  } catch (error) {
    throw new DataError(path, `corrupt header: ${(error as Error).message}`, { cause: error });
  }
  const dims = volumeDims(header.dims, path);
  const code = header.datatypeCode;
  const type = datatypes[code];
  if (!type) {
    const name = unsupportedDatatypes[code];
    throw new DataError(
      path,
      `unsupported datatype ${code}${name ? ` (${name})` : ' (not a NIfTI datatype code)'}; expected one real number per voxel (uint8, int16, float32, ...)`,
    );
  }
  const offset = header.vox_offset;
  if (!(Number.isInteger(offset) && offset >= layout.size)) {
    throw new DataError(path, `corrupt: vox_offset is ${offset}, expected a whole number of bytes >= ${layout.size}`);
  }
  const n = dims[0] * dims[1] * dims[2];
  const need = offset + n * type.bytes;
  if (raw.length < need) {
    throw new DataError(
      path,
      `truncated: ${dims.join('x')} ${type.name} voxels need ${need} bytes (from vox_offset ${offset}), the ${isGzip(bytes) ? 'unzipped file' : 'file'} has ${raw.length}`,
    );
  }
  const data = voxels(raw, offset, n, code, littleEndian);
  const slope = header.scl_slope;
  const inter = Number.isFinite(header.scl_inter) ? header.scl_inter : 0;
  if (Number.isFinite(slope) && slope !== 0 && !(slope === 1 && inter === 0)) {
    for (let p = 0; p < n; p++) data[p] = (data[p] ?? 0) * slope + inter;
  }
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const pix = (a: number): number => {
    const d = getField(view, layout.pixdim, littleEndian, a);
    return a <= (header.dims[0] ?? 0) || d > 0 ? d : 1;
  };
  return {
    path,
    version,
    dims,
    spacing: [pix(1), pix(2), pix(3)],
    affine: bestAffine(header, view, version, littleEndian),
    datatype: code,
    data,
    header: raw.slice(0, offset),
    littleEndian,
  };
}

/** Reads and parses a .nii or .nii.gz file. */
export async function readNifti(path: string): Promise<NiftiVolume> {
  return parseNifti(await readBytes(path), path);
}
