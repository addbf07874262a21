import { tuneSplitFolder, type SplitTuning } from '../runtime/eval/tune-split.js';
import type { CliIO } from './io.js';
import { openModel, type InferenceSettings } from './open.js';

/**
 * `unetc eval MODEL --data DIR --tune-split`: the pooled instance F1 of every split setting of
 * the grid (runtime/eval/tune-split.ts) and how to use the best. Exit 0, or 1 for problems in DIR.
 */
export async function runTuneSplit(
  io: CliIO,
  modelPath: string,
  dir: string,
  flags: InferenceSettings,
  backend: string | undefined,
): Promise<number> {
  const model = await openModel(io, modelPath, flags, backend);
  try {
    const result = await tuneSplitFolder(model, dir, flags, (s, i, n) => {
      if (io.tty) io.stderr(i + 1 < n ? `\rpredicting ${i + 1}/${n}` : '\r\x1b[2K');
    });
    if ('problems' in result) {
      for (const line of result.problems) io.stderr(`error: ${line}\n`);
      io.stderr(`error: ${result.problems.length} problems in ${dir}; nothing was run\n`);
      return 1;
    }
    io.stdout(tuningTable(result.tuning));
    return 0;
  } finally {
    await model.close();
  }
}

const f3 = (v: number) => v.toFixed(3);

/** Seed thresholds down, waist depths across, pooled F1 in the cells; the best and the model's own marked. */
export function tuningTable(t: SplitTuning): string {
  const seeds = [...new Set(t.trials.map((x) => x.split.seedThreshold))];
  const waists = [...new Set(t.trials.map((x) => x.split.waistDepth))];
  const cell = (w: number) => String(w).padEnd(8);
  const rows = [
    `pooled instance F1 (IoU > 0.5) on ${t.images} image${t.images === 1 ? '' : 's'} with labels/, by seed threshold (rows) and waist depth in px (columns); * best, = the model's own:`,
    `${'seed'.padEnd(8)}${waists.map(cell).join('')}`,
  ];
  for (const s of seeds) {
    const cells = waists.map((w) => {
      const trial = t.trials.find((x) => x.split.seedThreshold === s && x.split.waistDepth === w)!;
      const mark = trial === t.best ? '*' : trial === t.current ? '=' : ' ';
      return `${f3(trial.pooled.f1)}${mark}`.padEnd(8);
    });
    rows.push(`${String(s).padEnd(8)}${cells.join('')}`);
  }
  const { split: b, pooled: p } = t.best;
  const c = t.current;
  rows.push(
    `best: seed_threshold ${b.seedThreshold}, waist_depth ${b.waistDepth}: F1 ${f3(p.f1)} (precision ${f3(p.precision)}, recall ${f3(p.recall)}); the model's own (${c.split.seedThreshold}, ${c.split.waistDepth}): F1 ${f3(c.pooled.f1)}`,
  );
  if (t.best !== t.current)
    rows.push(
      `use it: predict and eval --split ${b.seedThreshold},${b.waistDepth}; or keep it in the model: output.split: {seed_threshold: ${b.seedThreshold}, waist_depth: ${b.waistDepth}} in the spec, then train, or export the run's weights with it (unetc compile SPEC --target onnx --weights RUN/best, or RUN/last)`,
      'choose on images the model did not train on (its validation images): on its training images the best setting is biased',
    );
  return `${rows.join('\n')}\n`;
}
