/**
 * Opening a model for volumes (NIfTI, DICOM series), as `predict` and `eval` do: a 3D model
 * segments in 3D tiles, a 2D model slice by slice across --slice-axis (runtime/infer/segmenter.ts);
 * this prints what the model is and refuses one that does not take one channel.
 */
import { loadVolumeModel } from '../runtime/infer/volume.js';
import {
  sliceSegmenter,
  volumeSegmenter,
  type VolumeOptions,
  type VolumeSegmenter,
} from '../runtime/infer/segmenter.js';
import type { SegmentationModel } from '../runtime/infer/index.js';
import type { SliceAxis } from '../runtime/volume/index.js';
import { UsageError, type CliIO } from './io.js';

/**
 * A segmenter for NIfTI volumes: a 3D model segments in 3D tiles; a 2D model (opened as
 * `predict` opens it, printing what it is) slice by slice across `o.sliceAxis`.
 */
export async function openVolumeSegmenter(
  io: CliIO,
  modelPath: string,
  threeD: boolean,
  o: VolumeOptions & { readonly sliceAxis: SliceAxis; readonly backend?: string },
  open2d: () => Promise<SegmentationModel>,
): Promise<VolumeSegmenter> {
  const options: VolumeOptions = { tile: o.tile, overlap: o.overlap, threshold: o.threshold };
  if (threeD) {
    const model = await loadVolumeModel(modelPath, o.backend === undefined ? {} : { backend: o.backend });
    const i = model.info;
    io.stderr(`engine: ${model.engine}\n`);
    io.stderr(
      `model: ${i.path} (${i.name}: 3D, ${i.inputChannels} channel -> ${i.classes === 1 ? `1 class (${i.activation})` : `${i.classes} classes`}, input ${i.normalization}, sides ${i.sizes.every((r) => r.text === i.sizes[0]!.text) ? i.sizes[0]!.text : i.sizes.map((r, a) => `${['depth', 'height', 'width'][a]} ${r.text}`).join(', ')}${i.margin.some((m) => m > 0) ? `, output ${i.margin.join('x')} smaller on each side` : ''})\n`,
    );
    if (i.inputChannels !== 1) {
      await model.close();
      throw new UsageError(`${i.path} takes ${i.inputChannels} channels; NIfTI volumes have one`);
    }
    return volumeSegmenter(model, options);
  }
  const model = await open2d();
  if (model.info.inputChannels !== 1) {
    await model.close();
    throw new UsageError(`${model.info.path} takes ${model.info.inputChannels} channels; NIfTI volumes have one`);
  }
  return sliceSegmenter(model, o.sliceAxis, options);
}
