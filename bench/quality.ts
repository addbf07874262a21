/**
 * `npm run bench -- --quality [--time 5m] [--seeds 0,1] [--spec specs/nuclei.yaml] [--engine tfjs|torch] [--json] [--keep]`:
 * mask quality for a wall-clock budget, unetc against its anchor in the same run. For each seed,
 * `unetc train` (the CLI, as a user runs it) and the PyTorch reference (bench/reference/train.py:
 * the same layout, BCE + soft Dice, Adam, flips and quarter turns) each train on the training
 * folder for the same budget, one after the other on the same machine; then both models are
 * scored on the validation folder by the same code (`evaluateDataset`, as `unetc eval` runs it):
 * Dice per image and pooled, instance precision, recall and F1 at IoU 0.5 against labels/, with
 * and without test-time augmentation. Quality lives here, never in tests.
 *
 * Data: --data (default ../shared/data/dsb2018-nuclei-mini) and --val (default
 * ../shared/data/dsb2018-nuclei-val). Neither model sees the validation images while training.
 * --keep leaves the trained models (unetc runs and the reference's ONNX files) in the temporary
 * folder it names, to look at afterwards.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileSpec, type SpecValue } from '../src/compiler/index.js';
import { scanDataset } from '../src/runtime/data/index.js';
import { evaluateDataset, type EvalReport } from '../src/runtime/eval/index.js';
import { loadModel } from '../src/runtime/infer/index.js';
import { parseDuration } from '../src/runtime/train/budget.js';
import { torchPython } from './engines.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
}

/** What the reference needs to build the same network as the spec's template. */
interface Layout {
  readonly base: number;
  readonly depth: number;
  readonly dropout: readonly number[];
}

/** The spec's layout, when the reference can mirror it (the plain template); else why not. */
export function layoutOf(spec: SpecValue): Layout | string {
  const net = spec.network;
  if (!net) return 'an explicit graph';
  const f = net.filters;
  const base = Array.isArray(f) ? (f as number[])[0]! : (f as { base: number; growth?: number }).base;
  const doubling = Array.isArray(f)
    ? (f as number[]).every((x, i) => x === base * 2 ** i)
    : ((f as { growth?: number }).growth ?? 2) === 2;
  const b = net.block ?? {};
  const order = (b.order ?? ['conv', 'relu', 'batchnorm', 'dropout']).join(',');
  const plain =
    doubling &&
    net.bottleneck === undefined &&
    (b.convs ?? 2) === 2 &&
    (b.kernel ?? 3) === 3 &&
    (b.padding ?? 'same') === 'same' &&
    order === 'conv,relu,batchnorm,dropout' &&
    !b.residual &&
    !b.se &&
    !net.attention &&
    !net.deep_supervision &&
    (net.down ?? 'maxpool') === 'maxpool' &&
    (net.up ?? 'transpose') === 'transpose' &&
    (net.skip ?? 'concat') === 'concat' &&
    net.blocks === undefined &&
    spec.input.channels === 1 &&
    (spec.input.dims ?? 2) === 2;
  if (!plain)
    return 'a template the reference does not build (it has the canonical block: 2 x [3x3 conv, ReLU, BatchNorm, dropout], max pool, transposed conv, concat, 1 input channel)';
  const d = b.dropout ?? 0;
  return {
    base,
    depth: net.depth,
    dropout: typeof d === 'number' ? Array.from({ length: net.depth + 1 }, () => d) : [...d],
  };
}

interface Trained {
  readonly engine: string;
  readonly seed: number;
  readonly steps: number;
  readonly patches: number;
  readonly trainSeconds: number;
  readonly wallSeconds: number;
  readonly model: string;
}

interface Scored extends Trained {
  readonly tta: boolean;
  readonly dice: { readonly mean: number; readonly pooled: number };
  readonly instances: {
    readonly precision: number;
    readonly recall: number;
    readonly f1: number;
    readonly f1Mean: number;
  };
}

function run(command: string, args: readonly string[], what: string): string {
  const r = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 << 20, cwd: root });
  if (r.status !== 0)
    throw new Error(
      `${what} failed (exit ${r.status}):\n${(r.stderr || r.stdout).trim().split('\n').slice(-15).join('\n')}`,
    );
  return r.stdout;
}

function trainUnetc(
  spec: string,
  data: string,
  budget: string,
  seed: number,
  out: string,
  engine: 'tfjs' | 'torch',
): Trained {
  const t0 = performance.now();
  const log = run(
    process.execPath,
    [
      join(root, 'bin', 'unetc.js'),
      'train',
      spec,
      '--data',
      data,
      '--val-split',
      '0',
      '--time',
      budget,
      '--seed',
      String(seed),
      '--out',
      out,
      ...(engine === 'torch' ? ['--engine', 'torch'] : []),
    ],
    'unetc train',
  );
  const wall = (performance.now() - t0) / 1000;
  const state = JSON.parse(readFileSync(join(out, 'last', 'train-state.json'), 'utf8')) as {
    step: number;
    budget?: { spentMs: number };
    /** The torch engine's record of the time spent. */
    torchSpentMs?: number;
  };
  const manifest = JSON.parse(readFileSync(join(out, 'run.json'), 'utf8')) as { settings: { batch: number } };
  if (!/time budget spent/.test(log))
    throw new Error(`unetc train did not run to its budget:\n${log.split('\n').slice(-5).join('\n')}`);
  return {
    engine: engine === 'torch' ? 'unetc torch' : 'unetc',
    seed,
    steps: state.step,
    patches: state.step * manifest.settings.batch,
    trainSeconds: (state.budget?.spentMs ?? state.torchSpentMs ?? NaN) / 1000,
    wallSeconds: wall,
    model: join(out, 'model.onnx'),
  };
}

function trainReference(
  python: string,
  layout: Layout,
  data: string,
  seconds: number,
  seed: number,
  out: string,
): Trained {
  const t0 = performance.now();
  const args = [
    join(root, 'bench', 'reference', 'train.py'),
    '--data',
    data,
    '--out',
    out,
    '--time',
    String(seconds),
    '--seed',
    String(seed),
    '--base',
    String(layout.base),
    '--depth',
    String(layout.depth),
    '--dropout',
    layout.dropout.join(','),
  ];
  const line = run(python, args, 'the PyTorch reference').trim().split('\n').pop()!;
  const wall = (performance.now() - t0) / 1000;
  const r = JSON.parse(line) as { engine: string; steps: number; patches: number; seconds: number };
  return {
    engine: r.engine,
    seed,
    steps: r.steps,
    patches: r.patches,
    trainSeconds: r.seconds,
    wallSeconds: wall,
    model: join(out, 'model.onnx'),
  };
}

async function score(t: Trained, val: string, tta: boolean): Promise<Scored> {
  const model = await loadModel(t.model);
  try {
    const scan = await scanDataset(val, { classes: 1 });
    if (scan.problems.length > 0)
      throw new Error(`${val}: ${scan.problems.length} problems in the data (run unetc eval on it to see them)`);
    // The same post-processing for both: instances under MIN_SIZE pixels dropped (unetc's default for boundary models).
    const r: EvalReport = await evaluateDataset(model, scan.samples, { tta, minSize: MIN_SIZE });
    const inst = r.instances!;
    return {
      ...t,
      tta,
      dice: { mean: r.mean.dice, pooled: r.pooled.dice },
      instances: {
        precision: inst.pooled.precision,
        recall: inst.pooled.recall,
        f1: inst.pooled.f1,
        f1Mean: inst.mean.f1,
      },
    };
  } finally {
    await model.close();
  }
}

/** Smallest instance kept, for both models (unetc's default for a boundary head; the reference's components get the same). */
const MIN_SIZE = 20;

const avg = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

export async function qualityBenchmark(): Promise<void> {
  const json = process.argv.includes('--json');
  const budget = option('time', '5m');
  const ms = parseDuration(budget);
  if (ms === undefined) throw new Error(`--time takes a duration such as 5m, found '${budget}'`);
  const seeds = option('seeds', '0,1').split(',').map(Number);
  const engineName = option('engine', 'tfjs');
  if (engineName !== 'tfjs' && engineName !== 'torch')
    throw new Error(`--engine takes tfjs or torch, found '${engineName}'`);
  const engine: 'tfjs' | 'torch' = engineName;
  const specFile = resolve(option('spec', join(root, 'specs', 'nuclei.yaml')));
  const data = resolve(option('data', join(root, '..', 'shared', 'data', 'dsb2018-nuclei-mini')));
  const val = resolve(option('val', join(root, '..', 'shared', 'data', 'dsb2018-nuclei-val')));
  for (const dir of [data, val])
    if (!existsSync(join(dir, 'images')))
      throw new Error(`${dir}: no images/ (the quality benchmark needs ../shared/data, or --data and --val)`);
  const python = torchPython();
  if (!python)
    throw new Error(
      'the PyTorch reference needs python3 with torch, numpy, pillow and onnx (apt-get install python3-torch python3-numpy python3-pil python3-onnx)',
    );
  const compiled = compileSpec({ name: specFile, body: readFileSync(specFile, 'utf8') });
  if (!compiled.spec || !compiled.graph) throw new Error(`${specFile} has errors (run unetc check on it)`);
  const layout = layoutOf(compiled.spec);
  if (typeof layout === 'string') throw new Error(`${specFile}: ${layout}`);
  const work = mkdtempSync(join(tmpdir(), 'unetc-quality-'));
  const before = loadavg()[0]!;
  if (!json) {
    console.log(
      `machine: ${cpus()[0]?.model ?? '?'}, ${cpus().length} cores; load average ${before.toFixed(2)} before the run`,
    );
    console.log(
      `budget ${budget} of training each, seeds ${seeds.join(', ')}; spec ${specFile} (the reference: base ${layout.base}, depth ${layout.depth}, dropout ${layout.dropout.join('/')}, sigmoid head)`,
    );
    console.log(`train ${data}, score ${val}\n`);
  }
  const rows: Scored[] = [];
  try {
    for (const seed of seeds) {
      const trained = [
        trainUnetc(specFile, data, budget, seed, join(work, `unetc-${seed}`), engine),
        trainReference(python, layout, data, ms / 1000, seed, join(work, `reference-${seed}`)),
      ];
      for (const t of trained) for (const tta of [false, true]) rows.push(await score(t, val, tta));
      if (!json) for (const r of rows.slice(-4)) console.log(line(r));
    }
  } finally {
    if (process.argv.includes('--keep')) console.error(`kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
  const summary = ['unetc', 'pytorch'].flatMap((engine) =>
    [false, true].map((tta) => {
      const rs = rows.filter((r) => r.engine.startsWith(engine) && r.tta === tta);
      return {
        engine,
        tta,
        seeds: rs.length,
        steps: avg(rs.map((r) => r.steps)),
        patches: avg(rs.map((r) => r.patches)),
        diceMean: avg(rs.map((r) => r.dice.mean)),
        dicePooled: avg(rs.map((r) => r.dice.pooled)),
        precision: avg(rs.map((r) => r.instances.precision)),
        recall: avg(rs.map((r) => r.instances.recall)),
        f1: avg(rs.map((r) => r.instances.f1)),
        f1Mean: avg(rs.map((r) => r.instances.f1Mean)),
      };
    }),
  );
  if (json) {
    console.log(
      JSON.stringify(
        {
          budget,
          seeds,
          spec: specFile,
          data,
          val,
          layout,
          loadBefore: before,
          loadAfter: loadavg()[0],
          runs: rows,
          summary,
        },
        null,
        2,
      ),
    );
    return;
  }
  console.log(`\nmean over ${seeds.length} seed${seeds.length === 1 ? '' : 's'}:`);
  console.log(
    `${'engine'.padEnd(18)}${'steps'.padStart(7)}${'patches'.padStart(9)}${'Dice/img'.padStart(10)}${'pooled'.padStart(8)}${'prec'.padStart(7)}${'recall'.padStart(8)}${'F1'.padStart(7)}${'F1/img'.padStart(8)}`,
  );
  for (const s of summary) {
    const name = `${s.engine}${s.tta ? ' + tta' : ''}`;
    console.log(
      `${name.padEnd(18)}${s.steps.toFixed(0).padStart(7)}${s.patches.toFixed(0).padStart(9)}${f3(s.diceMean).padStart(10)}${f3(s.dicePooled).padStart(8)}${f3(s.precision).padStart(7)}${f3(s.recall).padStart(8)}${f3(s.f1).padStart(7)}${f3(s.f1Mean).padStart(8)}`,
    );
  }
  console.log(
    `\nDice/img: mean of per-image Dice; pooled: over all pixels. Instances: pooled precision, recall and F1 at IoU 0.5 (F1/img: mean per image); both models' instances under ${MIN_SIZE} px dropped.`,
  );
  console.log(
    `load average ${loadavg()[0]!.toFixed(2)} after the run (another process competing for the cores shows here)`,
  );
}

const f3 = (v: number) => v.toFixed(3);

function line(r: Scored): string {
  return `${r.engine}${r.tta ? ' + tta' : ''} seed ${r.seed}: ${r.steps} steps (${r.patches} patches) in ${r.trainSeconds.toFixed(0)} s of training (${r.wallSeconds.toFixed(0)} s in all): Dice ${f3(r.dice.mean)} per image, ${f3(r.dice.pooled)} pooled; instances P ${f3(r.instances.precision)} R ${f3(r.instances.recall)} F1 ${f3(r.instances.f1)} (${f3(r.instances.f1Mean)} per image)`;
}
