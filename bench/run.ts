/**
 * `npm run bench [-- --config A,B,C] [--json] [--warmup N]`: forward and training-step times of
 * unetc's engines and of a PyTorch reference of the same architecture, per configuration.
 * Medians over timed repetitions after untimed warm-up; the spread and the machine's load say
 * how noisy the figures are. Speed lives here, never in tests.
 *
 * `npm run bench -- --quality`: mask quality for a time budget against the PyTorch reference
 * (see quality.ts).
 */
import { availableParallelism, cpus, loadavg } from 'node:os';
import { analyze, compileSpec, inferShapes } from '../src/compiler/index.js';
import { selectEngine } from '../src/runtime/backend/index.js';
import { configs, spatialOf, specText, type BenchConfig } from './configs.js';
import { measureOnnx, measureTfjs, measureTorch, measureTorchEngine, torchPython, type Measured } from './engines.js';
import { stats } from './stats.js';
import { qualityBenchmark } from './quality.js';

function option(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const json = process.argv.includes('--json');
const warmup = Number(option('warmup') ?? 2);
const wanted = (option('config') ?? configs.map((c) => c.name).join(',')).split(',');
const threads = availableParallelism();

/** Forward GFLOP per batch: 2 x multiply-adds. A training step is counted as 3x the forward. */
function gflop(c: BenchConfig): number {
  const g = compileSpec({ name: 'bench.yaml', body: specText(c) }).graph!;
  const { shapes } = inferShapes(g, ...spatialOf(c));
  return (2 * analyze(g, shapes, c.batch).macs * c.batch) / 1e9;
}

function row(c: BenchConfig, m: Measured, torch: Measured | undefined, flop: number): string[] {
  const cell = (samples: number[] | undefined, ref: number[] | undefined, factor: number) => {
    if (!samples) return ['-', '-', '-', '-'];
    const s = stats(samples);
    const ratio = ref ? (s.median / stats(ref).median).toFixed(2) + 'x' : '-';
    return [
      s.median.toFixed(0),
      `${(s.spread * 100).toFixed(0)}%`,
      ((flop * factor) / (s.median / 1000)).toFixed(1),
      ratio,
    ];
  };
  return [
    c.name,
    m.engine,
    String(m.threads),
    ...cell(m.forward, torch?.forward, 1),
    ...cell(m.train, torch?.train, 3),
    m.error ?? '',
  ];
}

async function main(): Promise<void> {
  const before = loadavg()[0]!;
  const engine = await selectEngine(option('backend'));
  const python = torchPython();
  if (!json) {
    console.log(
      `machine: ${cpus()[0]?.model ?? '?'}, ${threads} cores; load average ${before.toFixed(2)} before the run`,
    );
    console.log(
      `engines: unetc ${engine.description}; onnxruntime-node; ${python ? `pytorch (${python})` : 'pytorch not found (apt-get install python3-torch)'}`,
    );
    console.log(
      'times in ms (median of the timed repetitions), spread = (max - min) / median, GFLOP/s with a training step counted as 3x forward\n',
    );
  }
  const header = [
    'config',
    'engine',
    'threads',
    'fwd ms',
    'spread',
    'GFLOP/s',
    'vs torch',
    'train ms',
    'spread',
    'GFLOP/s',
    'vs torch',
    'note',
  ];
  const rows: string[][] = [];
  for (const c of configs.filter((x) => wanted.includes(x.name))) {
    const graph = compileSpec({ name: 'bench.yaml', body: specText(c) }).graph!;
    const flop = gflop(c);
    // The reference trains every config, C too: the torch engine's training row compares with it.
    const torch = python ? measureTorch(python, c, threads, warmup, { train: true }) : undefined;
    const results = [
      await measureTfjs(engine, graph, c, warmup),
      await measureOnnx(graph, c, threads, warmup),
      ...(python ? [measureTorchEngine(python, c, threads, warmup)] : []),
      ...(torch ? [torch] : []),
    ];
    for (const m of results) {
      rows.push(row(c, m, torch, flop));
      if (json) {
        const f = m.forward ? stats(m.forward) : undefined;
        const t = m.train ? stats(m.train) : undefined;
        console.log(
          JSON.stringify({
            config: c,
            engine: m.engine,
            threads: m.threads,
            gflopForward: flop,
            forward: f,
            train: t,
            forwardVsTorch: f && torch?.forward ? f.median / stats(torch.forward).median : null,
            trainVsTorch: t && torch?.train ? t.median / stats(torch.train).median : null,
            error: m.error ?? null,
          }),
        );
      }
    }
  }
  if (json) return;
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    r
      .map((x, i) => (i < 2 || i === r.length - 1 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  console.log(line(header));
  for (const r of rows) console.log(line(r));
  console.log(
    `\nload average ${loadavg()[0]!.toFixed(2)} after the run (another process competing for the 2 cores shows here)`,
  );
}

if (process.argv.includes('--quality')) {
  try {
    await qualityBenchmark();
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    process.exit(1);
  }
} else await main();
process.exit(0);
