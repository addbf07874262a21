import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exportOnnx } from '../src/compiler/backends/onnx/index.js';
import { buildModel, setWeights } from '../src/compiler/backends/tfjs/index.js';
import { initialWeights } from '../src/compiler/backends/weights.js';
import type { Graph } from '../src/compiler/index.js';
import type { Engine } from '../src/runtime/backend/index.js';
import { closeOnnxSession, createOnnxSession, runOnnx } from '../src/runtime/infer/onnx.js';
import { makeTrainStep } from '../src/runtime/train/index.js';
import { randomInput } from '../src/runtime/verify/index.js';
import { findTorchPython } from '../src/runtime/torch/python.js';
import { spatialOf, specText, type BenchConfig } from './configs.js';
import { timeIt } from './stats.js';

/** What one engine measured for one configuration (ms per iteration), or why it could not. */
export interface Measured {
  readonly engine: string;
  readonly threads: number;
  readonly forward?: number[];
  readonly train?: number[];
  readonly error?: string;
}

const why = (e: unknown) => String(e instanceof Error ? e.message : e).split('\n')[0]!;

/** unetc's tfjs engine: predict (inference mode) and a full training step (Adam, BCE + Dice). */
export async function measureTfjs(engine: Engine, graph: Graph, c: BenchConfig, warmup: number): Promise<Measured> {
  const { tf } = engine;
  const model = buildModel(tf, graph);
  setWeights(model, initialWeights(graph, 0), tf);
  const shape = [c.batch, ...spatialOf(c), 1];
  const voxels = spatialOf(c).reduce((a, b) => a * b, 1);
  const x = tf.tensor(randomInput(c.batch, voxels, 1, 1, 1), shape);
  const y = tf.tidy(() => tf.cast(tf.greater(tf.randomUniform(shape, 0, 1, 'float32', 2), 0.5), 'float32'));
  const base = { engine: `unetc ${engine.name}`, threads: engine.threads };
  try {
    const forward = await timeIt(
      async () => {
        const out = tf.tidy(() => model.predict(x) as import('@tensorflow/tfjs').Tensor);
        await out.data();
        out.dispose();
      },
      c.reps,
      warmup,
    );
    if (!c.train) return { ...base, forward };
    try {
      const step = makeTrainStep(tf, model, 'bce-dice', { name: 'adam', learningRate: 1e-3 });
      const train = await timeIt(() => step.run(x, y), c.reps, warmup);
      step.dispose();
      return { ...base, forward, train };
    } catch (e) {
      return { ...base, forward, error: `train: ${why(e)}` };
    }
  } catch (e) {
    return { ...base, error: why(e) };
  } finally {
    x.dispose();
    y.dispose();
    model.dispose();
  }
}

/** onnxruntime-node on the exported model (inference only). */
export async function measureOnnx(graph: Graph, c: BenchConfig, threads: number, warmup: number): Promise<Measured> {
  try {
    const bytes = exportOnnx(graph, initialWeights(graph, 0), { producerVersion: 'bench', specSource: graph.name });
    const session = await createOnnxSession(bytes, { threads });
    const spatial = spatialOf(c);
    const input = randomInput(
      c.batch,
      spatial.reduce((a, b) => a * b, 1),
      1,
      1,
      1,
    );
    const forward = await timeIt(() => runOnnx(session, input, [c.batch, 1, ...spatial]), c.reps, warmup);
    await closeOnnxSession(session);
    return { engine: 'onnxruntime-node', threads, forward };
  } catch (e) {
    return { engine: 'onnxruntime-node', threads, error: why(e) };
  }
}

const reference = fileURLToPath(new URL('./reference/unet.py', import.meta.url));
const unetcBin = fileURLToPath(new URL('../bin/unetc.js', import.meta.url));

/** The python3 that has torch: Debian's first (another python3 on PATH may shadow it). */
export function torchPython(): string | undefined {
  const found = findTorchPython();
  return typeof found === 'string' ? undefined : found.python;
}

/** The PyTorch reference of the same architecture, in a child process. */
export function measureTorch(
  python: string,
  c: BenchConfig,
  threads: number,
  warmup: number,
  options: { readonly train?: boolean } = {},
): Measured {
  const args = [
    reference,
    '--base',
    String(c.base),
    '--depth',
    String(c.depth),
    '--size',
    String(c.size),
    '--batch',
    String(c.batch),
    '--reps',
    String(c.reps),
    '--warmup',
    String(warmup),
    '--threads',
    String(threads),
  ];
  if (!c.train && !options.train) args.push('--no-train');
  if (c.volumeDepth !== undefined) args.push('--volume-depth', String(c.volumeDepth));
  const r = spawnSync(python, args, { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) return { engine: 'pytorch', threads, error: (r.stderr || 'failed').trim().split('\n').pop()! };
  const j = JSON.parse(r.stdout) as { engine: string; threads: number; forward_ms: number[]; train_ms?: number[] };
  return { engine: j.engine, threads: j.threads, forward: j.forward_ms, train: j.train_ms };
}

/**
 * unetc's torch engine (`train --engine torch`), measured as it trains: the run is prepared by the
 * CLI (`--prepare-only`, the built-in synthetic data, the config's batch and patch) and the runner
 * (python/unetc_torch/train.py) is timed from its own per-step events, which include making the
 * batch; the first `warmup` steps are dropped. Forward passes are not its business (no row).
 */
export function measureTorchEngine(python: string, c: BenchConfig, threads: number, warmup: number): Measured {
  const engine = 'unetc torch';
  const dir = mkdtempSync(join(tmpdir(), 'unetc-bench-torch-'));
  try {
    const spec = join(dir, 'bench.yaml');
    const steps = warmup + c.reps;
    writeFileSync(
      spec,
      `${specText(c)}train: {batch: ${c.batch}, patch: [${spatialOf(c).join(', ')}], epochs: 1, steps_per_epoch: ${steps + 1}}\n`,
    );
    const prepared = spawnSync(
      process.execPath,
      [
        unetcBin,
        'train',
        spec,
        '--engine',
        'torch',
        '--prepare-only',
        '--max-steps',
        String(steps),
        '--out',
        join(dir, 'run'),
      ],
      { encoding: 'utf8', env: { ...process.env, UNETC_PYTHON: python } },
    );
    if (prepared.status !== 0)
      return { engine, threads, error: (prepared.stderr || 'prepare failed').trim().split('\n').pop()! };
    const r = spawnSync(python, ['-m', 'unetc_torch.train', 'config.json'], {
      cwd: join(dir, 'run', 'torch'),
      encoding: 'utf8',
      maxBuffer: 16 << 20,
    });
    if (r.status !== 0) return { engine, threads, error: (r.stderr || 'failed').trim().split('\n').pop()! };
    const ms = r.stdout
      .split('\n')
      .filter((l) => l.startsWith('{"kind":"step"'))
      .map((l) => (JSON.parse(l) as { ms: number }).ms);
    return { engine, threads, train: ms.slice(warmup) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
