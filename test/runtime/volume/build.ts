/**
 * Builds NIfTI-1 and NIfTI-2 files byte by byte for tests, with offsets typed in from nifti1.h
 * and nifti2.h (not taken from src/runtime/volume/layout.ts, so a wrong offset there shows up).
 */

export interface BuildOptions {
  readonly version?: 1 | 2;
  readonly littleEndian?: boolean;
  /** dim[0..7]; default [3, nx, ny, nz, 1, 1, 1, 1] from `dims`. */
  readonly dim?: readonly number[];
  readonly dims?: readonly [number, number, number];
  readonly datatype?: number;
  readonly bitpix?: number;
  readonly values?: readonly number[];
  /** pixdim[0..7]. */
  readonly pixdim?: readonly number[];
  readonly sclSlope?: number;
  readonly sclInter?: number;
  readonly qformCode?: number;
  readonly sformCode?: number;
  /** quatern_b, c, d, qoffset_x, y, z. */
  readonly quatern?: readonly number[];
  /** 12 numbers, srow_x then srow_y then srow_z. */
  readonly srow?: readonly number[];
  readonly description?: string;
  readonly intentCode?: number;
  readonly intentName?: string;
  readonly xyztUnits?: number;
  /** Extension payloads (each padded to a multiple of 16 with its 8-byte esize/ecode). */
  readonly extensions?: readonly { readonly code: number; readonly data: Uint8Array }[];
  readonly voxOffset?: number;
  readonly magic?: string;
}

const sizes: Record<number, number> = {
  2: 1,
  4: 2,
  8: 4,
  16: 4,
  64: 8,
  256: 1,
  512: 2,
  768: 4,
  1024: 8,
  1280: 8,
  32: 8,
  128: 3,
};

function putValue(view: DataView, at: number, datatype: number, v: number, le: boolean): void {
  switch (datatype) {
    case 2:
      return view.setUint8(at, v);
    case 256:
      return view.setInt8(at, v);
    case 4:
      return view.setInt16(at, v, le);
    case 512:
      return view.setUint16(at, v, le);
    case 8:
      return view.setInt32(at, v, le);
    case 768:
      return view.setUint32(at, v, le);
    case 16:
      return view.setFloat32(at, v, le);
    case 64:
      return view.setFloat64(at, v, le);
    case 1024:
      return view.setBigInt64(at, BigInt(v), le);
    case 1280:
      return view.setBigUint64(at, BigInt(v), le);
    default:
      return undefined; // complex, RGB: bytes left 0
  }
}

/** Uncompressed NIfTI bytes. */
export function buildNifti(o: BuildOptions = {}): Uint8Array {
  const version = o.version ?? 1;
  const le = o.littleEndian ?? true;
  const [nx, ny, nz] = o.dims ?? [2, 3, 4];
  const dim = o.dim ?? [3, nx, ny, nz, 1, 1, 1, 1];
  const datatype = o.datatype ?? 16;
  const size = sizes[datatype] ?? 4;
  const n = dim.slice(1, (dim[0] ?? 0) + 1).reduce((a, b) => a * Math.max(b, 0), 1);
  const values = o.values ?? Array.from({ length: n }, (_, i) => i);
  const ext = o.extensions ?? [];
  const extBytes = ext.reduce((a, e) => a + Math.ceil((e.data.length + 8) / 16) * 16, 0);
  const hdr = version === 1 ? 348 : 540;
  const voxOffset = o.voxOffset ?? hdr + 4 + extBytes;
  const out = new Uint8Array(Math.max(voxOffset, hdr + 4 + extBytes) + values.length * size);
  const v = new DataView(out.buffer);
  const str = (at: number, s: string) => [...s].forEach((c, i) => (out[at + i] = c.charCodeAt(0)));
  const pixdim = o.pixdim ?? [1, 1, 1, 1, 1, 1, 1, 1];
  const quatern = o.quatern ?? [0, 0, 0, 0, 0, 0];
  const srow = o.srow ?? [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0];
  v.setInt32(0, hdr, le);
  if (version === 1) {
    dim.forEach((d, i) => v.setInt16(40 + 2 * i, d, le));
    v.setInt16(68, o.intentCode ?? 0, le);
    v.setInt16(70, datatype, le);
    v.setInt16(72, o.bitpix ?? size * 8, le);
    pixdim.forEach((p, i) => v.setFloat32(76 + 4 * i, p, le));
    v.setFloat32(108, voxOffset, le);
    v.setFloat32(112, o.sclSlope ?? 1, le);
    v.setFloat32(116, o.sclInter ?? 0, le);
    out[123] = o.xyztUnits ?? 2;
    str(148, o.description ?? 'built by test');
    v.setInt16(252, o.qformCode ?? 0, le);
    v.setInt16(254, o.sformCode ?? 1, le);
    quatern.forEach((q, i) => v.setFloat32(256 + 4 * i, q, le));
    srow.forEach((s, i) => v.setFloat32(280 + 4 * i, s, le));
    str(328, o.intentName ?? '');
    str(344, o.magic ?? 'n+1\0');
  } else {
    str(4, o.magic ?? 'n+2\0\r\n\x1a\n');
    v.setInt16(12, datatype, le);
    v.setInt16(14, o.bitpix ?? size * 8, le);
    dim.forEach((d, i) => v.setBigInt64(16 + 8 * i, BigInt(d), le));
    pixdim.forEach((p, i) => v.setFloat64(104 + 8 * i, p, le));
    v.setBigInt64(168, BigInt(voxOffset), le);
    v.setFloat64(176, o.sclSlope ?? 1, le);
    v.setFloat64(184, o.sclInter ?? 0, le);
    str(240, o.description ?? 'built by test');
    v.setInt32(344, o.qformCode ?? 0, le);
    v.setInt32(348, o.sformCode ?? 1, le);
    quatern.forEach((q, i) => v.setFloat64(352 + 8 * i, q, le));
    srow.forEach((s, i) => v.setFloat64(400 + 8 * i, s, le));
    v.setInt32(500, o.xyztUnits ?? 2, le);
    v.setInt32(504, o.intentCode ?? 0, le);
    str(508, o.intentName ?? '');
  }
  let at = hdr;
  if (ext.length > 0) out[at] = 1;
  at += 4;
  for (const e of ext) {
    const esize = Math.ceil((e.data.length + 8) / 16) * 16;
    v.setInt32(at, esize, le);
    v.setInt32(at + 4, e.code, le);
    out.set(e.data, at + 8);
    at += esize;
  }
  values.forEach((x, i) => putValue(v, voxOffset + i * size, datatype, x, le));
  return out;
}
