/**
 * `unetc eval` on a NIfTI data folder: the scoring is runtime/eval/volumes.ts's; this prints
 * each volume's line, the summary table and writes the CSV.
 */
import { volumeEvalCsv } from '../runtime/eval/csv.js';
import { instanceScores } from '../runtime/eval/index.js';
import { evaluateVolumes, type VolumeClean, type VolumeEvalReport } from '../runtime/eval/volumes.js';
import type { VolumeSegmenter } from '../runtime/infer/segmenter.js';
import { writeFileAtomic, type CliIO } from './io.js';

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

/** Scores every volume of `dir`; returns the exit code (1 when the folder has problems). */
export async function evalVolumes(
  io: CliIO,
  segmenter: VolumeSegmenter,
  dir: string,
  out: string | undefined,
  clean: VolumeClean = { minSize: 0, connectivity: 26 },
): Promise<number> {
  const result = await evaluateVolumes(segmenter, dir, clean, (v, index, total) => {
    const c = v.instances;
    const inst = c
      ? `  F1 ${f3(instanceScores(c).f1)} (${c.matched} of ${c.truth} matched, ${c.predicted} predicted)`
      : '';
    io.stdout(
      `[${index + 1}/${total}] ${v.name} ${v.dims.join('x')} ${Math.round(v.ms)} ms  Dice ${f3(v.scores.dice)}  IoU ${f3(v.scores.iou)}${inst}\n`,
    );
  });
  if ('problems' in result) {
    for (const line of result.problems) io.stderr(`error: ${line}\n`);
    io.stderr(
      `error: ${result.problems.length} problem${result.problems.length === 1 ? '' : 's'} in ${result.where}; nothing was evaluated\n`,
    );
    return 1;
  }
  io.stdout([...summary(result.report), ''].join('\n'));
  if (out !== undefined) {
    writeFileAtomic(out, volumeEvalCsv(result.report));
    io.stdout(`wrote ${out}\n`);
  }
  return 0;
}
