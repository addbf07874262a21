/**
 * The volumes a 3D network trains on: types alone, so that data.ts (whose TrainingData holds them)
 * and volume-data.ts (which reads them and uses data.ts's helpers) do not import each other.
 */
import type { NormalizationParams } from '../data/index.js';

/** One volume and its label map, with the normalization computed on the whole volume. */
export interface VolumeExample {
  readonly name: string;
  /** [depth, height, width] = NIfTI [nz, ny, nx]. */
  readonly dims: readonly [number, number, number];
  readonly channels: number;
  /** DHWC, as read (not normalized). */
  readonly image: Float32Array;
  /** DHW class ids. */
  readonly mask: Uint16Array;
  readonly norm: NormalizationParams;
}

export interface VolumeData {
  readonly train: readonly VolumeExample[];
  readonly val: readonly VolumeExample[];
  readonly source: string;
  readonly fingerprint: string;
}
