/**
 * Opening a training run: everything `unetc train` does between a checked spec and the first
 * step, as an async generator of events that the CLI prints (the runtime never prints). It
 * chooses the engines, reads and checks the data, resolves the settings once (a resumed run
 * keeps its own), refuses a step that cannot fit in memory, claims the run folder and writes
 * run.json, and builds the model with the weights it starts from: a resumed checkpoint, --init
 * weights, or seeded initial ones. Its return value is what the training loop needs.
 *
 * Every refusal is an error with the file or flag to change (UsageError, DataError,
 * CheckpointError, TorchError), thrown before anything is written where it can be.
 */
import type { LayersModel } from '@tensorflow/tfjs';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildModel, getWeights, setWeights } from '../../compiler/backends/tfjs/index.js';
import { initialWeights } from '../../compiler/backends/weights.js';
import type { Graph } from '../../compiler/ir/types.js';
import type { TrainSpec } from '../../compiler/spec/model.js';
import { selectEngine, type Engine } from '../backend/index.js';
import { CheckpointError } from '../checkpoint/index.js';
import { DataError, guardOutputs } from '../data/index.js';
import { findTorchPython, INSTALL_TORCH, TorchError, type TorchPython } from '../torch/python.js';
import type { SliceAxis } from '../volume/index.js';
import { UsageError } from '../../util/error.js';
import { dataWarnings, type TrainingData } from './data.js';
import { initSource, initWeights, type InitSource } from './init.js';
import type { TrainContext } from './loop.js';
import { checkTrainingMemory, memoryProblem } from './memory.js';
import { defaultRunDir, makeRunManifest, RUN_OUTPUTS, writeRunManifest, type RunManifest } from './run.js';
import {
  dataSettings,
  resolveTrainSettings,
  resumedSettings,
  type TrainOverrides,
  type TrainSettings,
} from './settings.js';
import { loadTrainingData } from './sources.js';
import { readTrainCheckpoint } from './state.js';
import { torchSkippedAugmentations, torchUnsupported, type TorchLaunch } from './torch.js';
import { SLICE_AXES } from './volume-data.js';

/** What a run is opened from: the checked spec, the command line's choices, an earlier run. */
export interface OpenRequest {
  readonly graph: Graph;
  /** The spec's `train:` section. */
  readonly train: TrainSpec | undefined;
  /** The spec as the run records it (a resumed run's own). */
  readonly spec: { readonly name: string; readonly file: string; readonly text: string };
  /** The run to continue (its folder and run.json). */
  readonly resume?: { readonly dir: string; readonly manifest: RunManifest };
  /** Weights to start from (train --init). */
  readonly init?: InitSource;
  readonly overrides: TrainOverrides;
  /** The torch engine's launch settings; undefined for the tfjs engine. */
  readonly torch?: Omit<TorchLaunch, 'python'>;
  readonly data?: string;
  readonly val?: string;
  readonly sliceAxis?: string;
  readonly backend?: string;
  readonly out?: string;
  readonly overwrite?: boolean;
  /** Check a step's memory against the engine's and the machine's (default true). */
  readonly memoryCheck?: boolean;
  /** Train in a temporary folder that the caller removes. */
  readonly dryRun?: boolean;
}

/** Things worth saying while a run opens, in the order they happen. */
export type OpenEvent =
  | { readonly kind: 'engine'; readonly engine: Engine; readonly torch?: TorchPython }
  | { readonly kind: 'note' | 'warning'; readonly text: string }
  /** Overrides a resumed run ignores (it keeps its own settings). */
  | { readonly kind: 'ignored'; readonly overrides: readonly (keyof TrainOverrides)[] }
  | { readonly kind: 'data'; readonly source: string; readonly counts: DataCounts }
  | { readonly kind: 'settings'; readonly settings: TrainSettings }
  /** Where the weights come from: --init (or a restarted run's), a checkpoint, or step 0 again. */
  | { readonly kind: 'init'; readonly from: InitSource }
  | {
      readonly kind: 'resuming';
      readonly runDir: string;
      readonly step: number;
      readonly epoch: number;
      readonly bestDice: number;
    }
  | { readonly kind: 'restart'; readonly runDir: string };

export interface DataCounts {
  readonly train: number;
  readonly val: number;
  readonly what: 'images' | 'volumes';
}

/** An opened run: the training loop's context and what the caller says about it afterwards. */
export interface OpenedRun {
  readonly context: TrainContext;
  readonly engine: Engine;
  readonly model: LayersModel;
  readonly data: TrainingData;
  readonly counts: DataCounts;
  readonly settings: TrainSettings;
  readonly runDir: string;
  /** The python with torch that trains it (torch engine). */
  readonly python?: TorchPython;
}

/** The note for weights that name a model shipped with unetc. */
const shippedNote = (arg: string, source: InitSource): OpenEvent[] =>
  source.shipped
    ? [
        {
          kind: 'note',
          text: `'${arg}' is the ${source.shipped.name} model shipped with unetc (${source.shipped.path})`,
        },
      ]
    : [];

/** The python that trains with --engine torch, checked against the launch; throws TorchError. */
function torchPython(graph: Graph, specFile: string, launch: Omit<TorchLaunch, 'python'>): TorchPython {
  const unsupported = torchUnsupported(graph);
  if (unsupported) throw new DataError(specFile, `--engine torch does not train ${unsupported} yet; use --engine tfjs`);
  const found = findTorchPython();
  if (typeof found === 'string') throw new TorchError(`--engine torch: ${found}; ${INSTALL_TORCH}`);
  if (launch.devices === 'cuda' && found.cudaDevices < launch.nproc)
    throw new TorchError(
      `--devices cuda: PyTorch ${found.torch} (${found.python}) sees ${found.cudaDevices} CUDA device${found.cudaDevices === 1 ? '' : 's'}${launch.nproc > 1 ? ` for ${launch.nproc} processes` : ''}`,
    );
  return found;
}

/** Opens a run; see the module comment. */
export async function* openTrainRun(r: OpenRequest): AsyncGenerator<OpenEvent, OpenedRun> {
  const { graph, overrides, torch } = r;
  const resumed = r.resume?.manifest;
  const python = torch ? torchPython(graph, r.spec.file, torch) : undefined;
  const engine = await selectEngine(r.backend);
  yield { kind: 'engine', engine, ...(python ? { torch: python } : {}) };

  const chosen = resumed
    ? { seed: resumed.settings.seed, valSplit: resumed.data.valSplit ?? dataSettings(r.train, overrides).valSplit }
    : dataSettings(r.train, overrides);
  if (graph.dims === 3 && r.sliceAxis !== undefined)
    yield {
      kind: 'note',
      text: `--slice-axis applies to 2D specs on volumes; ${r.spec.file} is 3D and trains on 3D patches`,
    };
  const sliceAxis = resumed?.data.sliceAxis ?? r.sliceAxis ?? 'z';
  if (!SLICE_AXES.includes(sliceAxis as SliceAxis))
    throw new UsageError(`--slice-axis takes x, y or z, found '${sliceAxis}'`);
  // A resumed run reads its own data folders, or --data/--val where they moved (the fingerprint must still match).
  const folders = { data: r.data ?? resumed?.data.dir, val: r.val ?? resumed?.data.valDir };
  const data = await loadTrainingData(graph, {
    seed: chosen.seed,
    dir: folders.data,
    valDir: folders.val,
    valSplit: chosen.valSplit,
    sliceAxis: sliceAxis as SliceAxis,
  });
  if (resumed && data.fingerprint !== resumed.data.fingerprint)
    throw new UsageError(`the data changed since the run started (${data.source}); resume needs the same data`);
  for (const text of dataWarnings(data, folders)) yield { kind: 'warning', text };
  const counts: DataCounts = data.volumes
    ? { train: data.volumes.train.length, val: data.volumes.val.length, what: 'volumes' }
    : { train: data.train.length, val: data.val.length, what: 'images' };
  let settings: TrainSettings;
  if (resumed) {
    const kept = resumedSettings(resumed.settings, overrides);
    if (kept.ignored.length > 0) yield { kind: 'ignored', overrides: kept.ignored };
    settings = kept.settings;
  } else settings = resolveTrainSettings(r.train, graph, overrides, counts.train);
  yield { kind: 'data', source: data.source, counts };
  if (torch && settings.batch % torch.nproc !== 0)
    throw new UsageError(
      `--nproc ${torch.nproc}: the batch (${settings.batch}) must divide evenly over the processes; choose another --nproc or --batch`,
    );
  const skipped = torch ? torchSkippedAugmentations(settings) : [];
  if (skipped.length > 0)
    yield { kind: 'note', text: `the torch engine does not apply these augmentations yet: ${skipped.join(', ')}` };
  yield { kind: 'settings', settings };

  // Before anything is written: a step that cannot fit is refused with what would.
  if (r.memoryCheck !== false && !torch) {
    const { batch, patch, optimizer } = settings;
    const memory = checkTrainingMemory(
      graph,
      { batch, patch, optimizer: { name: optimizer.name, momentum: optimizer.momentum } },
      engine.name,
    );
    if (!memory.fits) throw new DataError(r.spec.file, memoryProblem(memory, engine.name));
  }
  const runDir = r.dryRun
    ? mkdtempSync(join(tmpdir(), 'unetc-dry-run-'))
    : (r.resume?.dir ?? r.out ?? defaultRunDir(graph.name));
  if (!r.dryRun && !resumed) {
    if (existsSync(join(runDir, 'run.json')))
      throw new UsageError(
        `${runDir} already holds a run: continue it with --resume ${runDir}, or choose another --out`,
      );
    // A folder that is not a run may hold a user's files of the names a run writes (model.onnx, best/).
    guardOutputs(
      RUN_OUTPUTS.map((f) => join(runDir, f)),
      { overwrite: r.overwrite, what: 'a training run' },
    );
  }
  if (!resumed) {
    const record = {
      source: data.source,
      fingerprint: data.fingerprint,
      dir: r.data === undefined ? undefined : resolve(r.data),
      valDir: r.val === undefined ? undefined : resolve(r.val),
      valSplit: chosen.valSplit,
      train: counts.train,
      val: counts.val,
      ...(data.source.endsWith(' slices') ? { sliceAxis } : {}),
    };
    const engineName = torch && python ? `torch ${python.torch} ${torch.devices} x${torch.nproc}` : engine.name;
    const init = r.init ? { from: resolve(r.init.dir), weightsSha256: r.init.manifest.weightsSha256 } : undefined;
    await writeRunManifest(
      runDir,
      makeRunManifest(r.spec, graph, settings, record, engineName, engine.tf.version.tfjs, init),
    );
  }

  // A run stopped (kill -9, power cut) before its first checkpoint has only run.json: it starts
  // again from step 0 with the weights it started from. A damaged last/ is an error, never skipped.
  const restart = resumed !== undefined && !['last', 'last.old'].some((d) => existsSync(join(runDir, d)));
  const checkpoint = resumed && !restart ? await readTrainCheckpoint(engine.tf, join(runDir, 'last')) : undefined;
  let startFrom = r.init;
  if (restart && resumed.init) {
    startFrom = initSource(resumed.init.from);
    yield* shippedNote(resumed.init.from, startFrom);
    if (startFrom.manifest.weightsSha256 !== resumed.init.weightsSha256)
      throw new CheckpointError(
        startFrom.dir,
        `the run started from weights with SHA-256 ${resumed.init.weightsSha256.slice(0, 12)}..., but these have ${startFrom.manifest.weightsSha256.slice(0, 12)}...: the run cannot start again as it did`,
      );
  }
  const model = buildModel(engine.tf, graph);
  setWeights(
    model,
    checkpoint
      ? getWeights(checkpoint.model)
      : startFrom
        ? await initWeights(engine, graph, startFrom, r.spec.file, settings.seed)
        : initialWeights(graph, settings.seed),
    engine.tf,
  );
  checkpoint?.model.dispose();
  if (startFrom) yield { kind: 'init', from: startFrom };
  if (checkpoint) {
    const { step, epoch, bestDice } = checkpoint.state;
    yield { kind: 'resuming', runDir, step, epoch, bestDice };
  }
  if (restart) yield { kind: 'restart', runDir };
  const context: TrainContext = {
    engine,
    graph,
    model,
    data,
    runDir,
    signal: { stop: false },
    settings: r.dryRun ? { ...settings, maxSteps: 1, stepsPerEpoch: 1, epochs: 1 } : settings,
    checkpointInfo: { spec: r.spec, graph, seed: settings.seed, engine: engine.name },
    resume: checkpoint,
  };
  return { context, engine, model, data, counts, settings, runDir, ...(python ? { python } : {}) };
}

/** An --init argument's source, with the note to say when it names a shipped model. */
export function initFrom(arg: string): { readonly source: InitSource; readonly notes: readonly OpenEvent[] } {
  const source = initSource(arg);
  return { source, notes: shippedNote(arg, source) };
}
