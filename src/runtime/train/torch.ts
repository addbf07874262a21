/**
 * `unetc train --engine torch`: the run trains in PyTorch (python/unetc_torch/train.py), on one
 * process or many, and comes back an ordinary unetc run. unetc does what it does for every run
 * (reads and checks the data, resolves the settings, writes run.json) and prepares RUN/torch/:
 *
 * - model.py, weights.bin, weights.json: the spec's PyTorch module and the starting weights
 *   (initial, --init, or a checkpoint's), as `compile --target pytorch` writes them;
 * - data.bin: every training and validation image as read (float32, channels last) with its
 *   mask (uint16), and config.json listing them with their normalization and the resolved
 *   TrainSettings, so both engines train on the same pixels with the same settings;
 * - template/: a checkpoint of the network, whose model.json and unetc.json the runner fills in
 *   to write best/ and last/ in unetc's own format.
 *
 * Then it runs the runner and turns its JSON lines into the same TrainEvents the wasm engine's
 * loop yields. RUN/torch/ can also be copied to a cluster and launched there with torchrun.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { exportPytorch } from '../../compiler/backends/pytorch/index.js';
import { getWeights } from '../../compiler/backends/tfjs/index.js';
import type { Graph } from '../../compiler/ir/index.js';
import { inferShapes, shapeSizes, validSizes } from '../../compiler/shape/index.js';
import { verificationSizes } from '../verify/index.js';
import { saveCheckpoint, sha256, UNETC_VERSION } from '../checkpoint/index.js';
import { makeFolder } from '../data/index.js';
import { writePytorchFiles } from '../export/pytorch.js';
import { PYTHON_PACKAGE_ROOT, TorchError, type TorchPython } from '../torch/python.js';
import { inputNormalization } from '../infer/model.js';
import { METRICS_FILE, truncateMetrics, type TrainContext, type TrainEvent } from './loop.js';
import type { TrainSettings } from './settings.js';

export interface TorchLaunch {
  readonly python: TorchPython;
  /** Local ranks to start (torch.multiprocessing). */
  readonly nproc: number;
  readonly devices: 'cpu' | 'cuda';
  /** Autocast on GPU. */
  readonly amp?: 'bf16' | 'fp16';
  readonly channelsLast?: boolean;
  /** Each rank writes a hash of its weights after every step (RUN/torch/sync-rankN.log): tests. */
  readonly syncLog?: boolean;
}

/** How the runner starts a line that says what went wrong (python/unetc_torch/train.py). */
const RUNNER_ERROR = 'unetc_torch: error: ';

/** RUN/torch */
export const TORCH_DIR = 'torch';
export const TORCH_CONFIG = 'config.json';

/**
 * Why this graph cannot train in PyTorch yet, or undefined: the runner validates on whole images
 * padded to a size the network takes, which needs an output as large as its input (not so for
 * 'valid'-padding networks, whose outputs are cropped).
 */
export function torchUnsupported(graph: Graph): string | undefined {
  const size = verificationSizes(graph)[0]!;
  const out = inferShapes(graph, ...size).shapes.get('output');
  if (out === undefined || shapeSizes(out).some((n, i) => n !== size[i]))
    return "a network whose output is smaller than its input ('valid' padding)";
  return undefined;
}

/**
 * The augmentations the runner applies (python/unetc_torch/data.py): today every one the spec has;
 * one added to the spec before the runner has it is named in a note and skipped.
 */
const TORCH_AUGMENTATIONS = new Set([
  'flip',
  'rotate90',
  'intensity',
  'gamma',
  'noise',
  'invert',
  'blur',
  'gray',
  'color',
  'scale',
  'elastic',
]);

/** The spec's augmentations the torch engine leaves out, by their spec names (for a note). */
export function torchSkippedAugmentations(settings: Pick<TrainSettings, 'augmentation'>): string[] {
  return Object.entries(settings.augmentation)
    .filter(([name, value]) => !TORCH_AUGMENTATIONS.has(name) && value !== undefined && value !== false && value !== 0)
    .map(([name]) => name)
    .sort();
}

/** One image (or volume) to pack: its values as read, its mask, its normalization. */
interface Item {
  readonly name: string;
  readonly shape: readonly number[];
  readonly channels: number;
  readonly image: Float32Array;
  readonly mask: Uint16Array;
  readonly norm: { readonly offset: readonly number[]; readonly scale: readonly number[] };
}

/** An Item as config.json lists it for the runner: byte offsets into data.bin instead of arrays. */
type Entry = Omit<Item, 'image' | 'mask'> & {
  readonly image: number;
  readonly mask: number;
  /** Validation: the smallest size per axis the network takes that holds the image. */
  readonly padded?: readonly number[];
};

/** The data's images in one buffer, and their entries for config.json. */
function packData(graph: Graph, train: readonly Item[], val: readonly Item[]) {
  const parts: Uint8Array[] = [];
  let offset = 0;
  const push = (bytes: Uint8Array) => {
    const at = offset;
    parts.push(bytes);
    offset += bytes.length;
    // Every array starts at a multiple of 4 bytes (float32 alignment).
    const pad = (4 - (offset % 4)) % 4;
    if (pad > 0) {
      parts.push(new Uint8Array(pad));
      offset += pad;
    }
    return at;
  };
  const sizes = graph.inputSize === 'any' ? [0, 1, 2].slice(0, graph.dims).map((a) => validSizes(graph, a)) : [];
  const fit = (shape: readonly number[]) =>
    shape.map((n, a) => (graph.inputSize === 'any' ? (sizes[a]!.find((s) => s >= n) ?? n) : graph.inputSize[a]!));
  const entries = (items: readonly Item[], validation: boolean): Entry[] =>
    items.map((e) => ({
      name: e.name,
      shape: e.shape,
      channels: e.channels,
      image: push(new Uint8Array(e.image.buffer, e.image.byteOffset, e.image.byteLength)),
      mask: push(new Uint8Array(e.mask.buffer, e.mask.byteOffset, e.mask.byteLength)),
      norm: { offset: e.norm.offset, scale: e.norm.scale },
      ...(validation ? { padded: fit(e.shape) } : {}),
    }));
  const entriesTrain = entries(train, false);
  const entriesVal = entries(val, true);
  return { bytes: Buffer.concat(parts), train: entriesTrain, val: entriesVal };
}

/**
 * Writes RUN/torch/ (see the file comment) from the context's model (holding the starting
 * weights), data and settings; returns the config.json path.
 */
export async function prepareTorchRun(ctx: TrainContext): Promise<string> {
  const dir = join(ctx.runDir, TORCH_DIR);
  makeFolder(dir);
  const g = ctx.graph;
  writePytorchFiles(
    dir,
    exportPytorch(g, getWeights(ctx.model), {
      specSource: ctx.checkpointInfo.spec.text,
      producerVersion: UNETC_VERSION,
      inputNormalization: inputNormalization(g),
    }),
  );
  await saveCheckpoint(ctx.engine.tf, join(dir, 'template'), ctx.model, ctx.checkpointInfo);
  const v = ctx.data.volumes;
  const items = (split: 'train' | 'val'): Item[] =>
    v
      ? v[split].map((e) => ({ ...e, shape: e.dims }))
      : ctx.data[split].map((e) => ({
          name: e.name,
          shape: [e.image.height, e.image.width],
          channels: e.image.channels,
          image: e.image.data,
          mask: e.mask.data,
          norm: e.norm,
        }));
  const packed = packData(g, items('train'), items('val'));
  writeFileSync(join(dir, 'data.bin'), packed.bytes);
  const config = {
    format: 'unetc-torch-run',
    version: 1,
    run: '..',
    // The runner writes into the run folder only when its run.json is this run's.
    spec_sha256: sha256(ctx.checkpointInfo.spec.text),
    head: {
      classes: g.classes,
      instances: g.instances ?? null,
      threshold: g.threshold,
      activation: g.activation,
      // The module returns the heads in this order in training mode; each is scored against the mask average-pooled by its factor.
      deepSupervision: g.deepSupervision
        ? {
            mainWeight: g.deepSupervision.mainWeight,
            heads: g.deepSupervision.heads.map((h) => ({ factor: h.factor, weight: h.weight })),
          }
        : null,
    },
    settings: ctx.settings,
    // A resumed run: where it stopped (its weights are the module's; its optimizer state is in last/).
    ...(ctx.resume ? { resume: { state: ctx.resume.state, checkpoint: '../last' } } : {}),
    data: {
      file: 'data.bin',
      sha256: sha256(packed.bytes),
      normalization: inputNormalization(g),
      train: packed.train,
      val: packed.val,
    },
  };
  const file = join(dir, TORCH_CONFIG);
  writeFileSync(file, `${JSON.stringify(config, null, 1)}\n`);
  // The runner itself, so that RUN/torch runs where unetc is not installed (`python3 -m unetc_torch.train`).
  const runner = join(dir, 'unetc_torch');
  makeFolder(runner);
  for (const f of readdirSync(join(PYTHON_PACKAGE_ROOT, 'unetc_torch')).filter((n) => n.endsWith('.py')))
    copyFileSync(join(PYTHON_PACKAGE_ROOT, 'unetc_torch', f), join(runner, f));
  return file;
}

/** The runner's command line for a prepared run. */
export function runnerArgs(config: string, launch: Omit<TorchLaunch, 'python'>): string[] {
  return [
    '-m',
    'unetc_torch.train',
    resolve(config),
    '--nproc',
    String(launch.nproc),
    '--devices',
    launch.devices,
    ...(launch.amp ? ['--amp', launch.amp] : []),
    ...(launch.channelsLast ? ['--channels-last'] : []),
    ...(launch.syncLog ? ['--sync-log'] : []),
  ];
}

/**
 * Prepares RUN/torch/ and trains there in PyTorch, yielding the runner's events; the run folder
 * ends as the wasm engine's would (metrics.jsonl, best/, last/). A runner that fails is a
 * TorchError with its last line of output.
 */
export async function* torchTrainLoop(ctx: TrainContext, launch: TorchLaunch): AsyncGenerator<TrainEvent> {
  const config = await prepareTorchRun(ctx);
  if (ctx.resume) truncateMetrics(join(ctx.runDir, METRICS_FILE), ctx.resume.state.step);
  // Its own process group: the terminal's Ctrl-C reaches unetc alone, which passes it on (below),
  // and a second Ctrl-C (unetc exits at once) takes the launcher and every rank with it.
  const child = spawn(launch.python.python, runnerArgs(config, launch), {
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
    env: { ...process.env, PYTHONPATH: [PYTHON_PACKAGE_ROOT, process.env.PYTHONPATH].filter((p) => p).join(':') },
  });
  const killGroup = () => {
    try {
      if (child.pid !== undefined && child.exitCode === null) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  };
  process.on('exit', killGroup);
  let forwarded = false;
  const poll = setInterval(() => {
    if (ctx.signal.stop && !forwarded && child.pid !== undefined) {
      forwarded = true;
      child.kill('SIGINT');
    }
  }, 100);
  let errors = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (t: string) => {
    errors = (errors + t).slice(-8192);
  });
  const exited = new Promise<number | null>((done) => child.on('close', (code) => done(code)));
  const spawnError = new Promise<Error>((done) => child.on('error', done));
  let stopped = false;
  try {
    for await (const line of createInterface({ input: child.stdout })) {
      if (!line.startsWith('{')) continue;
      const event = JSON.parse(line) as TrainEvent & { trainLoss?: number | null };
      if (event.kind === 'epoch') yield { ...event, trainLoss: event.trainLoss ?? NaN, val: event.val ?? undefined };
      else yield event;
      if (event.kind === 'stopped') stopped = true;
    }
    const code = await Promise.race([exited, spawnError.then((e) => e)]);
    if (code instanceof Error) throw new TorchError(`cannot start ${launch.python.python}: ${code.message}`);
    if (code !== 0 || !stopped) {
      const lines = errors.split('\n').filter((l) => l.trim() !== '');
      // The runner says what the user can act on in a line of its own; else its last line.
      const said = lines.filter((l) => l.startsWith(RUNNER_ERROR)).at(-1);
      if (said) throw new TorchError(said.slice(RUNNER_ERROR.length));
      throw new TorchError(`the PyTorch runner failed (exit ${code}): ${lines.at(-1) ?? 'no output'}`);
    }
  } finally {
    clearInterval(poll);
    process.off('exit', killGroup);
    killGroup();
  }
}
