/**
 * Validation images with predictions for the report: the run's own validation set (regenerated
 * from its seed for synthetic data, read again from its folders otherwise), segmented by a model.
 */
import { specClasses, type Graph } from '../../compiler/ir/index.js';
import { loadModel, predictImage, type SegmentationModel } from '../infer/index.js';
import { folderData, syntheticData, type Example } from '../train/data.js';
import type { RunManifest } from '../train/run.js';
import type { ReportSample } from './overlay.js';
import { loadVolumeModel, predictVolume } from '../infer/volume.js';
import type { VolumeExample } from '../train/volume-data.js';

/** How many validation images a report shows by default. */
export const REPORT_SAMPLES = 8;

/**
 * The run's validation examples, as training saw them: synthetic runs regenerate them with
 * `syntheticData` from the seed, counts and size in the data fingerprint
 * (`synthetic:SEED:TRAIN:VAL:SIZE`); folder runs read `data.dir` (and `data.valDir`) again
 * and split them with the run's seed. Synthetic runs make only the first `max`. Throws when a
 * folder is gone or has problems.
 */
export async function validationExamples(
  manifest: RunManifest,
  graph: Graph,
  max = Infinity,
): Promise<readonly Example[]> {
  const d = manifest.data;
  const synthetic = /^synthetic:(\d+):(\d+):(\d+):(\d+)$/.exec(d.fingerprint);
  if (synthetic) {
    const [seed, , val, size] = synthetic.slice(1).map(Number) as [number, number, number, number];
    // Validation seeds depend only on (seed, index): the first `max` are made, no training images.
    return syntheticData(seed, graph.inputChannels, { train: 0, val: Math.min(val, max) }, size, graph).val;
  }
  if (d.dir === undefined) throw new Error(`run.json names no data folder and no synthetic seed (data: ${d.source})`);
  const data = await folderData(d.dir, {
    ...(d.valDir !== undefined ? { valDir: d.valDir } : {}),
    valSplit: d.valSplit,
    seed: manifest.settings.seed,
    channels: graph.inputChannels,
    classes: specClasses(graph),
    ...(graph.instances ? { instances: graph.instances } : {}),
  });
  return data.val;
}

/** Segments up to `max` examples with a loaded model: the image as read, its mask and the prediction. */
export async function predictExamples(
  model: SegmentationModel,
  examples: readonly Example[],
  max = REPORT_SAMPLES,
): Promise<ReportSample[]> {
  const out: ReportSample[] = [];
  for (const ex of examples.slice(0, max)) {
    const prediction = await predictImage(model, ex.image);
    out.push({ name: ex.name, image: ex.image, truth: ex.mask.data, predicted: prediction.classMap });
  }
  return out;
}

/**
 * Loads a model (a run folder's model.onnx, else its best/ checkpoint; or any MODEL path that
 * `unetc predict` takes), segments up to `max` examples and closes the model again.
 */
export async function predictSamples(
  model: string,
  examples: readonly Example[],
  max = REPORT_SAMPLES,
): Promise<ReportSample[]> {
  const loaded = await loadModel(model, { threads: 1 });
  try {
    return await predictExamples(loaded, examples, max);
  } finally {
    await loaded.close();
  }
}

/**
 * 3D runs: each validation volume segmented in 3D by the model, shown as its middle z slice
 * (image, truth and prediction), named `NAME z=K`.
 */
export async function predictVolumeSamples(
  model: string,
  volumes: readonly VolumeExample[],
  max = REPORT_SAMPLES,
): Promise<ReportSample[]> {
  const loaded = await loadVolumeModel(model, { threads: 1 });
  try {
    const out: ReportSample[] = [];
    for (const v of volumes.slice(0, max)) {
      const [d, h, w] = v.dims;
      const p = await predictVolume(loaded, v.image, v.dims);
      const z = d >> 1;
      const at = z * h * w;
      out.push({
        name: `${v.name} z=${z}`,
        image: { height: h, width: w, channels: 1, data: v.image.slice(at, at + h * w) },
        truth: v.mask.slice(at, at + h * w),
        predicted: p.classMap.slice(at, at + h * w),
      });
    }
    return out;
  } finally {
    await loaded.close();
  }
}
