import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { buildModel, getWeights, setWeights } from '../compiler/backends/tfjs/index.js';
import { initialWeights } from '../compiler/backends/weights.js';
import { compileSpec, type Graph } from '../compiler/index.js';
import { selectEngine, type Engine } from '../runtime/backend/index.js';
import { CheckpointError, sha256 } from '../runtime/checkpoint/index.js';
import { DataError, guardOutputs } from '../runtime/data/index.js';
import { describeParity } from '../runtime/export/onnx.js';
import { exportRunModel } from '../runtime/train/export.js';
import { dataWarnings } from '../runtime/train/data.js';
import { loadTrainingData } from '../runtime/train/sources.js';
import { SLICE_AXES } from '../runtime/train/volume-data.js';
import type { SliceAxis } from '../runtime/volume/index.js';
import { trainLoop } from '../runtime/train/loop.js';
import {
  prepareTorchRun,
  torchSkippedAugmentations,
  torchTrainLoop,
  torchUnsupported,
  type TorchLaunch,
} from '../runtime/train/torch.js';
import { findTorchPython, INSTALL_TORCH, TorchError, type TorchPython } from '../runtime/torch/python.js';
import {
  dataSettings,
  resolveTrainSettings,
  resumedSettings,
  type TrainOverrides,
  type TrainSettings,
} from '../runtime/train/settings.js';
import { parseDuration } from '../runtime/train/budget.js';
import { checkTrainingMemory, memoryProblem } from '../runtime/train/memory.js';
import {
  defaultRunDir,
  makeRunManifest,
  readRunManifest,
  RUN_OUTPUTS,
  writeRunManifest,
} from '../runtime/train/run.js';
import { readTrainCheckpoint } from '../runtime/train/state.js';
import { formatDuration, Progress } from './progress.js';
import { buildRunReport } from '../runtime/report/index.js';
import { reportDiagnostics, UsageError, type CliIO } from './io.js';
import { loadSpec } from './load.js';
import { networkMismatch } from '../runtime/checkpoint/network.js';
import { initSource, initWeights, type InitSource } from '../runtime/train/init.js';
import { defined } from '../util/object.js';

export interface TrainOptions {
  readonly data?: string;
  readonly val?: string;
  readonly out?: string;
  readonly resume?: string;
  readonly init?: string;
  readonly epochs?: string;
  readonly stepsPerEpoch?: string;
  readonly batch?: string;
  readonly lr?: string;
  readonly maxSteps?: string;
  readonly time?: string;
  readonly valSplit?: string;
  readonly seed?: string;
  readonly sliceAxis?: string;
  readonly backend?: string;
  /** 'tfjs' (default) or 'torch'. */
  readonly engine?: string;
  readonly devices?: string;
  readonly nproc?: string;
  readonly amp?: string;
  readonly channelsLast?: boolean;
  /** Write RUN/torch and say how to launch it, without training. */
  readonly prepareOnly?: boolean;
  /** Tests: each torch rank logs a hash of its weights after every step. */
  readonly syncLog?: boolean;
  readonly dryRun: boolean;
  /** false: skip the estimate of a step's memory against the engine's and the machine's (--no-memory-check). */
  readonly memoryCheck?: boolean;
  /** Let --out hold files of a run's names that unetc did not write, and replace them. */
  readonly overwrite?: boolean;
  readonly export: boolean;
  readonly tty: boolean;
}

/** "20 epochs x 10 steps", or "a 5m time budget (as many steps as fit)". */
function lengthText(s: TrainSettings): string {
  const epochs = `${s.epochs} epochs x ${s.stepsPerEpoch} steps`;
  if (s.timeBudgetMs === undefined) return epochs;
  return `a ${formatDuration(s.timeBudgetMs)} time budget (as many steps as fit${s.epochsCap ? `, at most ${epochs}` : ''})`;
}

/** The best validation Dice, or that no validation has run yet (a run stopped within its first epoch). */
const diceText = (dice: number, validates = true) =>
  !validates ? 'no validation data' : dice < 0 ? 'no validation yet' : `best validation Dice ${dice.toFixed(4)}`;

function int(name: string, text: string | undefined, min = 1): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text.trim()) || Number(text) < min)
    throw new UsageError(`--${name} takes a whole number of at least ${min}, found '${text}'`);
  return Number(text);
}

function fraction(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const v = Number(text);
  if (text.trim() === '' || !(v >= 0 && v < 1))
    throw new UsageError(`--${name} takes a number from 0 to below 1, found '${text}'`);
  return v;
}

/** The command line's overrides of the spec's training settings, checked as numbers. */
function overridesOf(o: TrainOptions): TrainOverrides {
  let timeMs: number | undefined;
  if (o.time !== undefined) {
    timeMs = parseDuration(o.time);
    if (timeMs === undefined)
      throw new UsageError(`--time takes a duration such as 5m, 90s or 1h30m, found '${o.time}'`);
  }
  const learningRate = o.lr === undefined ? undefined : Number(o.lr);
  if (learningRate !== undefined && !(learningRate > 0 && learningRate < 10))
    throw new UsageError(`--lr takes a positive number below 10, found '${o.lr}'`);
  const all: TrainOverrides = {
    epochs: int('epochs', o.epochs),
    timeMs,
    stepsPerEpoch: int('steps-per-epoch', o.stepsPerEpoch),
    batch: int('batch', o.batch),
    learningRate,
    maxSteps: int('max-steps', o.maxSteps),
    seed: int('seed', o.seed, 0),
    valSplit: fraction('val-split', o.valSplit),
  };
  return defined(all);
}

/** The torch engine's launch flags, checked; undefined for the tfjs engine. */
function torchFlags(o: TrainOptions): Omit<TorchLaunch, 'python'> | undefined {
  const engine = o.engine ?? 'tfjs';
  if (engine !== 'tfjs' && engine !== 'torch') throw new UsageError(`--engine takes tfjs or torch, found '${engine}'`);
  if (engine === 'tfjs') {
    const given = (['devices', 'nproc', 'amp', 'channelsLast', 'prepareOnly'] as const).filter(
      (k) => o[k] !== undefined,
    );
    if (given.length > 0)
      throw new UsageError(`--${given[0]!.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} is for --engine torch`);
    return undefined;
  }
  if (o.prepareOnly && o.dryRun) throw new UsageError('--prepare-only and --dry-run: give one of them');
  const devices = o.devices ?? 'cpu';
  if (devices !== 'cpu' && devices !== 'cuda') throw new UsageError(`--devices takes cpu or cuda, found '${devices}'`);
  if (o.amp !== undefined && o.amp !== 'bf16' && o.amp !== 'fp16')
    throw new UsageError(`--amp takes bf16 or fp16, found '${o.amp}'`);
  return {
    nproc: int('nproc', o.nproc) ?? 1,
    devices,
    ...(o.amp ? { amp: o.amp as 'bf16' | 'fp16' } : {}),
    ...(o.channelsLast ? { channelsLast: true } : {}),
    ...(o.syncLog ? { syncLog: true } : {}),
  };
}

/** How to launch a prepared run: here, with torchrun on one or several nodes, under SLURM. */
function launchText(config: string, l: Omit<TorchLaunch, 'python'>): string {
  const dir = dirname(config);
  const flags = `--devices ${l.devices}${l.amp ? ` --amp ${l.amp}` : ''}${l.channelsLast ? ' --channels-last' : ''}`;
  return [
    `prepared ${dir} (the module, the data, the settings and the runner): launch it from that folder`,
    `  on this machine:   python3 -m unetc_torch.train config.json --nproc ${l.nproc} ${flags}`,
    `  with torchrun:     torchrun --nproc-per-node ${l.nproc} -m unetc_torch.train config.json ${flags}`,
    `  on several nodes:  torchrun --nnodes N --nproc-per-node G --rdzv-backend c10d --rdzv-endpoint HOST:29500 -m unetc_torch.train config.json ${flags}`,
    `  under SLURM:       srun python3 -m unetc_torch.train config.json ${flags}   (MASTER_ADDR and MASTER_PORT set)`,
    `rank 0 writes best/ and last/ into ${dirname(dir)}; then: unetc compile SPEC -t onnx --weights ${join(dirname(dir), 'best')}`,
    '',
  ].join('\n');
}

/** The flag that sets an override, to name it. */
const FLAGS: Record<keyof TrainOverrides, string> = {
  epochs: '--epochs',
  timeMs: '--time',
  stepsPerEpoch: '--steps-per-epoch',
  batch: '--batch',
  learningRate: '--lr',
  maxSteps: '--max-steps',
  seed: '--seed',
  valSplit: '--val-split',
};

/**
 * `unetc train SPEC`: trains on a data folder or the built-in synthetic nuclei, writing a run
 * folder (run.json, metrics.jsonl, best/, last/, model.onnx). Exit 0 when it finishes or stops
 * early, 130 when interrupted (a checkpoint is written), 1 on bad input or a non-finite loss.
 */
export async function runTrain(io: CliIO, file: string | undefined, o: TrainOptions): Promise<number> {
  if (o.init !== undefined && o.resume !== undefined)
    throw new UsageError('--init starts a new run from trained weights and --resume continues a run: give one of them');
  // Every flag is checked before anything loads (a typo costs no engine start-up).
  const overrides = overridesOf(o);
  const torchLaunch = torchFlags(o);
  const resumed = o.resume !== undefined ? readRunManifest(o.resume) : undefined;
  // A run continues on the engine it started on: the other's optimizer state is not in its checkpoints.
  if (resumed && resumed.engine.startsWith('torch') !== (torchLaunch !== undefined))
    throw new UsageError(
      `${o.resume} trained with ${resumed.engine.startsWith('torch') ? 'PyTorch: resume it with --engine torch' : 'tfjs: resume it without --engine torch'}`,
    );
  const init = o.init !== undefined ? initFrom(io, o.init) : undefined;
  // Without a spec, a resumed run's own, or the spec the --init weights were trained from.
  const own = resumed?.spec ?? init?.manifest.spec;
  const specFile = file ?? own?.file ?? (own ? `${own.name}.yaml` : undefined);
  if (specFile === undefined) throw new UsageError('give a spec, or --resume RUN_DIR, or --init MODEL');
  const given = file !== undefined ? loadSpec(file) : undefined;
  if (given && (!resumed || !given.graph)) reportDiagnostics(io, given.diagnostics, 'frame');
  if (given && (!given.graph || !given.spec || !given.document)) return 1;
  if (resumed && given && sha256(given.document!.source.body) !== resumed.spec.sha256) {
    // A resumed run continues its own network: weights of another one would not fit (or would
    // silently train a graph that run.json does not describe).
    const mismatch = networkMismatch(given.graph!, resumed, file!);
    if (mismatch)
      throw new DataError(
        file!,
        `cannot resume ${o.resume} with it: ${mismatch.replace('the checkpoint was', 'the run was')}; resume without a spec (the run keeps its own), or start a new run from its weights with --init ${o.resume}`,
      );
    io.stderr(
      `note: ${file} differs from the spec the run started with (not in the network); resuming with the run's own spec\n`,
    );
  }
  // A resumed run always trains its own spec, whatever file is given.
  const compiled = given && !resumed ? given : { ...compileSpec({ name: specFile, body: own!.text }), ok: true };
  if (compiled !== given) reportDiagnostics(io, compiled.diagnostics, 'frame');
  if (!compiled.graph || !compiled.spec || !compiled.document) return 1;
  const graph = compiled.graph;
  const specText = compiled.document.source.body;

  let python: TorchPython | undefined;
  if (torchLaunch) {
    const unsupported = torchUnsupported(graph);
    if (unsupported)
      throw new DataError(specFile, `--engine torch does not train ${unsupported} yet; use --engine tfjs`);
    const found = findTorchPython();
    if (typeof found === 'string') throw new TorchError(`--engine torch: ${found}; ${INSTALL_TORCH}`);
    if (torchLaunch.devices === 'cuda' && found.cudaDevices < torchLaunch.nproc)
      throw new TorchError(
        `--devices cuda: PyTorch ${found.torch} (${found.python}) sees ${found.cudaDevices} CUDA device${found.cudaDevices === 1 ? '' : 's'}${torchLaunch.nproc > 1 ? ` for ${torchLaunch.nproc} processes` : ''}`,
      );
    python = found;
  }
  const engine = await selectEngine(o.backend);
  io.stdout(`engine: ${engine.description}, ${engine.threads} thread${engine.threads === 1 ? '' : 's'}\n`);
  if (torchLaunch && python)
    io.stdout(
      `training engine: PyTorch ${python.torch} (${python.python}), ${torchLaunch.devices}, ${torchLaunch.nproc} process${torchLaunch.nproc === 1 ? '' : 'es'}${torchLaunch.amp ? `, autocast ${torchLaunch.amp}` : ''}\n`,
    );
  const chosen = resumed
    ? {
        seed: resumed.settings.seed,
        valSplit: resumed.data.valSplit ?? dataSettings(compiled.spec.train, overrides).valSplit,
      }
    : dataSettings(compiled.spec.train, overrides);
  if (graph.dims === 3 && o.sliceAxis !== undefined)
    io.stderr(`note: --slice-axis applies to 2D specs on volumes; ${specFile} is 3D and trains on 3D patches\n`);
  const sliceAxis = resumed?.data.sliceAxis ?? o.sliceAxis ?? 'z';
  if (!SLICE_AXES.includes(sliceAxis as SliceAxis))
    throw new UsageError(`--slice-axis takes x, y or z, found '${sliceAxis}'`);
  // A resumed run reads its own data folders, or --data/--val where they moved (the fingerprint must still match).
  const valSplit = chosen.valSplit;
  const data = await loadTrainingData(graph, {
    seed: chosen.seed,
    dir: o.data ?? resumed?.data.dir,
    valDir: o.val ?? resumed?.data.valDir,
    valSplit,
    sliceAxis: sliceAxis as SliceAxis,
  });
  if (resumed && data.fingerprint !== resumed.data.fingerprint)
    throw new UsageError(`the data changed since the run started (${data.source}); resume needs the same data`);
  for (const w of dataWarnings(data, { data: o.data ?? resumed?.data.dir, val: o.val ?? resumed?.data.valDir }))
    io.stderr(`warning: ${w}\n`);
  const counts = data.volumes
    ? { train: data.volumes.train.length, val: data.volumes.val.length, what: 'volumes' }
    : { train: data.train.length, val: data.val.length, what: 'images' };
  let settings: TrainSettings;
  if (resumed) {
    const r = resumedSettings(resumed.settings, overrides);
    if (r.ignored.length > 0)
      io.stderr(
        `note: ${r.ignored.map((k) => FLAGS[k]).join(', ')} ignored: a resumed run keeps its own settings (only --max-steps may change)\n`,
      );
    settings = r.settings;
  } else settings = resolveTrainSettings(compiled.spec.train, graph, overrides, counts.train);
  io.stdout(`data: ${data.source}: ${counts.train} training, ${counts.val} validation ${counts.what}\n`);
  if (torchLaunch && settings.batch % torchLaunch.nproc !== 0)
    throw new UsageError(
      `--nproc ${torchLaunch.nproc}: the batch (${settings.batch}) must divide evenly over the processes; choose another --nproc or --batch`,
    );
  const skipped = torchLaunch ? torchSkippedAugmentations(settings) : [];
  if (skipped.length > 0)
    io.stderr(`note: the torch engine does not apply these augmentations yet: ${skipped.join(', ')}\n`);
  io.stdout(
    `training: ${lengthText(settings)}, batch ${settings.batch}, patch ${settings.patch.join('x')}, ${settings.loss}, ${settings.optimizer.name} lr ${settings.optimizer.learningRate} (${settings.schedule}), seed ${settings.seed}\n`,
  );

  // Before anything is written: a step that cannot fit is refused with what would.
  if (o.memoryCheck !== false && !torchLaunch) {
    const memory = checkTrainingMemory(
      graph,
      {
        batch: settings.batch,
        patch: settings.patch,
        optimizer: { name: settings.optimizer.name, momentum: settings.optimizer.momentum },
      },
      engine.name,
    );
    if (!memory.fits) throw new DataError(specFile, memoryProblem(memory, engine.name));
  }
  const runDir = o.dryRun
    ? mkdtempSync(join(tmpdir(), 'unetc-dry-run-'))
    : (o.resume ?? o.out ?? defaultRunDir(graph.name));
  if (!o.dryRun && !resumed && existsSync(join(runDir, 'run.json')))
    throw new UsageError(`${runDir} already holds a run: continue it with --resume ${runDir}, or choose another --out`);
  // A folder that is not a run may hold a user's files of the names a run writes (model.onnx, best/).
  if (!o.dryRun && !resumed)
    guardOutputs(
      RUN_OUTPUTS.map((f) => join(runDir, f)),
      { overwrite: o.overwrite, what: 'a training run' },
    );
  const specInfo = { name: graph.name, file: specFile, text: specText };
  if (!resumed) {
    await writeRunManifest(
      runDir,
      makeRunManifest(
        specInfo,
        graph,
        settings,
        {
          source: data.source,
          fingerprint: data.fingerprint,
          dir: o.data === undefined ? undefined : resolve(o.data),
          valDir: o.val === undefined ? undefined : resolve(o.val),
          valSplit,
          train: counts.train,
          val: counts.val,
          ...(data.source.endsWith(' slices') ? { sliceAxis } : {}),
        },
        torchLaunch && python ? `torch ${python.torch} ${torchLaunch.devices} x${torchLaunch.nproc}` : engine.name,
        engine.tf.version.tfjs,
        init ? { from: resolve(init.dir), weightsSha256: init.manifest.weightsSha256 } : undefined,
      ),
    );
  }

  // A run stopped (kill -9, power cut) before its first checkpoint has only run.json: it starts
  // again from step 0 with the weights it started from. A damaged last/ is an error, never skipped.
  const restart = resumed !== undefined && !['last', 'last.old'].some((d) => existsSync(join(runDir, d)));
  const checkpoint = resumed && !restart ? await readTrainCheckpoint(engine.tf, join(runDir, 'last')) : undefined;
  const startFrom = init ?? (restart && resumed.init ? initFrom(io, resumed.init.from) : undefined);
  if (restart && resumed.init && startFrom?.manifest.weightsSha256 !== resumed.init.weightsSha256) {
    throw new CheckpointError(
      startFrom!.dir,
      `the run started from weights with SHA-256 ${resumed.init.weightsSha256.slice(0, 12)}..., but these have ${startFrom!.manifest.weightsSha256.slice(0, 12)}...: the run cannot start again as it did`,
    );
  }
  const model = buildModel(engine.tf, graph);
  setWeights(
    model,
    checkpoint
      ? getWeights(checkpoint.model)
      : startFrom
        ? await initWeights(engine, graph, startFrom, specFile, settings.seed)
        : initialWeights(graph, settings.seed),
    engine.tf,
  );
  checkpoint?.model.dispose();
  if (startFrom)
    io.stdout(
      `weights: from ${startFrom.dir} (trained from ${startFrom.manifest.spec.file ?? startFrom.manifest.spec.name}); the other settings are this run's\n`,
    );
  if (checkpoint)
    io.stdout(
      `resuming ${runDir} at step ${checkpoint.state.step} (epoch ${checkpoint.state.epoch}, ${diceText(checkpoint.state.bestDice)})\n`,
    );
  if (restart)
    io.stdout(`resuming ${runDir}: it stopped before its first checkpoint, so it starts again from step 0\n`);

  const signal = { stop: false };
  const onSigint = () => {
    if (signal.stop) process.exit(130);
    signal.stop = true;
    io.stderr('\ninterrupt: finishing this step and writing a checkpoint (Ctrl-C again to quit at once)\n');
  };
  process.on('SIGINT', onSigint);
  const progress = new Progress(io, o.tty);
  let code = 0;
  try {
    const context = {
      engine,
      graph,
      model,
      data,
      runDir,
      signal,
      settings: o.dryRun ? { ...settings, maxSteps: 1, stepsPerEpoch: 1, epochs: 1 } : settings,
      checkpointInfo: { spec: specInfo, graph, seed: settings.seed, engine: engine.name },
      resume: checkpoint,
    };
    if (o.prepareOnly && torchLaunch) {
      const config = await prepareTorchRun(context);
      io.stdout(launchText(config, torchLaunch));
      return 0;
    }
    const loop = torchLaunch && python ? torchTrainLoop(context, { ...torchLaunch, python }) : trainLoop(context);
    for await (const e of loop) {
      if (e.kind === 'step') progress.step(e);
      else if (e.kind === 'epoch') progress.epoch(e);
      else {
        progress.done();
        io.stdout(`${e.reason === 'not-finite' ? 'error: ' : ''}${e.message}\n`);
        if (e.reason === 'interrupted') code = 130;
        if (e.reason === 'not-finite') code = 1;
      }
    }
    if (o.dryRun) {
      io.stdout('dry run: the spec, the data and one training step and validation work; nothing was kept\n');
      return code;
    }
    if (code === 0 && o.export) code = await exportBest(io, engine, graph, specText, runDir, counts.val > 0);
    if (code === 0 || code === 130) {
      // The report is a convenience: a failure to write it never fails the run.
      try {
        io.stdout(
          `report: ${await buildRunReport(runDir, data.volumes ? { volumes: data.volumes.val } : { examples: data.reportExamples ?? data.val })}\n`,
        );
      } catch (e) {
        io.stderr(`warning: no report.html: ${(e as Error).message}\n`);
      }
    }
    io.stdout(`run: ${runDir}\n`);
    if (code === 130)
      io.stdout(`continue with: unetc train --resume ${runDir}${torchLaunch ? ' --engine torch' : ''}\n`);
    return code;
  } finally {
    process.off('SIGINT', onSigint);
    model.dispose();
    if (o.dryRun) rmSync(runDir, { recursive: true, force: true });
  }
}

/** An --init argument's source, with a note when it names a shipped model. */
function initFrom(io: CliIO, arg: string): InitSource {
  const source = initSource(arg);
  if (source.shipped)
    io.stderr(`note: '${arg}' is the ${source.shipped.name} model shipped with unetc (${source.shipped.path})\n`);
  return source;
}

/** The run's model.onnx (runtime/train/export.ts), said as a line. */
async function exportBest(
  io: CliIO,
  engine: Engine,
  graph: Graph,
  specText: string,
  runDir: string,
  validates: boolean,
): Promise<number> {
  const r = await exportRunModel(engine, graph, specText, runDir);
  if (!r.ok) {
    io.stderr(
      `error: the exported model does not match the trained one (${describeParity(r.parity)}); model.onnx not written\n`,
    );
    return 1;
  }
  const at = validates ? `epoch ${r.state.epoch}` : `step ${r.state.step}`;
  io.stdout(
    `model: ${r.file} (${r.from} checkpoint, ${at}, ${diceText(r.state.bestDice, validates)}; onnxruntime parity ${describeParity(r.parity)})\n`,
  );
  return 0;
}
