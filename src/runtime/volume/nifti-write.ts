/**
 * Writing NIfTI volumes that line up with an input: the input's header bytes are copied and only
 * the fields that describe the new voxels are patched (datatype, bitpix, vox_offset, scl_slope,
 * scl_inter, cal_min, cal_max), so the affine, qform/sform, pixdim, units, description, intent
 * and extensions stay as they were, in the input's version and byte order. `.gz` paths are
 * gzipped. Files are written atomically (temporary file in the same folder, then rename).
 */
import { gzipSync } from 'node:zlib';
import { DataError } from '../../util/error.js';
import { writeFileAtomic } from '../data/atomic.js';
import { DT_FLOAT32, DT_UINT16, DT_UINT8, getField, layouts, setField } from './layout.js';
import type { NiftiVolume } from './nifti.js';

/** What a writer needs of an input volume: a `NiftiVolume` or a `createNiftiHeader` result. */
export type NiftiTemplate = Pick<NiftiVolume, 'version' | 'dims' | 'header' | 'littleEndian'>;

/** A copy of the template's header with the voxel fields patched; checks it still is a header. */
function patchedHeader(
  like: NiftiTemplate,
  n: number,
  path: string,
  fields: { datatype: number; bitpix: number; calMin: number; calMax: number },
): Uint8Array {
  const layout = layouts[like.version];
  const [nx, ny, nz] = like.dims;
  if (n !== nx * ny * nz)
    throw new DataError(path, `cannot write: ${n} values for a ${nx}x${ny}x${nz} volume (expected ${nx * ny * nz})`);
  // At least the header and the 4 extension-flag bytes; a longer header keeps its extensions.
  const header = new Uint8Array(Math.max(like.header.length, layout.size + 4));
  header.set(like.header);
  const view = new DataView(header.buffer);
  const le = like.littleEndian;
  if (like.header.length < layout.size || view.getInt32(0, le) !== layout.size) {
    throw new DataError(
      path,
      `cannot write: the template header is not a NIfTI-${like.version} header in its stated byte order`,
    );
  }
  const stored = [1, 2, 3].map((a) => (a <= getField(view, layout.dim, le) ? getField(view, layout.dim, le, a) : 1));
  if (stored.join('x') !== like.dims.join('x')) {
    throw new DataError(
      path,
      `cannot write: the template header says ${stored.join('x')}, its dims say ${like.dims.join('x')}`,
    );
  }
  setField(view, layout.datatype, le, fields.datatype);
  setField(view, layout.bitpix, le, fields.bitpix);
  setField(view, layout.voxOffset, le, header.length);
  setField(view, layout.sclSlope, le, 1);
  setField(view, layout.sclInter, le, 0);
  setField(view, layout.calMin, le, fields.calMin);
  setField(view, layout.calMax, le, fields.calMax);
  return header;
}

function join(header: Uint8Array, data: Uint8Array, path: string): Uint8Array {
  const out = new Uint8Array(header.length + data.length);
  out.set(header);
  out.set(data, header.length);
  return /\.gz$/i.test(path) ? gzipSync(out) : out;
}

/**
 * The bytes of a uint8 label volume shaped like `like` (gzipped when `path` ends in .gz);
 * cal_min 0 and cal_max the largest label, so viewers show the labels' range.
 */
export function encodeNiftiMask(path: string, like: NiftiTemplate, labels: Uint8Array): Uint8Array {
  let max = 0;
  for (let p = 0; p < labels.length; p++) if ((labels[p] ?? 0) > max) max = labels[p] ?? 0;
  const header = patchedHeader(like, labels.length, path, { datatype: DT_UINT8, bitpix: 8, calMin: 0, calMax: max });
  return join(header, labels, path);
}

/** The bytes of a float32 volume shaped like `like`; cal_min/cal_max are the finite data range (0, 0 when none). */
export function encodeNiftiVolume(path: string, like: NiftiTemplate, data: Float32Array): Uint8Array {
  let [min, max] = [Infinity, -Infinity];
  for (let p = 0; p < data.length; p++) {
    const v = data[p] ?? 0;
    if (Number.isFinite(v)) [min, max] = [Math.min(min, v), Math.max(max, v)];
  }
  if (min > max) [min, max] = [0, 0];
  const header = patchedHeader(like, data.length, path, { datatype: DT_FLOAT32, bitpix: 32, calMin: min, calMax: max });
  const bytes = new Uint8Array(data.length * 4);
  const view = new DataView(bytes.buffer);
  for (let p = 0; p < data.length; p++) view.setFloat32(p * 4, data[p] ?? 0, like.littleEndian);
  return join(header, bytes, path);
}

/** The bytes of a uint16 label volume (instance ids) shaped like `like`; cal_max the largest id. */
export function encodeNiftiLabels(path: string, like: NiftiTemplate, labels: ArrayLike<number>): Uint8Array {
  let max = 0;
  for (let p = 0; p < labels.length; p++) max = Math.max(max, labels[p] ?? 0);
  if (max > 0xffff) throw new DataError(path, `cannot write ${max} instance labels as uint16 (at most 65535)`);
  const header = patchedHeader(like, labels.length, path, { datatype: DT_UINT16, bitpix: 16, calMin: 0, calMax: max });
  const bytes = new Uint8Array(labels.length * 2);
  const view = new DataView(bytes.buffer);
  for (let p = 0; p < labels.length; p++) view.setUint16(p * 2, labels[p] ?? 0, like.littleEndian);
  return join(header, bytes, path);
}

/** Writes a uint16 label volume with `like`'s header (see `encodeNiftiLabels`), atomically. */
export async function writeNiftiLabels(path: string, like: NiftiTemplate, labels: ArrayLike<number>): Promise<void> {
  await writeFileAtomic(path, encodeNiftiLabels(path, like, labels));
}

/** Writes a uint8 label volume with `like`'s header (see `encodeNiftiMask`), atomically. */
export async function writeNiftiMask(path: string, like: NiftiTemplate, labels: Uint8Array): Promise<void> {
  await writeFileAtomic(path, encodeNiftiMask(path, like, labels));
}

/** Writes a float32 volume with `like`'s header (see `encodeNiftiVolume`), atomically. */
export async function writeNiftiVolume(path: string, like: NiftiTemplate, data: Float32Array): Promise<void> {
  await writeFileAtomic(path, encodeNiftiVolume(path, like, data));
}
