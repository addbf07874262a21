/**
 * Where the NIfTI-1 and NIfTI-2 header fields that unetc reads or rewrites live, and the voxel
 * datatypes. nifti-reader-js parses the header for us, but the writers patch a copy of the
 * original bytes in place (so every other field, extensions included, is kept byte for byte),
 * which needs the offsets; they are the ones in nifti1.h and nifti2.h.
 */

/** NIfTI-1 (348-byte header, 32-bit fields) or NIfTI-2 (540-byte header, 64-bit fields). */
export type NiftiVersion = 1 | 2;

type FieldType = 'i16' | 'i32' | 'i64' | 'f32' | 'f64';

/** A header field (or the first element of an array field). */
export interface Field {
  readonly offset: number;
  readonly type: FieldType;
}

const bytesOf: Record<FieldType, number> = { i16: 2, i32: 4, i64: 8, f32: 4, f64: 8 };

/** The fields unetc touches, per version. */
export interface Layout {
  /** sizeof_hdr, also the header size. */
  readonly size: number;
  /** Where the magic string starts, and what it is for a single file (.nii) and a .hdr/.img pair. */
  readonly magicAt: number;
  readonly magic: string;
  readonly pairMagic: string;
  readonly dim: Field;
  readonly datatype: Field;
  readonly bitpix: Field;
  readonly pixdim: Field;
  readonly voxOffset: Field;
  readonly sclSlope: Field;
  readonly sclInter: Field;
  readonly calMax: Field;
  readonly calMin: Field;
  readonly srow: Field;
}

export const layouts: Readonly<Record<NiftiVersion, Layout>> = {
  1: {
    size: 348,
    magicAt: 344,
    magic: 'n+1\0',
    pairMagic: 'ni1\0',
    dim: { offset: 40, type: 'i16' },
    datatype: { offset: 70, type: 'i16' },
    bitpix: { offset: 72, type: 'i16' },
    pixdim: { offset: 76, type: 'f32' },
    voxOffset: { offset: 108, type: 'f32' },
    sclSlope: { offset: 112, type: 'f32' },
    sclInter: { offset: 116, type: 'f32' },
    calMax: { offset: 124, type: 'f32' },
    calMin: { offset: 128, type: 'f32' },
    srow: { offset: 280, type: 'f32' },
  },
  2: {
    size: 540,
    magicAt: 4,
    magic: 'n+2\0\r\n\x1a\n',
    pairMagic: 'ni2\0\r\n\x1a\n',
    dim: { offset: 16, type: 'i64' },
    datatype: { offset: 12, type: 'i16' },
    bitpix: { offset: 14, type: 'i16' },
    pixdim: { offset: 104, type: 'f64' },
    voxOffset: { offset: 168, type: 'i64' },
    sclSlope: { offset: 176, type: 'f64' },
    sclInter: { offset: 184, type: 'f64' },
    calMax: { offset: 192, type: 'f64' },
    calMin: { offset: 200, type: 'f64' },
    srow: { offset: 400, type: 'f64' },
  },
};

/** Reads element `index` of a field. */
export function getField(view: DataView, field: Field, littleEndian: boolean, index = 0): number {
  const at = field.offset + index * bytesOf[field.type];
  switch (field.type) {
    case 'i16':
      return view.getInt16(at, littleEndian);
    case 'i32':
      return view.getInt32(at, littleEndian);
    case 'i64':
      return Number(view.getBigInt64(at, littleEndian));
    case 'f32':
      return view.getFloat32(at, littleEndian);
    case 'f64':
      return view.getFloat64(at, littleEndian);
    default: {
      const never: never = field.type;
      throw new Error(`unknown field type ${String(never)}`);
    }
  }
}

/** Writes element `index` of a field. */
export function setField(view: DataView, field: Field, littleEndian: boolean, value: number, index = 0): void {
  const at = field.offset + index * bytesOf[field.type];
  switch (field.type) {
    case 'i16':
      return view.setInt16(at, value, littleEndian);
    case 'i32':
      return view.setInt32(at, value, littleEndian);
    case 'i64':
      return view.setBigInt64(at, BigInt(value), littleEndian);
    case 'f32':
      return view.setFloat32(at, value, littleEndian);
    case 'f64':
      return view.setFloat64(at, value, littleEndian);
    default: {
      const never: never = field.type;
      throw new Error(`unknown field type ${String(never)}`);
    }
  }
}

/** A real scalar voxel type unetc reads. */
export interface Datatype {
  readonly name: string;
  readonly bytes: 1 | 2 | 4 | 8;
  /** The value at byte `at` of a view. */
  readonly get: (view: DataView, at: number, littleEndian: boolean) => number;
}

/** Real scalar datatypes (nifti1.h DT_*), which are read. */
export const datatypes: Readonly<Record<number, Datatype>> = {
  2: { name: 'uint8', bytes: 1, get: (v, at) => v.getUint8(at) },
  4: { name: 'int16', bytes: 2, get: (v, at, le) => v.getInt16(at, le) },
  8: { name: 'int32', bytes: 4, get: (v, at, le) => v.getInt32(at, le) },
  16: { name: 'float32', bytes: 4, get: (v, at, le) => v.getFloat32(at, le) },
  64: { name: 'float64', bytes: 8, get: (v, at, le) => v.getFloat64(at, le) },
  256: { name: 'int8', bytes: 1, get: (v, at) => v.getInt8(at) },
  512: { name: 'uint16', bytes: 2, get: (v, at, le) => v.getUint16(at, le) },
  768: { name: 'uint32', bytes: 4, get: (v, at, le) => v.getUint32(at, le) },
  1024: { name: 'int64', bytes: 8, get: (v, at, le) => Number(v.getBigInt64(at, le)) },
  1280: { name: 'uint64', bytes: 8, get: (v, at, le) => Number(v.getBigUint64(at, le)) },
};

/** Datatypes that exist but are not one real number per voxel, named for the error message. */
export const unsupportedDatatypes: Readonly<Record<number, string>> = {
  0: 'unknown (DT_UNKNOWN)',
  1: 'binary (1 bit per voxel)',
  32: 'complex64',
  128: 'RGB24',
  1536: 'float128',
  1792: 'complex128',
  2048: 'complex256',
  2304: 'RGBA32',
};

/** The datatype codes the writers use. */
export const DT_UINT8 = 2;
export const DT_FLOAT32 = 16;
export const DT_UINT16 = 512;
