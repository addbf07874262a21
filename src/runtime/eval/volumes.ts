/**
 * Evaluating on a NIfTI data folder: each volume segmented as `predict` would (a 3D model in 3D
 * tiles, a 2D one slice by slice) and scored against its label volume: Dice, IoU and voxel
 * accuracy per volume, their mean, and pooled over all voxels. With an `instances/` folder of
 * instance label volumes (same names as images/), also instance precision, recall and F1 of the
 * predicted 3D connected components at IoU > 0.5, per volume and pooled. Every problem with the
 * folder is found before anything runs.
 */
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { DataError, formatProblems } from '../data/index.js';
import { connectedComponents3d } from '../infer/instances3d.js';
import type { VolumeSegmenter } from '../infer/segmenter.js';
import { ConfusionCounts, type Scores } from './metrics.js';
import { nonFiniteCount } from '../data/index.js';
import { readNifti, scanVolumeDataset } from '../volume/index.js';
import { addCounts, instanceScores, matchInstances, type InstanceCounts, type InstanceScores } from './match.js';

/** One volume's scores. */
export interface VolumeEval {
  readonly name: string;
  /** x, y, z. */
  readonly dims: readonly number[];
  readonly scores: Scores;
  readonly ms: number;
  readonly instances?: InstanceCounts;
}

export interface VolumeEvalReport {
  readonly volumes: readonly VolumeEval[];
  readonly mean: { readonly dice: number; readonly iou: number; readonly pixelAccuracy: number };
  readonly pooled: Scores;
  /** Over the volumes with an instance label volume; undefined when none has one. */
  readonly instances:
    | { readonly volumes: number; readonly pooled: InstanceCounts & InstanceScores; readonly mean: InstanceScores }
    | undefined;
}

/** What the folder is wrong in (nothing was evaluated), or the report. */
export type VolumeEvalResult =
  { readonly problems: readonly string[]; readonly where: string } | { readonly report: VolumeEvalReport };

/** Post-processing as `predict` applies it: components under `minSize` voxels are background. */
export interface VolumeClean {
  readonly minSize: number;
  readonly connectivity: 6 | 26;
}

/** Scores every volume of `dir`, calling `onVolume` after each (for progress). */
export async function evaluateVolumes(
  segmenter: VolumeSegmenter,
  dir: string,
  clean: VolumeClean = { minSize: 0, connectivity: 26 },
  onVolume?: (v: VolumeEval, index: number, total: number) => void,
): Promise<VolumeEvalResult> {
  const classes = Math.max(2, segmenter.classes);
  const scan = await scanVolumeDataset(dir, { classes: segmenter.classes });
  if (scan.problems.length > 0) return { problems: formatProblems(scan.problems), where: dir };
  const instanceDir = join(dir, 'instances');
  const instanceFile = (name: string) =>
    [`${name}.nii.gz`, `${name}.nii`].map((f) => join(instanceDir, f)).find((f) => existsSync(f));
  // Instance volumes are checked before anything runs, as the rest of the folder is.
  const problems: string[] = [];
  for (const s of scan.samples) {
    const file = instanceFile(s.name);
    if (file === undefined) continue;
    try {
      const v = await readNifti(file);
      if (v.dims.join('x') !== s.dims.join('x'))
        problems.push(`${file}: is ${v.dims.join('x')}, its image ${s.dims.join('x')}`);
    } catch (e) {
      if (!(e instanceof DataError)) throw e;
      problems.push(e.message);
    }
  }
  if (problems.length > 0) return { problems, where: instanceDir };
  const pooled = new ConfusionCounts(classes);
  const volumes: VolumeEval[] = [];
  for (const [index, s] of scan.samples.entries()) {
    const [image, labels] = await Promise.all([readNifti(s.image), readNifti(s.mask)]);
    const bad = nonFiniteCount(image.data);
    if (bad > 0)
      throw new DataError(s.image, `${bad} voxel${bad === 1 ? ' is' : 's are'} NaN or infinite; evaluation stopped`);
    const truth = Uint8Array.from(labels.data, (v) => (s.maskEncoding !== 'ids' ? (v > 0 ? 1 : 0) : Math.round(v)));
    const start = performance.now();
    const [nx, ny, nz] = image.dims;
    const raw = (await segmenter.segment(image)).labels;
    const kept = clean.minSize > 0 ? connectedComponents3d(raw, [nz, ny, nx], clean).labels : undefined;
    const predicted = kept ? raw.map((v, p) => (kept[p] ? v : 0)) : raw;
    const ms = performance.now() - start;
    pooled.add(predicted, truth);
    const truthFile = instanceFile(s.name);
    let instances: InstanceCounts | undefined;
    if (truthFile) {
      const trueIds = await readNifti(truthFile);
      instances = matchInstances(
        Uint32Array.from(trueIds.data, (v) => Math.round(v)),
        connectedComponents3d(predicted, [nz, ny, nx], clean).labels,
      );
    }
    const v: VolumeEval = {
      name: basename(s.image),
      dims: image.dims,
      scores: new ConfusionCounts(classes).add(predicted, truth).scores(),
      ms,
      ...(instances ? { instances } : {}),
    };
    volumes.push(v);
    onVolume?.(v, index, scan.samples.length);
  }
  const mean = (key: 'dice' | 'iou' | 'pixelAccuracy') =>
    volumes.reduce((a, r) => a + r.scores[key], 0) / Math.max(1, volumes.length);
  const counts = volumes.flatMap((r) => (r.instances ? [r.instances] : []));
  const total = addCounts(counts);
  const meanOf = (k: 'precision' | 'recall' | 'f1') =>
    counts.reduce((a, c) => a + instanceScores(c)[k], 0) / counts.length;
  return {
    report: {
      volumes,
      mean: { dice: mean('dice'), iou: mean('iou'), pixelAccuracy: mean('pixelAccuracy') },
      pooled: pooled.scores(),
      instances:
        counts.length === 0
          ? undefined
          : {
              volumes: counts.length,
              pooled: { ...total, ...instanceScores(total) },
              mean: { precision: meanOf('precision'), recall: meanOf('recall'), f1: meanOf('f1') },
            },
    },
  };
}
