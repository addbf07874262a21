/**
 * Fresh NIfTI-1 headers, for volumes that have no input to copy a header from (synthetic data):
 * little-endian, sform_code 1 with the full affine, and qform_code 1 with the rotation, voxel
 * sizes and offset taken from the same affine (nifti1_io's mat44_to_quatern, without its polar
 * decomposition: an affine with shear keeps its shear only in the sform).
 */
import { layouts, setField } from './layout.js';
import type { NiftiTemplate } from './nifti-write.js';

/** The geometry of a new volume. */
export interface NiftiGeometry {
  /** [nx, ny, nz]. */
  readonly dims: readonly [number, number, number];
  /** [dx, dy, dz] in mm; must equal the lengths of the affine's first three columns. */
  readonly spacing: readonly [number, number, number];
  /** Voxel to world (mm), 4x4 or 3x4; default diag(spacing) with no offset. */
  readonly affine?: readonly (readonly number[])[];
  /** Up to 79 ASCII characters for the header's descrip field. */
  readonly description?: string;
}

/** A header to write new volumes with, and the geometry it encodes. */
export interface NiftiHeaderTemplate extends NiftiTemplate {
  readonly version: 1;
  readonly spacing: readonly [number, number, number];
  readonly affine: readonly (readonly number[])[];
}

/** Quaternion (b, c, d) and qfac of the rotation part of an affine (columns normalized). */
export function affineToQuaternion(affine: readonly (readonly number[])[]): {
  b: number;
  c: number;
  d: number;
  qfac: 1 | -1;
} {
  const m = [0, 1, 2].map((r) => [0, 1, 2].map((c) => affine[r]?.[c] ?? 0));
  for (let c = 0; c < 3; c++) {
    const len = Math.hypot(m[0]![c]!, m[1]![c]!, m[2]![c]!);
    for (let r = 0; r < 3; r++) m[r]![c] = len > 0 ? m[r]![c]! / len : r === c ? 1 : 0;
  }
  const [[r11, r12, r13], [r21, r22, r23], [r31, r32, r33]] = m as [
    [number, number, number],
    [number, number, number],
    [number, number, number],
  ];
  const det = r11 * (r22 * r33 - r32 * r23) - r12 * (r21 * r33 - r31 * r23) + r13 * (r21 * r32 - r31 * r22);
  const qfac = det < 0 ? -1 : 1;
  // A left-handed grid: negate the third column to get a proper rotation, and store qfac = -1.
  const [s13, s23, s33] = [r13 * qfac, r23 * qfac, r33 * qfac];
  let [a, b, c, d] = [r11 + r22 + s33 + 1, 0, 0, 0];
  if (a > 0.5) {
    a = 0.5 * Math.sqrt(a);
    [b, c, d] = [(0.25 * (r32 - s23)) / a, (0.25 * (s13 - r31)) / a, (0.25 * (r21 - r12)) / a];
  } else {
    const xd = 1 + r11 - (r22 + s33);
    const yd = 1 + r22 - (r11 + s33);
    const zd = 1 + s33 - (r11 + r22);
    if (xd > 1) {
      b = 0.5 * Math.sqrt(xd);
      [c, d, a] = [(0.25 * (r12 + r21)) / b, (0.25 * (s13 + r31)) / b, (0.25 * (r32 - s23)) / b];
    } else if (yd > 1) {
      c = 0.5 * Math.sqrt(yd);
      [b, d, a] = [(0.25 * (r12 + r21)) / c, (0.25 * (s23 + r32)) / c, (0.25 * (s13 - r31)) / c];
    } else {
      d = 0.5 * Math.sqrt(zd);
      [b, c, a] = [(0.25 * (s13 + r31)) / d, (0.25 * (s23 + r32)) / d, (0.25 * (r21 - r12)) / d];
    }
    if (a < 0) [b, c, d] = [-b, -c, -d];
  }
  return { b, c, d, qfac };
}

function checkGeometry(g: NiftiGeometry, affine: readonly (readonly number[])[]): void {
  const ok = (v: number) => Number.isInteger(v) && v >= 1 && v <= 32767;
  if (!g.dims.every(ok))
    throw new RangeError(`createNiftiHeader: dims must be integers 1..32767, got ${g.dims.join('x')}`);
  if (!g.spacing.every((s) => Number.isFinite(s) && s > 0))
    throw new RangeError(`createNiftiHeader: spacing must be positive, got ${g.spacing.join(', ')}`);
  for (let c = 0; c < 3; c++) {
    const len = Math.hypot(affine[0]?.[c] ?? 0, affine[1]?.[c] ?? 0, affine[2]?.[c] ?? 0);
    const s = g.spacing[c]!;
    if (Math.abs(len - s) > 1e-4 * s) {
      throw new RangeError(
        `createNiftiHeader: affine column ${c} has length ${len}, but spacing[${c}] is ${s} (they must agree for the qform)`,
      );
    }
  }
}

/** A fresh little-endian NIfTI-1 header (352 bytes, no extensions) for float32 voxels. */
export function createNiftiHeader(geometry: NiftiGeometry): NiftiHeaderTemplate {
  const [dx, dy, dz] = geometry.spacing;
  const affine = (
    geometry.affine ?? [
      [dx, 0, 0, 0],
      [0, dy, 0, 0],
      [0, 0, dz, 0],
    ]
  )
    .slice(0, 3)
    .map((row) => [0, 1, 2, 3].map((c) => row[c] ?? 0));
  checkGeometry(geometry, affine);
  const full = [...affine, [0, 0, 0, 1]];
  const layout = layouts[1];
  const header = new Uint8Array(layout.size + 4);
  const view = new DataView(header.buffer);
  const le = true;
  const q = affineToQuaternion(affine);
  view.setInt32(0, layout.size, le);
  [3, ...geometry.dims, 1, 1, 1, 1].forEach((v, i) => setField(view, layout.dim, le, v, i));
  setField(view, layout.datatype, le, 16);
  setField(view, layout.bitpix, le, 32);
  [q.qfac, dx, dy, dz, 1, 1, 1, 1].forEach((v, i) => setField(view, layout.pixdim, le, v, i));
  setField(view, layout.voxOffset, le, header.length);
  setField(view, layout.sclSlope, le, 1);
  header[123] = 2; // xyzt_units: mm, no time unit
  const description = (geometry.description ?? '').replace(/[^\x20-\x7e]/g, '?').slice(0, 79);
  for (let i = 0; i < description.length; i++) header[148 + i] = description.charCodeAt(i);
  view.setInt16(252, 1, le); // qform_code: scanner anatomical
  view.setInt16(254, 1, le); // sform_code
  [q.b, q.c, q.d, affine[0]![3]!, affine[1]![3]!, affine[2]![3]!].forEach((v, i) =>
    view.setFloat32(256 + 4 * i, v, le),
  );
  affine.flat().forEach((v, i) => setField(view, layout.srow, le, v, i));
  for (let i = 0; i < 4; i++) header[layout.magicAt + i] = layout.magic.charCodeAt(i);
  return {
    version: 1,
    dims: [...geometry.dims],
    spacing: [...geometry.spacing],
    affine: full,
    header,
    littleEndian: true,
  };
}
