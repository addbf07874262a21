/**
 * What `unetc eval` prints for a NIfTI data folder (the scoring is runtime/eval/volumes.ts's):
 * a line per volume and the summary table.
 */
import { instanceScores } from '../runtime/eval/index.js';
import type { VolumeEval, VolumeEvalReport } from '../runtime/eval/volumes.js';

const f3 = (v: number) => v.toFixed(3);
const pad = (t: string, n: number) => t.padEnd(n);

/** The summary: mean per volume and pooled, then the instances (or why there are none). */
function summary(r: VolumeEvalReport): string[] {
  const lines = [
    `${pad('', 24)}${pad('Dice', 9)}${pad('IoU', 9)}voxel accuracy`,
    `${pad('mean per volume', 24)}${pad(f3(r.mean.dice), 9)}${pad(f3(r.mean.iou), 9)}${f3(r.mean.pixelAccuracy)}`,
    `${pad('pooled (all voxels)', 24)}${pad(f3(r.pooled.dice), 9)}${pad(f3(r.pooled.iou), 9)}${f3(r.pooled.pixelAccuracy)}`,
  ];
  const inst = r.instances;
  if (!inst) return [...lines, 'instances: no instances/ folder (instance label volumes), so no instance F1'];
  const p = inst.pooled;
  return [
    ...lines,
    `instances (IoU > 0.5), ${inst.volumes} volume${inst.volumes === 1 ? '' : 's'} with instances/:`,
    `${pad('', 24)}${pad('precision', 11)}${pad('recall', 9)}F1`,
    `${pad('mean per volume', 24)}${pad(f3(inst.mean.precision), 11)}${pad(f3(inst.mean.recall), 9)}${f3(inst.mean.f1)}`,
    `${pad('pooled (all instances)', 24)}${pad(f3(p.precision), 11)}${pad(f3(p.recall), 9)}${f3(p.f1)}  (${p.matched} matched, ${p.predicted - p.matched} false positive, ${p.truth - p.matched} missed)`,
  ];
}

/** One volume's line of progress. */
export function volumeLine(v: VolumeEval, index: number, total: number): string {
  const c = v.instances;
  const inst = c
    ? `  F1 ${f3(instanceScores(c).f1)} (${c.matched} of ${c.truth} matched, ${c.predicted} predicted)`
    : '';
  return `[${index + 1}/${total}] ${v.name} ${v.dims.join('x')} ${Math.round(v.ms)} ms  Dice ${f3(v.scores.dice)}  IoU ${f3(v.scores.iou)}${inst}\n`;
}

/** The printed summary of a volume evaluation. */
export function volumeSummary(r: VolumeEvalReport): string {
  return [...summary(r), ''].join('\n');
}
