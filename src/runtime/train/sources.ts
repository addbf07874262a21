/**
 * Where a run's training data comes from: with no folder, the built-in synthetic nuclei (images)
 * or synthetic volumes (a 3D spec); a PNG folder; or a NIfTI folder, as 3D patches for a 3D spec
 * or as the slices across one axis for a 2D spec. Validation is `valDir`, else `valSplit` of the
 * folder, chosen with `seed`.
 */
import { specClasses, type Graph } from '../../compiler/ir/types.js';
import type { SliceAxis } from '../volume/index.js';
import { normalizationParams } from '../data/index.js';
import { DataProblems, folderData, syntheticData, type Example, type TrainingData } from './data.js';
import type { VolumeExample } from './volume-types.js';
import {
  isVolumeFolder,
  middleSlices,
  sliceExamples,
  syntheticVolumeData,
  volumeFolderData,
  volumeNormalization,
} from './volume-data.js';

export interface DataChoice {
  /** The data folder; undefined for the built-in synthetic data. */
  readonly dir: string | undefined;
  readonly valDir: string | undefined;
  readonly valSplit: number;
  readonly seed: number;
  /** A 2D spec on volumes: the axis its slices are taken across. */
  readonly sliceAxis: SliceAxis;
}

/** The training and validation examples of `graph`'s run; a DataProblems listing every problem found. */
export async function loadTrainingData(graph: Graph, c: DataChoice): Promise<TrainingData> {
  return normalizedAs(await loadData(graph, c), graph);
}

/**
 * The examples with the normalization `graph` trains with. The loaders compute the per-image
 * z-score (the default) as they read; a spec with `input.normalize: percentile` gets each image's
 * (and volume's) own percentiles instead, over the same pixels.
 */
function normalizedAs(data: TrainingData, graph: Graph): TrainingData {
  if (graph.normalize === undefined) return data;
  const settings = { mode: graph.normalize };
  const images = (es: readonly Example[]) => es.map((e) => ({ ...e, norm: normalizationParams(e.image, settings) }));
  const volumes = (vs: readonly VolumeExample[]) =>
    vs.map((v) => ({ ...v, norm: volumeNormalization(v.dims, v.image, settings.mode) }));
  return {
    ...data,
    train: images(data.train),
    val: images(data.val),
    ...(data.reportExamples ? { reportExamples: images(data.reportExamples) } : {}),
    ...(data.volumes
      ? { volumes: { ...data.volumes, train: volumes(data.volumes.train), val: volumes(data.volumes.val) } }
      : {}),
  };
}

async function loadData(graph: Graph, c: DataChoice): Promise<TrainingData> {
  const none = { train: [], val: [] };
  if (c.dir === undefined) {
    if (graph.dims === 3) {
      const volumes = syntheticVolumeData(c.seed);
      return { ...none, volumes, source: volumes.source, fingerprint: volumes.fingerprint };
    }
    return syntheticData(c.seed, graph.inputChannels, undefined, undefined, graph);
  }
  const options = {
    valDir: c.valDir,
    valSplit: c.valSplit,
    seed: c.seed,
    channels: graph.inputChannels,
    classes: specClasses(graph),
    ...(graph.instances ? { instances: graph.instances } : {}),
  };
  if (await isVolumeFolder(c.dir)) {
    const volumes = await volumeFolderData(c.dir, options);
    if (graph.dims === 3) return { ...none, volumes, source: volumes.source, fingerprint: volumes.fingerprint };
    // A 2D spec on volumes: every slice across the chosen axis is an image.
    return {
      train: sliceExamples(volumes.train, c.sliceAxis),
      val: sliceExamples(volumes.val, c.sliceAxis),
      reportExamples: middleSlices(volumes.val, c.sliceAxis),
      source: `${volumes.source}, ${c.sliceAxis} slices`,
      fingerprint: `${volumes.fingerprint}:${c.sliceAxis}`,
    };
  }
  if (graph.dims === 3)
    throw new DataProblems([
      `${c.dir}: a 3D spec (input.dims: 3) trains on NIfTI volumes (images/*.nii or *.nii.gz), and ${c.dir}/images has none`,
    ]);
  return folderData(c.dir, options);
}
