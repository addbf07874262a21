/**
 * `eval` on a data folder, images (PNG) and volumes (NIfTI) through one entry: every problem with
 * the folder is found before anything runs (then nothing is scored); otherwise each image or
 * volume is segmented as `predict` would and scored, with a callback after each (for progress),
 * and the report comes back with its CSV. Images are scored by `evaluateDataset` (per class when
 * several, instances against labels/), volumes by `evaluateVolumes` (instances against instances/).
 */
import { formatProblems, scanDataset } from '../data/index.js';
import type { PredictTarget } from '../infer/folder.js';
import { maskClasses } from '../infer/model.js';
import { evalCsv, volumeEvalCsv } from './csv.js';
import { evaluateDataset, type EvalOptions, type EvalReport, type ImageEval } from './evaluate.js';
import { evaluateVolumes, type VolumeEval, type VolumeEvalReport } from './volumes.js';

export interface FolderEvalOptions extends EvalOptions {
  /** Volumes: components under this many voxels are background (default 0), 6 or 26 neighbours (default 26). */
  readonly connectivity3d?: 6 | 26;
}

/** What an evaluation gives: the folder's problems (nothing scored), or a report of one kind. */
export type FolderEval =
  | { readonly kind: 'problems'; readonly problems: readonly string[]; readonly where: string }
  | {
      readonly kind: 'images';
      readonly report: EvalReport;
      /** Mask classes (2 for a binary model) and their names, as the report and CSV count them. */
      readonly classes: number;
      readonly classNames: readonly string[] | undefined;
      readonly csv: string;
    }
  | { readonly kind: 'volumes'; readonly report: VolumeEvalReport; readonly csv: string };

/** Progress: one image's or volume's scores, its index, how many in all. */
export type EvalProgress = (
  item: { readonly image: ImageEval } | { readonly volume: VolumeEval },
  index: number,
  total: number,
) => void;

/** Evaluates `target` on the data folder `dir` (see the top of this file). */
export async function evaluateFolder(
  target: PredictTarget,
  dir: string,
  o: FolderEvalOptions = {},
  onItem?: EvalProgress,
): Promise<FolderEval> {
  if (target.kind === 'volumes') {
    const result = await evaluateVolumes(
      target.segmenter,
      dir,
      { minSize: o.minSize ?? 0, connectivity: o.connectivity3d ?? 26 },
      (volume, i, n) => onItem?.({ volume }, i, n),
    );
    if ('problems' in result) return { kind: 'problems', ...result };
    return { kind: 'volumes', report: result.report, csv: volumeEvalCsv(result.report) };
  }
  const info = target.model.info;
  // A boundary model's masks are binary: its 3 channels are background, interior and boundary.
  const classes = maskClasses(info);
  const classNames = info.instances ? undefined : info.classNames;
  const scan = await scanDataset(dir, { classes });
  if (scan.problems.length > 0) return { kind: 'problems', problems: formatProblems(scan.problems), where: dir };
  const total = scan.samples.length;
  const report = await evaluateDataset(target.model, scan.samples, o, (image, i) => onItem?.({ image }, i, total));
  return { kind: 'images', report, classes, classNames, csv: evalCsv(report, classes, classNames) };
}
