/**
 * `unetc eval` on a NIfTI data folder: each volume segmented as `predict` would (a 3D model in
 * 3D tiles, a 2D one slice by slice) and scored against its label volume: Dice, IoU and voxel
 * accuracy per volume, their mean, and pooled over all voxels. With an `instances/` folder of
 * instance label volumes (same names as images/), also instance precision, recall and F1 of the
 * predicted 3D connected components at IoU > 0.5, per volume and pooled.
 */
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { DataError, formatProblems } from '../runtime/data/index.js';
import { addCounts, csvField, instanceScores, matchInstances, type InstanceCounts } from '../runtime/eval/index.js';
import { ConfusionCounts, type Scores } from '../runtime/train/metrics.js';
import { nonFiniteCount } from '../runtime/train/volume-data.js';
import { readNifti, scanVolumeDataset } from '../runtime/volume/index.js';
import { writeFileAtomic, type CliIO } from './io.js';
import { connectedComponents3d } from '../runtime/infer/instances3d.js';
import type { VolumeSegmenter } from './predict-volume.js';

const f3 = (v: number) => v.toFixed(3);

/** The instance summary: mean over volumes with instances/ and pooled counts, or why there is none. */
function instanceLines(counts: readonly InstanceCounts[], pad: (t: string, n: number) => string): string[] {
  if (counts.length === 0) return ['instances: no instances/ folder (instance label volumes), so no instance F1'];
  const mean = (k: 'precision' | 'recall' | 'f1') => counts.reduce((a, c) => a + instanceScores(c)[k], 0) / counts.length;
  const total = addCounts(counts);
  const p = instanceScores(total);
  return [
    `instances (IoU > 0.5), ${counts.length} volume${counts.length === 1 ? '' : 's'} with instances/:`,
    `${pad('', 24)}${pad('precision', 11)}${pad('recall', 9)}F1`,
    `${pad('mean per volume', 24)}${pad(f3(mean('precision')), 11)}${pad(f3(mean('recall')), 9)}${f3(mean('f1'))}`,
    `${pad('pooled (all instances)', 24)}${pad(f3(p.precision), 11)}${pad(f3(p.recall), 9)}${f3(p.f1)}  (${total.matched} matched, ${total.predicted - total.matched} false positive, ${total.truth - total.matched} missed)`,
  ];
}

/** Scores every volume of `dir`; returns the exit code (1 when the folder has problems). */
export async function evalVolumes(io: CliIO, segmenter: VolumeSegmenter, dir: string, out: string | undefined, clean: { minSize: number; connectivity: 6 | 26 } = { minSize: 0, connectivity: 26 }): Promise<number> {
  const classes = Math.max(2, segmenter.classes);
  const scan = await scanVolumeDataset(dir, { classes: segmenter.classes });
  if (scan.problems.length > 0) {
    for (const line of formatProblems(scan.problems)) io.stderr(`error: ${line}\n`);
    io.stderr(`error: ${scan.problems.length} problem${scan.problems.length === 1 ? '' : 's'} in ${dir}; nothing was evaluated\n`);
    return 1;
  }
  const instanceDir = join(dir, 'instances');
  const instanceFile = (name: string) => [`${name}.nii.gz`, `${name}.nii`].map((f) => join(instanceDir, f)).find((f) => existsSync(f));
  // Instance volumes are checked before anything runs, as the rest of the folder is.
  const instanceProblems: string[] = [];
  for (const s of scan.samples) {
    const file = instanceFile(s.name);
    if (file === undefined) continue;
    try {
      const v = await readNifti(file);
      if (v.dims.join('x') !== s.dims.join('x')) instanceProblems.push(`${file}: is ${v.dims.join('x')}, its image ${s.dims.join('x')}`);
    } catch (e) {
      if (!(e instanceof DataError)) throw e;
      instanceProblems.push(e.message);
    }
  }
  if (instanceProblems.length > 0) {
    for (const line of instanceProblems) io.stderr(`error: ${line}\n`);
    io.stderr(`error: ${instanceProblems.length} problem${instanceProblems.length === 1 ? '' : 's'} in ${instanceDir}; nothing was evaluated\n`);
    return 1;
  }
  const pooled = new ConfusionCounts(classes);
  const rows: { name: string; scores: Scores; ms: number; instances?: InstanceCounts }[] = [];
  for (const [index, s] of scan.samples.entries()) {
    const [image, labels] = await Promise.all([readNifti(s.image), readNifti(s.mask)]);
    const bad = nonFiniteCount(image.data);
    if (bad > 0) {
      io.stderr(`error: ${s.image}: ${bad} voxel${bad === 1 ? ' is' : 's are'} NaN or infinite; evaluation stopped\n`);
      return 1;
    }
    const truth = Uint8Array.from(labels.data, (v) => (s.maskEncoding !== 'ids' ? (v > 0 ? 1 : 0) : Math.round(v)));
    const start = performance.now();
    const [nx, ny, nz] = image.dims;
    const raw = (await segmenter.segment(image)).labels;
    // --min-size as predict applies it: components of fewer voxels are background.
    const kept = clean.minSize > 0 ? connectedComponents3d(raw, [nz, ny, nx], clean).labels : undefined;
    const predicted = kept ? raw.map((v, p) => (kept[p] ? v : 0)) : raw;
    const ms = performance.now() - start;
    const counts = new ConfusionCounts(classes).add(predicted, truth);
    pooled.add(predicted, truth);
    const scores = counts.scores();
    const truthFile = instanceFile(s.name);
    let instances: InstanceCounts | undefined;
    if (truthFile) {
      const trueIds = await readNifti(truthFile);
      instances = matchInstances(Uint32Array.from(trueIds.data, (v) => Math.round(v)), connectedComponents3d(predicted, [nz, ny, nx], clean).labels);
    }
    rows.push({ name: basename(s.image), scores, ms, ...(instances ? { instances } : {}) });
    const inst = instances ? `  F1 ${f3(instanceScores(instances).f1)} (${instances.matched} of ${instances.truth} matched, ${instances.predicted} predicted)` : '';
    io.stdout(`[${index + 1}/${scan.samples.length}] ${basename(s.image)} ${nx}x${ny}x${nz} ${Math.round(ms)} ms  Dice ${f3(scores.dice)}  IoU ${f3(scores.iou)}${inst}\n`);
  }
  const mean = (key: 'dice' | 'iou' | 'pixelAccuracy') => rows.reduce((a, r) => a + r.scores[key], 0) / Math.max(1, rows.length);
  const p = pooled.scores();
  const pad = (t: string, n: number) => t.padEnd(n);
  io.stdout(
    [
      `${pad('', 24)}${pad('Dice', 9)}${pad('IoU', 9)}voxel accuracy`,
      `${pad('mean per volume', 24)}${pad(f3(mean('dice')), 9)}${pad(f3(mean('iou')), 9)}${f3(mean('pixelAccuracy'))}`,
      `${pad('pooled (all voxels)', 24)}${pad(f3(p.dice), 9)}${pad(f3(p.iou), 9)}${f3(p.pixelAccuracy)}`,
      ...instanceLines(rows.flatMap((r) => (r.instances ? [r.instances] : [])), pad),
      '',
    ].join('\n'),
  );
  if (out !== undefined) {
    const withInstances = rows.some((r) => r.instances);
    const inst = (c: InstanceCounts | undefined) => (withInstances ? (c ? `,${c.truth},${c.predicted},${c.matched},${instanceScores(c).f1.toFixed(6)}` : ',,,,') : '');
    const line = (name: string, s: { dice: number; iou: number; pixelAccuracy: number }, ms: string, c?: InstanceCounts) => `${csvField(name)},${s.dice.toFixed(6)},${s.iou.toFixed(6)},${s.pixelAccuracy.toFixed(6)},${ms}${inst(c)}\n`;
    const csv = [`volume,dice,iou,voxel_accuracy,ms${withInstances ? ',instances_true,instances_predicted,instances_matched,instance_f1' : ''}\n`, ...rows.map((r) => line(r.name, r.scores, String(Math.round(r.ms)), r.instances))];
    csv.push(line('(mean per volume)', { dice: mean('dice'), iou: mean('iou'), pixelAccuracy: mean('pixelAccuracy') }, ''), line('(pooled)', p, ''));
    writeFileAtomic(out, csv.join(''));
    io.stdout(`wrote ${out}\n`);
  }
  return 0;
}
