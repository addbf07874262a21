/**
 * Reading PNG images and masks. Decoding is fast-png's; this module only walks the chunk framing
 * first (signature, IHDR, chunk lengths, IEND) so that a bad file gets a message that says what is
 * wrong with it, then unpacks 1/2/4-bit rows and palettes, and scales or classifies the values.
 * Every failure is a `DataError` whose message starts with the file path.
 */
import { totalmem } from 'node:os';
import { readFile } from 'node:fs/promises';
import { decode } from 'fast-png';
import { DataError } from '../../util/error.js';

/** Bit depths PNG allows (per color type, see `colorTypes`). */
export type PngBitDepth = 1 | 2 | 4 | 8 | 16;

/** A decoded image: HWC, values scaled to [0, 1] by the file's bit depth (palettes expanded to RGB/RGBA). */
export interface PngImage {
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 2 | 3 | 4;
  readonly bitDepth: PngBitDepth;
  readonly data: Float32Array;
}

/**
 * How a mask's values were read: `binary-max` 0 and the largest value (255 for 8-bit, 65535 for
 * 16-bit) mapped to 0/1; `binary-01` 0/1 (or all 0) kept; `ids` other integers kept as they are
 * (class ids or instance labels).
 */
export type MaskEncoding = 'binary-max' | 'binary-01' | 'ids';

/** A decoded mask or label map: one integer per pixel, row-major. */
export interface PngMask {
  readonly width: number;
  readonly height: number;
  readonly bitDepth: PngBitDepth;
  readonly encoding: MaskEncoding;
  /** The distinct values in the file, sorted (before the binary-max mapping). */
  readonly values: readonly number[];
  readonly data: Uint16Array;
}

const colorTypes: Record<
  number,
  { readonly name: string; readonly channels: 1 | 2 | 3 | 4; readonly depths: readonly number[] }
> = {
  0: { name: 'grayscale', channels: 1, depths: [1, 2, 4, 8, 16] },
  2: { name: 'RGB', channels: 3, depths: [8, 16] },
  3: { name: 'palette', channels: 1, depths: [1, 2, 4, 8] },
  4: { name: 'grayscale+alpha', channels: 2, depths: [8, 16] },
  6: { name: 'RGBA', channels: 4, depths: [8, 16] },
};

const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** CRC-32 (the PNG/zlib polynomial), table-driven. */
const crcTable = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = (crcTable[(c ^ b) & 0xff] ?? 0) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

interface Header {
  readonly width: number;
  readonly height: number;
  readonly bitDepth: PngBitDepth;
  readonly colorType: number;
}

/**
 * The largest image read: 2^28 pixels (16384x16384), or fewer where the machine's memory is
 * smaller (segmenting takes about 40 bytes per pixel: the image, per-class probabilities, masks).
 */
export const MAX_PIXELS = Math.min(2 ** 28, Math.floor((0.5 * totalmem()) / 40));

/** Checks the signature, the IHDR, and that every chunk up to IEND fits in the file and has a good CRC. */
function checkFraming(bytes: Uint8Array, path: string): Header {
  if (bytes.length === 0) throw new DataError(path, 'empty file (0 bytes)');
  if (bytes.length < 8 || signature.some((b, i) => bytes[i] !== b))
    throw new DataError(path, 'not a PNG file (bad signature)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const typeAt = (o: number): string => String.fromCharCode(...bytes.subarray(o, o + 4));
  if (bytes.length < 33) throw new DataError(path, `truncated: ${bytes.length} bytes, too short for the IHDR header`);
  if (typeAt(12) !== 'IHDR' || view.getUint32(8) !== 13)
    throw new DataError(path, `corrupt: first chunk is '${typeAt(12)}', expected IHDR`);
  const width = view.getUint32(16);
  const height = view.getUint32(20);
  const bitDepth = bytes[24] ?? 0;
  const colorType = bytes[25] ?? 0;
  if (width === 0 || height === 0) throw new DataError(path, `corrupt: image size ${width}x${height}`);
  // Checked before decoding: a 194 KB file can hold 40000x40000 pixels, which would take the
  // process's memory down with it instead of being named and skipped.
  if (width * height > MAX_PIXELS) {
    const side = Math.floor(Math.sqrt(MAX_PIXELS));
    throw new DataError(
      path,
      `${width}x${height} is ${Math.round((width * height) / 1e6)} megapixels, more than unetc reads in one piece on this machine (${Math.round(MAX_PIXELS / 1e6)} megapixels, e.g. ${side}x${side}): crop it into parts or downscale it`,
    );
  }
  const ct = colorTypes[colorType];
  if (!ct) throw new DataError(path, `unsupported color type ${colorType}`);
  if (!ct.depths.includes(bitDepth)) {
    throw new DataError(path, `unsupported bit depth ${bitDepth} for ${ct.name} (PNG allows ${ct.depths.join(', ')})`);
  }
  let offset = 8;
  let sawData = false;
  while (offset + 8 <= bytes.length) {
    const length = view.getUint32(offset);
    const type = typeAt(offset + 4);
    if (offset + 12 + length > bytes.length) {
      throw new DataError(
        path,
        `truncated: chunk ${type} at byte ${offset} needs ${12 + length} bytes, the file has ${bytes.length - offset} left`,
      );
    }
    if (crc32(bytes.subarray(offset + 4, offset + 8 + length)) !== view.getUint32(offset + 8 + length)) {
      throw new DataError(path, `corrupt: CRC mismatch in chunk ${type} at byte ${offset} (the file is damaged)`);
    }
    if (type === 'IDAT') sawData = true;
    if (type === 'IEND') {
      if (!sawData) throw new DataError(path, 'corrupt: no IDAT (image data) chunk');
      return { width, height, bitDepth: bitDepth as PngBitDepth, colorType };
    }
    offset += 12 + length;
  }
  throw new DataError(path, `truncated: no IEND chunk (the file ends at byte ${bytes.length})`);
}

/** Integer samples, HWC, sub-byte rows unpacked; palette images keep their indices. */
interface RawPng extends Header {
  readonly channels: 1 | 2 | 3 | 4;
  readonly samples: Uint8Array | Uint16Array;
  readonly palette: readonly (readonly number[])[] | undefined;
  readonly transparency: Uint16Array | undefined;
}

function unpack(packed: Uint8Array, width: number, height: number, depth: number): Uint8Array {
  const stride = Math.ceil((width * depth) / 8);
  const out = new Uint8Array(width * height);
  const mask = (1 << depth) - 1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const bit = x * depth;
      const byte = packed[y * stride + (bit >> 3)] ?? 0;
      out[y * width + x] = (byte >> (8 - depth - (bit & 7))) & mask;
    }
  }
  return out;
}

function decodeRaw(bytes: Uint8Array, path: string): RawPng {
  const header = checkFraming(bytes, path);
  const ct = colorTypes[header.colorType]!;
  let png: ReturnType<typeof decode>;
  try {
    png = decode(bytes);
  } catch (error) {
    // fast-png wraps zlib errors: 'Error while decompressing the data:' with the reason as the cause.
    const reasons: string[] = [];
    for (let e: unknown = error; e !== undefined && reasons.length < 3; e = e instanceof Error ? e.cause : undefined) {
      reasons.push(e instanceof Error ? e.message.replace(/:$/, '') : String(e));
    }
    throw new DataError(path, `corrupt: ${reasons.join(': ')}`, { cause: error });
  }
  const { width, height, bitDepth } = header;
  const samples = bitDepth < 8 ? unpack(png.data as Uint8Array, width, height, bitDepth) : png.data;
  if (samples.length !== width * height * ct.channels) {
    throw new DataError(path, `corrupt: decoded ${samples.length} samples, expected ${width * height * ct.channels}`);
  }
  const raw =
    samples instanceof Uint16Array ? samples : samples instanceof Uint8Array ? samples : new Uint8Array(samples);
  return { ...header, channels: ct.channels, samples: raw, palette: png.palette, transparency: png.transparency };
}

/** Decodes PNG bytes into an image scaled to [0, 1]; `path` is only used in error messages. */
export function decodeImage(bytes: Uint8Array, path: string): PngImage {
  const raw = decodeRaw(bytes, path);
  const { width, height, bitDepth } = raw;
  if (raw.colorType === 3) {
    const palette = raw.palette ?? [];
    const alpha = raw.transparency && raw.transparency.length > 0 ? raw.transparency : undefined;
    const channels = alpha ? 4 : 3;
    const data = new Float32Array(width * height * channels);
    for (let p = 0; p < width * height; p++) {
      const index = raw.samples[p] ?? 0;
      const color = palette[index];
      if (!color)
        throw new DataError(path, `corrupt: palette index ${index} outside the ${palette.length}-color palette`);
      for (let c = 0; c < 3; c++) data[p * channels + c] = (color[c] ?? 0) / 255;
      if (alpha) data[p * channels + 3] = (alpha[index] ?? 255) / 255;
    }
    return { width, height, channels, bitDepth, data };
  }
  const scale = 1 / (2 ** bitDepth - 1);
  const data = new Float32Array(raw.samples.length);
  for (let i = 0; i < data.length; i++) data[i] = (raw.samples[i] ?? 0) * scale;
  return { width, height, channels: raw.channels, bitDepth, data };
}

/** One integer per pixel: gray (alpha ignored), palette indices, or RGB whose channels agree. */
function maskPlane(raw: RawPng, path: string): Uint16Array {
  const n = raw.width * raw.height;
  const out = new Uint16Array(n);
  const c = raw.channels;
  for (let p = 0; p < n; p++) {
    const v = raw.samples[p * c] ?? 0;
    if (c >= 3 && (raw.samples[p * c + 1] !== v || raw.samples[p * c + 2] !== v)) {
      const rgb = [0, 1, 2].map((k) => raw.samples[p * c + k] ?? 0).join(',');
      throw new DataError(
        path,
        `color mask: pixel (${p % raw.width}, ${Math.floor(p / raw.width)}) is (${rgb}); expected grayscale values or a palette PNG of class ids`,
      );
    }
    out[p] = v;
  }
  return out;
}

/** Decodes PNG bytes into integer mask values, detecting 0/255 (0/max) and 0/1 binary masks. */
export function decodeMask(bytes: Uint8Array, path: string): PngMask {
  const raw = decodeRaw(bytes, path);
  const data = maskPlane(raw, path);
  const seen = new Uint8Array(65536);
  for (let p = 0; p < data.length; p++) seen[data[p] ?? 0] = 1;
  const values: number[] = [];
  for (let v = 0; v < seen.length; v++) if (seen[v]) values.push(v);
  const max = 2 ** raw.bitDepth - 1;
  let encoding: MaskEncoding = 'ids';
  if (values.every((v) => v === 0 || v === 1)) encoding = 'binary-01';
  else if (raw.colorType !== 3 && values.every((v) => v === 0 || v === max)) {
    encoding = 'binary-max';
    for (let p = 0; p < data.length; p++) data[p] = data[p] === max ? 1 : 0;
  }
  return { width: raw.width, height: raw.height, bitDepth: raw.bitDepth, encoding, values, data };
}

/** Reads a file, turning file-system errors into `DataError`s. */
export async function readBytes(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'is a folder, not a file'
          : code === 'EACCES'
            ? 'permission denied'
            : String(error);
    throw new DataError(path, `cannot read: ${why}`, { cause: error });
  }
}

/** Reads and decodes an image PNG. */
export async function readImage(path: string): Promise<PngImage> {
  return decodeImage(await readBytes(path), path);
}

/** Reads and decodes a mask or label-map PNG. */
export async function readMask(path: string): Promise<PngMask> {
  return decodeMask(await readBytes(path), path);
}
