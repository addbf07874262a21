/**
 * Segmenting volumes (NIfTI, DICOM series) with a loaded model: a 3D model in overlapping 3D
 * tiles, a 2D model slice by slice across one axis. Either way the result is a class id and the
 * probabilities per voxel, in NIfTI voxel order, so predict and eval treat both alike.
 */
import { placeSlice, sliceVolume, type NiftiVolume, type SliceAxis } from '../volume/index.js';
import { defined } from '../../util/object.js';
import type { SegmentationModel } from './model.js';
import { predictImage, type PredictOptions } from './predict.js';
import { predictVolume, type VolumeModel } from './volume.js';

/** One volume's segmentation, in NIfTI voxel order. */
export interface VolumeSegmentation {
  /** A class id per voxel. */
  readonly labels: Uint8Array;
  /** Per output channel (one for a sigmoid mask, one per class for softmax), a probability per voxel. */
  readonly probabilities: readonly Float32Array[];
}

/** Segments volumes with a loaded model. */
export interface VolumeSegmenter {
  readonly classes: number;
  readonly threshold: number;
  segment(v: NiftiVolume): Promise<VolumeSegmentation>;
  close(): Promise<void>;
}

/** Tiling and thresholding, as `predict` takes them (test-time augmentation is for images). */
export type VolumeOptions = Pick<PredictOptions, 'tile' | 'overlap' | 'threshold'>;

/** Channel-interleaved probabilities (voxel-major) as one array per channel. */
function planes(probabilities: Float32Array, channels: number): Float32Array[] {
  const voxels = probabilities.length / channels;
  return Array.from({ length: channels }, (_, k) => {
    const out = new Float32Array(voxels);
    for (let p = 0; p < voxels; p++) out[p] = probabilities[p * channels + k]!;
    return out;
  });
}

/** A 3D model segmenting whole volumes in 3D tiles (closing it closes the model). */
export function volumeSegmenter(model: VolumeModel, o: VolumeOptions = {}): VolumeSegmenter {
  const i = model.info;
  return {
    classes: i.classes,
    threshold: o.threshold ?? i.threshold,
    async segment(v) {
      const [nx, ny, nz] = v.dims;
      const p = await predictVolume(
        model,
        v.data,
        [nz, ny, nx],
        defined({ tile: o.tile, threshold: o.threshold, overlap: o.overlap }),
      );
      return { labels: p.classMap, probabilities: planes(p.probabilities, i.classes) };
    },
    close: () => model.close(),
  };
}

/** A 2D model segmenting volumes slice by slice across `axis` (closing it closes the model). */
export function sliceSegmenter(model: SegmentationModel, axis: SliceAxis, o: VolumeOptions = {}): VolumeSegmenter {
  const channels = model.info.classes;
  return {
    classes: channels,
    threshold: o.threshold ?? model.info.threshold,
    async segment(v) {
      const [nx, ny, nz] = v.dims;
      const count = axis === 'z' ? nz : axis === 'y' ? ny : nx;
      const labels = new Uint8Array(nx * ny * nz);
      const probabilities = Array.from({ length: channels }, () => new Float32Array(nx * ny * nz));
      for (let k = 0; k < count; k++) {
        const s = sliceVolume(v.data, v.dims, axis, k);
        const p = await predictImage(
          model,
          { height: s.height, width: s.width, channels: 1, data: s.data },
          defined({ tile: o.tile, threshold: o.threshold, overlap: o.overlap }),
        );
        placeSlice(labels, v.dims, axis, k, { height: s.height, width: s.width, data: p.classMap });
        planes(p.probabilities, channels).forEach((plane, c) =>
          placeSlice(probabilities[c]!, v.dims, axis, k, { height: s.height, width: s.width, data: plane }),
        );
      }
      return { labels, probabilities };
    },
    close: () => model.close(),
  };
}
