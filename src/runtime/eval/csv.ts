/**
 * The evaluation as CSV: one row per image, then two summary rows whose `file` is `(mean per
 * image)` and `(pooled)`. Instance columns are empty where an image has no label map; per-class
 * Dice columns appear for models with three classes or more.
 */
import { basename } from 'node:path';
import type { EvalReport, ImageEval, SummaryScores } from './evaluate.js';
import { instanceScores, type InstanceCounts, type InstanceScores } from './match.js';
import type { VolumeEvalReport } from './volumes.js';

/** A CSV field, quoted when it holds a comma, a quote or a line break (RFC 4180). */
export function csvField(value: string | number | undefined): string {
  if (value === undefined) return '';
  const text = typeof value === 'number' ? (Number.isInteger(value) ? String(value) : value.toFixed(6)) : value;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

const row = (fields: readonly (string | number | undefined)[]) => `${fields.map(csvField).join(',')}\n`;

/** The columns for a model with `classes` classes (class names label the per-class columns when given). */
function header(classes: number, classNames: readonly string[] | undefined): string[] {
  const perClass =
    classes >= 3 ? Array.from({ length: classes - 1 }, (_, i) => `dice_${classNames?.[i + 1] ?? i + 1}`) : [];
  return [
    'file',
    'height',
    'width',
    'dice',
    'iou',
    'pixel_accuracy',
    ...perClass,
    'true_instances',
    'predicted_instances',
    'matched',
    'precision',
    'recall',
    'f1',
    'ms',
  ];
}

function instanceFields(i: (Partial<InstanceCounts> & InstanceScores) | undefined): (number | undefined)[] {
  return [i?.truth, i?.predicted, i?.matched, i?.precision, i?.recall, i?.f1];
}

function scoreFields(s: SummaryScores | ImageEval, classes: number): number[] {
  const perClass = classes >= 3 ? s.perClass.slice(1).map((c) => c.dice) : [];
  return [s.dice, s.iou, s.pixelAccuracy, ...perClass];
}

/** The report as CSV text. */
export function evalCsv(report: EvalReport, classes: number, classNames?: readonly string[]): string {
  let out = row(header(classes, classNames));
  for (const r of report.images) {
    out += row([
      basename(r.image),
      r.height,
      r.width,
      ...scoreFields(r, classes),
      ...instanceFields(r.instances),
      Math.round(r.ms),
    ]);
  }
  const inst = report.instances;
  out += row([
    '(mean per image)',
    undefined,
    undefined,
    ...scoreFields(report.mean, classes),
    ...instanceFields(inst && { ...inst.mean }),
    undefined,
  ]);
  out += row([
    '(pooled)',
    undefined,
    undefined,
    ...scoreFields(report.pooled, classes),
    ...instanceFields(inst?.pooled),
    undefined,
  ]);
  return out;
}

/**
 * A volume evaluation as CSV: one row per volume, then `(mean per volume)` and `(pooled)`;
 * instance columns when any volume has an instance label volume (empty for the others).
 */
export function volumeEvalCsv(r: VolumeEvalReport): string {
  const withInstances = r.volumes.some((v) => v.instances);
  const inst = (c: InstanceCounts | undefined) =>
    withInstances ? (c ? `,${c.truth},${c.predicted},${c.matched},${instanceScores(c).f1.toFixed(6)}` : ',,,,') : '';
  const line = (
    name: string,
    s: { dice: number; iou: number; pixelAccuracy: number },
    ms: string,
    c?: InstanceCounts,
  ) => `${csvField(name)},${s.dice.toFixed(6)},${s.iou.toFixed(6)},${s.pixelAccuracy.toFixed(6)},${ms}${inst(c)}\n`;
  return [
    `volume,dice,iou,voxel_accuracy,ms${withInstances ? ',instances_true,instances_predicted,instances_matched,instance_f1' : ''}\n`,
    ...r.volumes.map((v) => line(v.name, v.scores, String(Math.round(v.ms)), v.instances)),
    line('(mean per volume)', r.mean, ''),
    line('(pooled)', r.pooled, ''),
  ].join('');
}
