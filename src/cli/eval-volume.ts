/**
 * `unetc eval` on a NIfTI data folder: each volume segmented as `predict` would (a 3D model in
 * 3D tiles, a 2D one slice by slice) and scored against its label volume: Dice, IoU and voxel
 * accuracy per volume, their mean, and pooled over all voxels. Instance F1 is not computed for
 * volumes yet (it says so).
 */
import { basename } from 'node:path';
import { formatProblems } from '../runtime/data/index.js';
import { csvField } from '../runtime/eval/index.js';
import { ConfusionCounts, type Scores } from '../runtime/train/metrics.js';
import { nonFiniteCount } from '../runtime/train/volume-data.js';
import { readNifti, scanVolumeDataset } from '../runtime/volume/index.js';
import { writeFileAtomic, type CliIO } from './io.js';
import { connectedComponents3d } from '../runtime/infer/instances3d.js';
import type { VolumeSegmenter } from './predict-volume.js';

const f3 = (v: number) => v.toFixed(3);

/** Scores every volume of `dir`; returns the exit code (1 when the folder has problems). */
export async function evalVolumes(io: CliIO, segmenter: VolumeSegmenter, dir: string, out: string | undefined, clean: { minSize: number; connectivity: 6 | 26 } = { minSize: 0, connectivity: 26 }): Promise<number> {
  const classes = Math.max(2, segmenter.classes);
  const scan = await scanVolumeDataset(dir, { classes: segmenter.classes });
  if (scan.problems.length > 0) {
    for (const line of formatProblems(scan.problems)) io.stderr(`error: ${line}\n`);
    io.stderr(`error: ${scan.problems.length} problem${scan.problems.length === 1 ? '' : 's'} in ${dir}; nothing was evaluated\n`);
    return 1;
  }
  const pooled = new ConfusionCounts(classes);
  const rows: { name: string; scores: Scores; ms: number }[] = [];
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
    rows.push({ name: basename(s.image), scores, ms });
    io.stdout(`[${index + 1}/${scan.samples.length}] ${basename(s.image)} ${nx}x${ny}x${nz} ${Math.round(ms)} ms  Dice ${f3(scores.dice)}  IoU ${f3(scores.iou)}\n`);
  }
  const mean = (key: 'dice' | 'iou' | 'pixelAccuracy') => rows.reduce((a, r) => a + r.scores[key], 0) / Math.max(1, rows.length);
  const p = pooled.scores();
  const pad = (t: string, n: number) => t.padEnd(n);
  io.stdout(
    [
      `${pad('', 24)}${pad('Dice', 9)}${pad('IoU', 9)}voxel accuracy`,
      `${pad('mean per volume', 24)}${pad(f3(mean('dice')), 9)}${pad(f3(mean('iou')), 9)}${f3(mean('pixelAccuracy'))}`,
      `${pad('pooled (all voxels)', 24)}${pad(f3(p.dice), 9)}${pad(f3(p.iou), 9)}${f3(p.pixelAccuracy)}`,
      'instances: not scored for volumes (3D instance matching is not implemented yet)',
      '',
    ].join('\n'),
  );
  if (out !== undefined) {
    const line = (name: string, s: { dice: number; iou: number; pixelAccuracy: number }, ms: string) => `${csvField(name)},${s.dice.toFixed(6)},${s.iou.toFixed(6)},${s.pixelAccuracy.toFixed(6)},${ms}\n`;
    const csv = ['volume,dice,iou,voxel_accuracy,ms\n', ...rows.map((r) => line(r.name, r.scores, String(Math.round(r.ms))))];
    csv.push(line('(mean per volume)', { dice: mean('dice'), iou: mean('iou'), pixelAccuracy: mean('pixelAccuracy') }, ''), line('(pooled)', p, ''));
    writeFileAtomic(out, csv.join(''));
    io.stdout(`wrote ${out}\n`);
  }
  return 0;
}
