/**
 * Loading a scanned pair into the arrays training uses: the image in HWC with the spec's number of
 * channels, the mask as class ids, and the instance labels when there are any.
 */
import type { DatasetSample } from './folder.js';
import { DataError } from '../../util/error.js';
import { decodeImage, decodeMask, readBytes, type PngImage } from './png.js';

/** A loaded pair: `image` is HWC in [0, 1], `mask` and `labels` are H*W integers. */
export interface LoadedSample {
  readonly stem: string;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly image: Float32Array;
  readonly mask: Uint16Array;
  readonly labels: Uint16Array | undefined;
}

/**
 * An image with `channels` channels: alpha is dropped, gray is repeated into RGB, and RGB becomes
 * gray by Rec. 601 luma (0.299 R + 0.587 G + 0.114 B).
 */
export function toChannels(image: PngImage, channels: number, path: string): Float32Array {
  const { width, height, data } = image;
  const from = image.channels;
  if (from === channels) return data;
  const colorIn = from >= 3;
  const n = width * height;
  if (channels === 1) {
    const out = new Float32Array(n);
    for (let p = 0; p < n; p++) {
      const q = p * from;
      out[p] = colorIn
        ? 0.299 * (data[q] ?? 0) + 0.587 * (data[q + 1] ?? 0) + 0.114 * (data[q + 2] ?? 0)
        : (data[q] ?? 0);
    }
    return out;
  }
  if (channels === 3) {
    const out = new Float32Array(n * 3);
    for (let p = 0; p < n; p++) {
      for (let c = 0; c < 3; c++) out[p * 3 + c] = data[p * from + (colorIn ? c : 0)] ?? 0;
    }
    return out;
  }
  throw new DataError(path, `has ${from} channel${from === 1 ? '' : 's'}; the spec expects ${channels}`);
}

/** Reads a scanned pair (see `scanDataset`) for a spec with `channels` input channels. */
export async function loadSample(sample: DatasetSample, channels: number): Promise<LoadedSample> {
  const image = decodeImage(await readBytes(sample.image), sample.image);
  const mask = decodeMask(await readBytes(sample.mask), sample.mask);
  const labels =
    sample.labels === undefined ? undefined : decodeMask(await readBytes(sample.labels), sample.labels).data;
  return {
    stem: sample.stem,
    height: image.height,
    width: image.width,
    channels,
    image: toChannels(image, channels, sample.image),
    mask: mask.data,
    labels,
  };
}
