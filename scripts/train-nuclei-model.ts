/**
 * Retrains the nuclei model that ships with unetc (models/nuclei/), from ../shared/data:
 *
 *   npm run model:nuclei            # or: node --import tsx scripts/train-nuclei-model.ts [--data DIR] [--steps N]
 *   npm run model:nuclei -- --engine torch      # the same recipe in PyTorch (python3 with torch): about 2x faster on CPUs
 *
 * 1. Training folder: every image of dsb2018-nuclei-mini and -val, and of dsb2018-nuclei-multi
 *    except the held-out ones (models/nuclei/holdout.txt: about a third of each kind), the multi
 *    ones listed twice (so the seven other kinds are a third of what the model sees, not a fifth).
 *    Symbolic links in a temporary folder: nothing is copied.
 * 2. `unetc train models/nuclei/spec.yaml` on it, no validation split (the held-out images check it).
 * 3. `unetc compile --fp16-weights`: the checkpoint (tfjs) and model.onnx, both verified.
 * 4. `unetc eval` on each kind of held-out image, and on all of them: models/nuclei/scores.json,
 *    the table in MODEL.md.
 *
 * `--score-only` skips 2 and 3: it scores the shipped model again (after a change to how masks
 * and instances are made from its output) and rewrites scores.json and the table.
 */
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const modelDir = join(root, 'models', 'nuclei');
const option = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1]! : fallback;
};
const data = resolve(option('data', join(root, '..', 'shared', 'data')));
const keep = process.argv.includes('--keep');
const scoreOnly = process.argv.includes('--score-only');
const engine = option('engine', 'tfjs');

interface Entry {
  readonly name: string;
  readonly h: number;
  readonly w: number;
  readonly gray: boolean;
}

/** The kind of a multi image: its colour and size (the seven kinds of dsb2018-nuclei-multi). */
export const kindOf = (e: Entry) => `${e.gray ? 'gray' : 'RGB'} ${e.h}x${e.w}`;

/** Runs the CLI; its output is shown as it goes, or returned (`capture`) for the scores. */
function unetc(capture: boolean, ...args: string[]): string {
  console.log(`$ unetc ${args.join(' ')}`);
  const r = spawnSync(process.execPath, [join(root, 'bin', 'unetc.js'), ...args], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', capture ? 'pipe' : 'inherit', 'inherit'],
    maxBuffer: 64 << 20,
  });
  if (r.status !== 0) throw new Error(`unetc ${args[0]} failed (exit ${r.status})${capture ? `:\n${r.stdout}` : ''}`);
  return r.stdout ?? '';
}

/** Links NAME.png of images/, masks/ and labels/ from `from` into `to` (as NAME + suffix). */
function link(from: string, name: string, to: string, suffix = ''): void {
  for (const sub of ['images', 'masks', 'labels']) {
    mkdirSync(join(to, sub), { recursive: true });
    symlinkSync(join(from, sub, `${name}.png`), join(to, sub, `${name}${suffix}.png`));
  }
}

function main(): void {
  const folders = ['dsb2018-nuclei-mini', 'dsb2018-nuclei-val', 'dsb2018-nuclei-multi'].map((f) => join(data, f));
  for (const f of folders)
    if (!existsSync(join(f, 'index.json')))
      throw new Error(`${f}: missing (the nuclei model trains on ../shared/data; give --data DIR)`);
  const holdout = new Set(
    readFileSync(join(modelDir, 'holdout.txt'), 'utf8')
      .split('\n')
      .map((l) => l.replace(/#.*/, '').trim())
      .filter(Boolean),
  );
  const work = mkdtempSync(join(tmpdir(), 'unetc-nuclei-model-'));
  try {
    const train = join(work, 'train');
    for (const f of folders.slice(0, 2))
      for (const e of JSON.parse(readFileSync(join(f, 'index.json'), 'utf8')) as Entry[]) link(f, e.name, train);
    const multi = JSON.parse(readFileSync(join(folders[2]!, 'index.json'), 'utf8')) as Entry[];
    const kinds = new Map<string, string[]>();
    for (const e of multi) {
      if (holdout.has(e.name)) {
        // Each kind of held-out image is a data folder of its own, scored separately.
        const kind = kindOf(e);
        kinds.set(kind, [...(kinds.get(kind) ?? []), e.name]);
        link(folders[2]!, e.name, join(work, 'holdout', kind.replace(/ /g, '-')));
        link(folders[2]!, e.name, join(work, 'holdout-all'));
      } else {
        link(folders[2]!, e.name, train);
        link(folders[2]!, e.name, train, '-again');
      }
    }
    const count = readdirSync(join(train, 'images')).length;
    console.log(
      `training on ${count} images (${multi.length - holdout.size} of dsb2018-nuclei-multi twice); ${holdout.size} held out in ${kinds.size} kinds`,
    );

    const previous = JSON.parse(readFileSync(join(modelDir, 'scores.json'), 'utf8')) as {
      trained: string;
      engine?: string;
    };
    if (!scoreOnly) {
      const run = join(work, 'run');
      const steps = option('steps', '');
      unetc(
        false,
        'train',
        join(modelDir, 'spec.yaml'),
        '--data',
        train,
        '--val-split',
        '0',
        '--out',
        run,
        '--no-export',
        '--engine',
        engine,
        ...(steps ? ['--epochs', '1', '--steps-per-epoch', steps] : []),
      );
      unetc(
        false,
        'compile',
        join(modelDir, 'spec.yaml'),
        '-t',
        'tfjs',
        '-o',
        join(modelDir, 'checkpoint'),
        '--weights',
        join(run, 'last'),
        '--fp16-weights',
      );
      unetc(
        false,
        'compile',
        join(modelDir, 'spec.yaml'),
        '-t',
        'onnx',
        '-o',
        join(modelDir, 'model.onnx'),
        '--weights',
        join(run, 'last'),
        '--fp16-weights',
      );
    }

    const scores: Record<string, unknown>[] = [];
    const score = (name: string, folder: string, images: number) => {
      const out = unetc(true, 'eval', modelDir, '--data', folder);
      const num = (re: RegExp) => Number(re.exec(out)?.[1] ?? NaN);
      scores.push({
        kind: name,
        images,
        dice: num(/mean per image\s+([\d.]+)/),
        dicePooled: num(/pooled \(all pixels\)\s+([\d.]+)/),
        f1: num(/pooled \(all instances\)\s+[\d.]+\s+[\d.]+\s+([\d.]+)/),
        f1Mean: num(/instances \(IoU[^\n]*\n[^\n]*\nmean per image\s+[\d.]+\s+[\d.]+\s+([\d.]+)/),
      });
    };
    for (const [kind, names] of [...kinds].sort())
      score(kind, join(work, 'holdout', kind.replace(/ /g, '-')), names.length);
    score('all held-out images', join(work, 'holdout-all'), holdout.size);
    const today = new Date().toISOString().slice(0, 10);
    writeFileSync(
      join(modelDir, 'scores.json'),
      `${JSON.stringify(
        {
          trained: scoreOnly ? previous.trained : today,
          engine: scoreOnly ? (previous.engine ?? 'tfjs') : engine,
          scored: today,
          trainingImages: count,
          scores,
        },
        null,
        2,
      )}\n`,
    );
    writeScoreTable(scores as unknown as Score[]);
    console.log(
      `wrote ${modelDir}/${scoreOnly ? '' : 'checkpoint, model.onnx, '}scores.json and the table in MODEL.md`,
    );
  } finally {
    if (keep) console.log(`kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

interface Score {
  readonly kind: string;
  readonly images: number;
  readonly dice: number;
  readonly dicePooled: number;
  readonly f1: number;
  readonly f1Mean: number;
}

/** Rewrites the table between the score markers of MODEL.md. */
function writeScoreTable(scores: readonly Score[]): void {
  const file = join(modelDir, 'MODEL.md');
  const text = readFileSync(file, 'utf8');
  const f = (v: number) => v.toFixed(3);
  const rows = [
    '| held-out images of dsb2018-nuclei-multi | images | Dice (mean per image) | Dice (pooled) | instance F1 (pooled) | instance F1 (mean per image) |',
    '| --- | --- | --- | --- | --- | --- |',
    ...scores.map(
      (s) => `| ${s.kind} | ${s.images} | ${f(s.dice)} | ${f(s.dicePooled)} | ${f(s.f1)} | ${f(s.f1Mean)} |`,
    ),
  ];
  const begin = '<!-- scores:begin -->';
  const end = '<!-- scores:end -->';
  const a = text.indexOf(begin);
  const b = text.indexOf(end);
  if (a < 0 || b < a) throw new Error(`${file}: no ${begin} ... ${end} markers`);
  writeFileSync(file, `${text.slice(0, a + begin.length)}\n${rows.join('\n')}\n${text.slice(b)}`);
}

main();
