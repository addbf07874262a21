import { basename } from 'node:path';
import { guardOutputs } from '../runtime/data/index.js';
import type { EvalReport, ImageEval } from '../runtime/eval/index.js';
import { evaluateFolder } from '../runtime/eval/folder.js';
import { isVolumeFolder } from '../runtime/train/volume-data.js';
import { volumeLine, volumeSummary } from './eval-volume.js';
import { UsageError, writeFileAtomic, type CliIO } from './io.js';
import { runTuneSplit } from './tune-split.js';
import {
  checkConnectivity,
  modelPathOf,
  openTarget,
  parseInferenceFlags,
  sliceAxisOf,
  type InferenceFlags,
} from './open.js';

/** `unetc eval` flags, as Commander gives them. */
export interface EvalCommandOptions extends InferenceFlags {
  readonly data?: string;
  readonly out?: string;
  readonly sliceAxis?: string;
  /** Score the grid of split settings instead (runtime/eval/tune-split.ts). */
  readonly tuneSplit?: boolean;
}

/** Text for `--help` (added by main.ts with `addHelpText('after', ...)`). */
export const EVAL_HELP = `
DIR holds images/ and masks/ (and optionally labels/, 16-bit instance label maps) matched by file
name, as for training. Every problem in it is reported before anything runs. Each image is
predicted as \`unetc predict\` would (same --tile, --overlap, --threshold, --min-size) and scored:
  Dice, IoU, pixel accuracy   per image; "mean per image" averages them (every image counts the
                              same), "pooled" scores all pixels of all images as one
  instance precision/recall/F1  when labels/ exist: a predicted component matches a true
                              instance when their IoU is above 0.5; per image, their mean, and
                              pooled (from the summed counts)
Empty-mask rule: a class absent from both the mask and the prediction scores 1 (Dice and IoU),
and an image with no true and no predicted instances has F1 1.
--out FILE.csv writes one row per image and two summary rows, "(mean per image)" and "(pooled)".

A folder of NIfTI volumes (images/*.nii[.gz] with masks/ or labels/ of the same names) is scored
per volume (Dice, IoU, voxel accuracy; mean per volume and pooled), each volume segmented as
\`unetc predict\` would: in 3D tiles by a 3D model, slice by slice (--slice-axis) by a 2D one.
With instances/ (instance label volumes of the same names), also instance F1 of the 3D components.

--tune-split (a boundary model, labels/ in DIR): instead, the pooled instance F1 of each split
setting, seed thresholds 0.5-0.8 by waist depths 0.5-3 px, each image predicted once, and the best
to pass as --split or to keep in the spec (output.split). Tune on images the model did not train on.
`;

const f3 = (v: number) => v.toFixed(3);

function imageLine(r: ImageEval, index: number, total: number): string {
  const inst = r.instances
    ? `  F1 ${f3(r.instances.f1)} (${r.instances.matched} of ${r.instances.truth} matched, ${r.instances.predicted} predicted)`
    : '';
  return `[${index + 1}/${total}] ${basename(r.image)} ${r.width}x${r.height} ${Math.round(r.ms)} ms  Dice ${f3(r.dice)}  IoU ${f3(r.iou)}${inst}\n`;
}

/** The printed summary: segmentation scores (mean and pooled), per class when several, then instances. */
export function summaryTable(report: EvalReport, classes: number, classNames?: readonly string[]): string {
  const pad = (s: string, n: number) => s.padEnd(n);
  const W = 24;
  const rows = [
    `${pad('', W)}${pad('Dice', 9)}${pad('IoU', 9)}pixel accuracy`,
    `${pad('mean per image', W)}${pad(f3(report.mean.dice), 9)}${pad(f3(report.mean.iou), 9)}${f3(report.mean.pixelAccuracy)}`,
    `${pad('pooled (all pixels)', W)}${pad(f3(report.pooled.dice), 9)}${pad(f3(report.pooled.iou), 9)}${f3(report.pooled.pixelAccuracy)}`,
  ];
  if (classes >= 3) {
    for (let c = 1; c < classes; c++) {
      const name = classNames?.[c] ?? `class ${c}`;
      rows.push(
        `${pad(`  ${name}`, W)}Dice ${f3(report.mean.perClass[c]!.dice)} (mean), ${f3(report.pooled.perClass[c]!.dice)} (pooled)`,
      );
    }
  }
  const inst = report.instances;
  if (inst) {
    const p = inst.pooled;
    rows.push(
      `instances (IoU > 0.5), ${inst.images} image${inst.images === 1 ? '' : 's'} with labels/:`,
      `${pad('', W)}${pad('precision', 11)}${pad('recall', 9)}F1`,
      `${pad('mean per image', W)}${pad(f3(inst.mean.precision), 11)}${pad(f3(inst.mean.recall), 9)}${f3(inst.mean.f1)}`,
      `${pad('pooled (all instances)', W)}${pad(f3(p.precision), 11)}${pad(f3(p.recall), 9)}${f3(p.f1)}  (${p.matched} matched, ${p.predicted - p.matched} false positive, ${p.truth - p.matched} missed)`,
    );
  } else rows.push('instances: no labels/ in the data folder, so no instance F1');
  return `${rows.join('\n')}\n`;
}

/**
 * `unetc eval MODEL --data DIR [--out FILE.csv]`: scores the model's masks against the data
 * set's (the work is runtime/eval/folder.ts's, images and volumes alike). Exit 0, 1 (a model or
 * data problem: every data problem is listed first), 2 (usage).
 */
export async function runEval(io: CliIO, modelArg: string, options: EvalCommandOptions): Promise<number> {
  const modelPath = modelPathOf(io, modelArg);
  if (!options.data)
    throw new UsageError('give the data folder with --data DIR (images/ and masks/, optionally labels/)');
  if (options.out !== undefined && !/\.csv$/i.test(options.out))
    throw new UsageError(`--out takes a .csv file, found '${options.out}'`);
  const flags = parseInferenceFlags(options);
  const sliceAxis = sliceAxisOf(options.sliceAxis);
  if (options.out !== undefined) guardOutputs([options.out], { overwrite: options.overwrite, what: 'the scores' });
  const volumes = await isVolumeFolder(options.data);
  checkConnectivity(options.connectivity, volumes);
  if (options.tuneSplit) {
    if (volumes) throw new UsageError('--tune-split is for 2D boundary models on images (PNG), not volumes');
    if (options.out !== undefined || flags.split)
      throw new UsageError('--tune-split writes no --out and tries its own --split settings');
    return runTuneSplit(io, modelPath, options.data, flags, options.backend);
  }
  const target = await openTarget(io, modelPath, flags, { volumes, sliceAxis, backend: options.backend });
  try {
    const result = await evaluateFolder(target, options.data, flags, (item, i, total) =>
      io.stdout('image' in item ? imageLine(item.image, i, total) : volumeLine(item.volume, i, total)),
    );
    if (result.kind === 'problems') {
      for (const line of result.problems) io.stderr(`error: ${line}\n`);
      const n = result.problems.length;
      io.stderr(`error: ${n} problem${n === 1 ? '' : 's'} in ${result.where}; nothing was evaluated\n`);
      return 1;
    }
    io.stdout(
      result.kind === 'images'
        ? summaryTable(result.report, result.classes, result.classNames)
        : volumeSummary(result.report),
    );
    if (options.out !== undefined) {
      writeFileAtomic(options.out, result.csv);
      io.stdout(`wrote ${options.out}\n`);
    }
    return 0;
  } finally {
    await (target.kind === 'images' ? target.model.close() : target.segmenter.close());
  }
}
