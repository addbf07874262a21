import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { compileSpec, type Graph } from '../compiler/index.js';
import type { Engine } from '../runtime/backend/index.js';
import { sha256 } from '../runtime/checkpoint/index.js';
import { networkMismatch } from '../runtime/checkpoint/network.js';
import { DataError } from '../runtime/data/index.js';
import { describeParity } from '../runtime/export/onnx.js';
import { buildRunReport } from '../runtime/report/index.js';
import { exportRunModel } from '../runtime/train/export.js';
import { trainLoop } from '../runtime/train/loop.js';
import { initFrom, openTrainRun, type OpenEvent } from '../runtime/train/open.js';
import { readRunManifest } from '../runtime/train/run.js';
import type { TrainSettings } from '../runtime/train/settings.js';
import { prepareTorchRun, torchTrainLoop, type TorchLaunch } from '../runtime/train/torch.js';
import { defined } from '../util/object.js';
import { reportDiagnostics, UsageError, type CliIO } from './io.js';
import { loadSpec } from './load.js';
import { formatDuration, Progress } from './progress.js';
import { FLAGS, overridesOf, torchFlags, type TrainOptions } from './train-flags.js';

/** "20 epochs x 10 steps", or "a 5m time budget (as many steps as fit)". */
function lengthText(s: TrainSettings): string {
  const epochs = `${s.epochs} epochs x ${s.stepsPerEpoch} steps`;
  if (s.timeBudgetMs === undefined) return epochs;
  return `a ${formatDuration(s.timeBudgetMs)} time budget (as many steps as fit${s.epochsCap ? `, at most ${epochs}` : ''})`;
}

/** The best validation Dice, or that no validation has run yet (a run stopped within its first epoch). */
const diceText = (dice: number, validates = true) =>
  !validates ? 'no validation data' : dice < 0 ? 'no validation yet' : `best validation Dice ${dice.toFixed(4)}`;

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
  const init = o.init !== undefined ? initFrom(o.init) : undefined;
  for (const n of init?.notes ?? []) sayOpening(io, n, torchLaunch);
  // Without a spec, a resumed run's own, or the spec the --init weights were trained from.
  const own = resumed?.spec ?? init?.source.manifest.spec;
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

  const opening = openTrainRun({
    graph,
    train: compiled.spec.train,
    spec: { name: graph.name, file: specFile, text: specText },
    ...defined({
      resume: resumed && o.resume !== undefined ? { dir: o.resume, manifest: resumed } : undefined,
      init: init?.source,
      torch: torchLaunch,
      data: o.data,
      val: o.val,
      sliceAxis: o.sliceAxis,
      backend: o.backend,
      out: o.out,
      overwrite: o.overwrite,
      memoryCheck: o.memoryCheck,
    }),
    overrides,
    dryRun: o.dryRun,
  });
  let next = await opening.next();
  for (; !next.done; next = await opening.next()) sayOpening(io, next.value, torchLaunch);
  const { context, engine, model, data, counts, runDir, python } = next.value;

  const onSigint = () => {
    if (context.signal.stop) process.exit(130);
    context.signal.stop = true;
    io.stderr('\ninterrupt: finishing this step and writing a checkpoint (Ctrl-C again to quit at once)\n');
  };
  process.on('SIGINT', onSigint);
  const progress = new Progress(io, o.tty);
  let code = 0;
  try {
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

/** One line for each thing the runtime says while it opens the run. */
function sayOpening(io: CliIO, e: OpenEvent, torch: Omit<TorchLaunch, 'python'> | undefined): void {
  switch (e.kind) {
    case 'engine':
      io.stdout(`engine: ${e.engine.description}, ${e.engine.threads} thread${e.engine.threads === 1 ? '' : 's'}\n`);
      if (e.torch && torch)
        io.stdout(
          `training engine: PyTorch ${e.torch.torch} (${e.torch.python}), ${torch.devices}, ${torch.nproc} process${torch.nproc === 1 ? '' : 'es'}${torch.amp ? `, autocast ${torch.amp}` : ''}\n`,
        );
      return;
    case 'note':
    case 'warning':
      io.stderr(`${e.kind}: ${e.text}\n`);
      return;
    case 'ignored':
      io.stderr(
        `note: ${e.overrides.map((k) => FLAGS[k]).join(', ')} ignored: a resumed run keeps its own settings (only --max-steps may change)\n`,
      );
      return;
    case 'data':
      io.stdout(`data: ${e.source}: ${e.counts.train} training, ${e.counts.val} validation ${e.counts.what}\n`);
      return;
    case 'settings': {
      const s = e.settings;
      io.stdout(
        `training: ${lengthText(s)}, batch ${s.batch}, patch ${s.patch.join('x')}, ${s.loss}, ${s.optimizer.name} lr ${s.optimizer.learningRate} (${s.schedule}), seed ${s.seed}\n`,
      );
      return;
    }
    case 'init':
      io.stdout(
        `weights: from ${e.from.dir} (trained from ${e.from.manifest.spec.file ?? e.from.manifest.spec.name}); the other settings are this run's\n`,
      );
      return;
    case 'resuming':
      io.stdout(`resuming ${e.runDir} at step ${e.step} (epoch ${e.epoch}, ${diceText(e.bestDice)})\n`);
      return;
    case 'restart':
      io.stdout(`resuming ${e.runDir}: it stopped before its first checkpoint, so it starts again from step 0\n`);
  }
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
