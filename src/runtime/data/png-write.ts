/**
 * Writing grayscale PNGs: 8-bit masks (0/255 or class/label ids), 16-bit instance label maps and
 * 8/16-bit intensity images (probability maps, previews). Files are written atomically: to a
 * temporary file in the same folder, then renamed over the target, so a reader never sees half a
 * file and an interrupted run leaves the old file in place.
 */
import { writeFileAtomic } from './atomic.js';
import { encode } from 'fast-png';
import { DataError } from '../../util/error.js';

/** A single-channel raster, row-major. */
export interface GrayRaster<T extends ArrayLike<number>> {
  readonly width: number;
  readonly height: number;
  readonly data: T;
}

function checkSize(r: GrayRaster<ArrayLike<number>>, path: string): void {
  if (!(Number.isInteger(r.width) && Number.isInteger(r.height) && r.width > 0 && r.height > 0)) {
    throw new DataError(path, `cannot write a ${r.width}x${r.height} image`);
  }
  if (r.data.length !== r.width * r.height) {
    throw new DataError(
      path,
      `cannot write: ${r.data.length} values for a ${r.width}x${r.height} image (expected ${r.width * r.height})`,
    );
  }
}

/**
 * An 8-bit grayscale mask. With `binary`, every non-zero value is written as 255 (the usual
 * 0/255 mask); otherwise values are written as they are (class ids or labels up to 255).
 */
export function encodeMask(
  mask: GrayRaster<ArrayLike<number>>,
  path: string,
  options: { readonly binary?: boolean } = {},
): Uint8Array {
  checkSize(mask, path);
  const out = new Uint8Array(mask.data.length);
  for (let p = 0; p < out.length; p++) {
    const v = mask.data[p] ?? 0;
    if (options.binary) out[p] = v ? 255 : 0;
    else if (!(Number.isInteger(v) && v >= 0 && v <= 255)) {
      throw new DataError(
        path,
        `cannot write value ${v} into an 8-bit mask (integers 0..255; use a 16-bit label map for more ids)`,
      );
    } else out[p] = v;
  }
  return encode({ width: mask.width, height: mask.height, data: out, channels: 1, depth: 8 });
}

/** A 16-bit grayscale instance label map (0 background, ids up to 65535). */
export function encodeLabels(labels: GrayRaster<ArrayLike<number>>, path: string): Uint8Array {
  checkSize(labels, path);
  const out = new Uint16Array(labels.data.length);
  for (let p = 0; p < out.length; p++) {
    const v = labels.data[p] ?? 0;
    if (!(Number.isInteger(v) && v >= 0 && v <= 65535))
      throw new DataError(path, `cannot write label ${v} into a 16-bit label map (integers 0..65535)`);
    out[p] = v;
  }
  return encode({ width: labels.width, height: labels.height, data: out, channels: 1, depth: 16 });
}

/** An 8- or 16-bit grayscale image from intensities in [0, 1] (clipped; NaN becomes 0). */
export function encodeGray(image: GrayRaster<ArrayLike<number>>, path: string, bitDepth: 8 | 16 = 8): Uint8Array {
  checkSize(image, path);
  const max = bitDepth === 16 ? 65535 : 255;
  const out = bitDepth === 16 ? new Uint16Array(image.data.length) : new Uint8Array(image.data.length);
  for (let p = 0; p < out.length; p++) {
    const v = image.data[p] ?? 0;
    out[p] = Number.isNaN(v) ? 0 : Math.round(Math.min(1, Math.max(0, v)) * max);
  }
  return encode({ width: image.width, height: image.height, data: out, channels: 1, depth: bitDepth });
}

/** Writes an 8-bit mask PNG atomically (see `encodeMask`). */
export async function writeMask(
  path: string,
  mask: GrayRaster<ArrayLike<number>>,
  options: { readonly binary?: boolean } = {},
): Promise<void> {
  await writeFileAtomic(path, encodeMask(mask, path, options));
}

/** Writes a 16-bit label-map PNG atomically. */
export async function writeLabels(path: string, labels: GrayRaster<ArrayLike<number>>): Promise<void> {
  await writeFileAtomic(path, encodeLabels(labels, path));
}

/** Writes an 8- or 16-bit grayscale image PNG atomically. */
export async function writeGray(
  path: string,
  image: GrayRaster<ArrayLike<number>>,
  bitDepth: 8 | 16 = 8,
): Promise<void> {
  await writeFileAtomic(path, encodeGray(image, path, bitDepth));
}
