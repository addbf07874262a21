/**
 * One DICOM Part 10 file of a series: dicom-parser walks the data elements (the deflated transfer
 * syntax is inflated here, with Node's zlib); this module picks out the tags a volume needs, says
 * which files it cannot read and why, and unpacks the native (uncompressed) pixel data itself.
 *
 * Read: single-frame, one sample per pixel, MONOCHROME2, 8 or 16 bits allocated (signed or not per
 * PixelRepresentation, masked to BitsStored), in Implicit VR LE, Explicit VR LE or BE, or Deflated
 * Explicit VR LE. MONOCHROME1 (lowest value shown white) is refused rather than inverted: its
 * stored values keep their meaning (RescaleSlope/Intercept apply to them as they are), so
 * inverting them would change the numbers a model sees, and not inverting would give it inverted
 * contrast; CT and MR series are MONOCHROME2.
 */
import { inflateRawSync } from 'node:zlib';
import dicomParser, { type DataSet } from 'dicom-parser';
import { DataError } from '../../util/error.js';

/** The uncompressed transfer syntaxes read, by UID. */
export const nativeTransferSyntaxes: Readonly<Record<string, string>> = {
  '1.2.840.10008.1.2': 'Implicit VR Little Endian',
  '1.2.840.10008.1.2.1': 'Explicit VR Little Endian',
  '1.2.840.10008.1.2.2': 'Explicit VR Big Endian',
  '1.2.840.10008.1.2.1.99': 'Deflated Explicit VR Little Endian',
};

/** Transfer syntaxes with encapsulated (compressed) pixel data, named in refusals. */
const encapsulated: Readonly<Record<string, string>> = {
  '1.2.840.10008.1.2.1.98': 'Encapsulated Uncompressed Explicit VR Little Endian',
  '1.2.840.10008.1.2.4.50': 'JPEG Baseline (Process 1)',
  '1.2.840.10008.1.2.4.51': 'JPEG Extended (Process 2 & 4)',
  '1.2.840.10008.1.2.4.57': 'JPEG Lossless (Process 14)',
  '1.2.840.10008.1.2.4.70': 'JPEG Lossless (Process 14, SV1)',
  '1.2.840.10008.1.2.4.80': 'JPEG-LS Lossless',
  '1.2.840.10008.1.2.4.81': 'JPEG-LS Near-Lossless',
  '1.2.840.10008.1.2.4.90': 'JPEG 2000 (Lossless Only)',
  '1.2.840.10008.1.2.4.91': 'JPEG 2000',
  '1.2.840.10008.1.2.4.92': 'JPEG 2000 Part 2 Multi-component (Lossless Only)',
  '1.2.840.10008.1.2.4.93': 'JPEG 2000 Part 2 Multi-component',
  '1.2.840.10008.1.2.4.201': 'High-Throughput JPEG 2000 (Lossless Only)',
  '1.2.840.10008.1.2.4.202': 'High-Throughput JPEG 2000 with RPCL (Lossless Only)',
  '1.2.840.10008.1.2.4.203': 'High-Throughput JPEG 2000',
  '1.2.840.10008.1.2.5': 'RLE Lossless',
};

/** Media Storage Directory (DICOMDIR): an index of files, never an image. */
const directorySopClass = '1.2.840.10008.1.3.10';

/** The tags of one image file that the series reader uses. */
export interface DicomSlice {
  readonly path: string;
  readonly seriesUid: string;
  readonly seriesDescription: string;
  readonly transferSyntax: string;
  readonly rows: number;
  readonly columns: number;
  /** PixelSpacing as stored: [row spacing (between rows), column spacing (between columns)], mm. */
  readonly pixelSpacing: readonly number[];
  /** ImageOrientationPatient: row cosine (x, y, z), then column cosine. */
  readonly orientation: readonly number[];
  /** ImagePositionPatient: the centre of the first voxel, LPS mm. */
  readonly position: readonly number[];
  readonly sliceThickness: number | undefined;
  readonly dataSet: DataSet;
}

/** Whether the bytes are a DICOM Part 10 file (128-byte preamble, then 'DICM'). */
export const hasDicomPreamble = (bytes: Uint8Array): boolean =>
  bytes.length >= 132 && bytes[128] === 0x44 && bytes[129] === 0x49 && bytes[130] === 0x43 && bytes[131] === 0x4d;

const thrownMessage = (e: unknown): string => {
  const inner = typeof e === 'object' && e !== null && 'exception' in e ? (e as { exception: unknown }).exception : e;
  return inner instanceof Error ? inner.message : String(inner);
};

/**
 * The deflated syntax's data set, inflated after the file meta group. Passed to dicom-parser
 * because its own Node path calls Buffer methods on the input and fails on a plain Uint8Array.
 */
function inflater(bytes: Uint8Array, position: number): Uint8Array {
  const inflated = inflateRawSync(bytes.subarray(position));
  const out = new Uint8Array(position + inflated.length);
  out.set(bytes.subarray(0, position));
  out.set(inflated, position);
  return out;
}

/** A tag's backslash-separated decimal values ([] when absent or empty). */
function numbers(ds: DataSet, tag: string): number[] {
  const s = ds.string(tag);
  if (s === undefined || s.trim() === '') return [];
  return s.split('\\').map((v) => Number(v.trim()));
}

function required(ds: DataSet, tag: string, name: string, count: number, path: string): number[] {
  const v = numbers(ds, tag);
  if (v.length !== count || !v.every(Number.isFinite)) {
    const found = ds.elements[tag] ? `'${ds.string(tag) ?? ''}'` : 'nothing';
    throw new DataError(
      path,
      `${name} (${tag.slice(1, 5)},${tag.slice(5)}) must be ${count} numbers, found ${found}; cannot place this image in space`,
    );
  }
  return v;
}

/**
 * Parses one file. Returns undefined for files that are not DICOM images (no 'DICM' preamble,
 * a DICOMDIR, or an object without pixel data such as a structured report); throws a
 * `DataError` for a DICOM file that is corrupt.
 */
export function parseDicomSlice(bytes: Uint8Array, path: string): DicomSlice | undefined {
  if (!hasDicomPreamble(bytes)) return undefined;
  let ds: DataSet;
  try {
    ds = dicomParser.parseDicom(bytes, { inflater });
  } catch (error) {
    throw new DataError(path, `corrupt DICOM file: ${thrownMessage(error)}`, { cause: error });
  }
  if (ds.string('x00020002') === directorySopClass || !ds.elements.x7fe00010) return undefined;
  return {
    path,
    seriesUid: ds.string('x0020000e') ?? '',
    seriesDescription: ds.string('x0008103e') ?? '',
    transferSyntax: ds.string('x00020010') ?? '',
    rows: ds.uint16('x00280010') ?? 0,
    columns: ds.uint16('x00280011') ?? 0,
    pixelSpacing: numbers(ds, 'x00280030'),
    orientation: numbers(ds, 'x00200037'),
    position: numbers(ds, 'x00200032'),
    sliceThickness: numbers(ds, 'x00180050')[0],
    dataSet: ds,
  };
}

/** Refuses what this reader cannot turn into a volume slice: compression, color, multi-frame, no geometry. */
export function checkSliceFormat(s: DicomSlice): void {
  const { dataSet: ds, path } = s;
  const ts = s.transferSyntax;
  if (!nativeTransferSyntaxes[ts]) {
    const name = encapsulated[ts] ?? (ts.startsWith('1.2.840.10008.1.2.4.') ? 'compressed' : 'unknown');
    throw new DataError(
      path,
      `transfer syntax ${ts || '(none)'} (${name}) is not read; only uncompressed pixel data is (${Object.values(nativeTransferSyntaxes).join(', ')}): decompress the series first (e.g. gdcmconv --raw or dcmdjpeg)`,
    );
  }
  const photometric = ds.string('x00280004') ?? '';
  if (photometric === 'MONOCHROME1') {
    throw new DataError(
      path,
      'PhotometricInterpretation MONOCHROME1 (lowest value shown white) is not read: inverting it would change what the rescaled values mean; expected MONOCHROME2',
    );
  }
  const samples = ds.uint16('x00280002') ?? 1;
  if (photometric !== 'MONOCHROME2' || samples !== 1) {
    throw new DataError(
      path,
      `PhotometricInterpretation '${photometric}' with ${samples} samples per pixel is not read; expected a grayscale image (MONOCHROME2, 1 sample per pixel)`,
    );
  }
  const frames = numbers(ds, 'x00280008')[0] ?? 1;
  if (frames !== 1)
    throw new DataError(
      path,
      `a multi-frame image (NumberOfFrames ${frames}); only series of single-frame files are read`,
    );
  const bits = ds.uint16('x00280100');
  if (bits !== 8 && bits !== 16)
    throw new DataError(path, `BitsAllocated ${bits ?? '(missing)'} is not read; expected 8 or 16`);
  const stored = ds.uint16('x00280101') ?? bits;
  const high = ds.uint16('x00280102') ?? stored - 1;
  if (!(stored >= 1 && stored <= bits) || high !== stored - 1) {
    throw new DataError(
      path,
      `BitsStored ${stored} with HighBit ${high} is not read; expected HighBit = BitsStored - 1 <= BitsAllocated (${bits})`,
    );
  }
  if (!(s.rows >= 1 && s.columns >= 1))
    throw new DataError(path, `image size ${s.columns}x${s.rows} (Columns x Rows); expected at least 1x1`);
  required(ds, 'x00200037', 'ImageOrientationPatient', 6, path);
  required(ds, 'x00200032', 'ImagePositionPatient', 3, path);
  const spacing = required(ds, 'x00280030', 'PixelSpacing', 2, path);
  if (!spacing.every((v) => v > 0))
    throw new DataError(path, `PixelSpacing must be positive, found ${spacing.join('\\')}`);
}

/**
 * The slice's values as float32 in stored order (index column + Columns * row), masked to
 * BitsStored, sign-extended when PixelRepresentation is 1, then value * RescaleSlope +
 * RescaleIntercept (so CT comes out in HU). Call `checkSliceFormat` first.
 */
export function slicePixels(s: DicomSlice): Float32Array {
  const ds = s.dataSet;
  const element = ds.elements.x7fe00010!;
  const bits = ds.uint16('x00280100')!;
  const stored = ds.uint16('x00280101') ?? bits;
  const signed = ds.uint16('x00280103') === 1;
  const n = s.rows * s.columns;
  const bytes = bits / 8;
  if (element.length < n * bytes) {
    throw new DataError(
      s.path,
      `truncated pixel data: ${s.columns}x${s.rows} ${bits}-bit pixels need ${n * bytes} bytes, PixelData has ${element.length}`,
    );
  }
  // dataSet.byteArray, not the file's bytes: for the deflated syntax it is the inflated copy.
  const view = new DataView(ds.byteArray.buffer, ds.byteArray.byteOffset + element.dataOffset, n * bytes);
  const littleEndian = s.transferSyntax !== '1.2.840.10008.1.2.2';
  const mask = stored === 32 ? -1 : 2 ** stored - 1;
  const shift = 32 - stored;
  const slope = numbers(ds, 'x00281053')[0] ?? 1;
  const intercept = numbers(ds, 'x00281052')[0] ?? 0;
  if (!Number.isFinite(slope) || !Number.isFinite(intercept) || slope === 0) {
    throw new DataError(
      s.path,
      `RescaleSlope ${slope} and RescaleIntercept ${intercept}: expected finite numbers and a slope other than 0`,
    );
  }
  const out = new Float32Array(n);
  for (let p = 0; p < n; p++) {
    const raw = bytes === 1 ? view.getUint8(p) : view.getUint16(2 * p, littleEndian);
    // Bits above BitsStored may hold overlays (retired) or garbage: mask, then sign-extend.
    const v = signed ? ((raw & mask) << shift) >> shift : raw & mask;
    out[p] = v * slope + intercept;
  }
  return out;
}
