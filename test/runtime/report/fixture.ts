/** A small fake run folder for the report tests: run.json, metrics.jsonl and a tiny model.onnx. */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportOnnx } from '../../../src/compiler/backends/onnx/index.js';
import { initialWeights } from '../../../src/compiler/backends/weights.js';
import { compileSpec, type Graph } from '../../../src/compiler/index.js';
import type { TrainSettings } from '../../../src/runtime/train/loop.js';
import { makeRunManifest, writeRunManifest, type RunManifest } from '../../../src/runtime/train/run.js';
import { readSpec } from '../../helpers.js';

/** What a hostile description would inject if the page did not escape it. */
export const INJECTED = '<script src="http://evil.example/x.js"></script> & <b>bold</b>';

/** specs/tiny.yaml with a description full of markup. */
export function hostileSpecText(): string {
  return readSpec('specs/tiny.yaml').body.replace('name: tiny\n', `name: tiny\ndescription: '${INJECTED}'\n`);
}

export const SETTINGS: TrainSettings = {
  epochs: 4,
  stepsPerEpoch: 2,
  batch: 2,
  patch: [64, 64],
  loss: 'bce-dice',
  optimizer: { name: 'adam', learningRate: 0.003 },
  schedule: 'cosine',
  earlyStopping: undefined,
  seed: 0,
  augmentation: { flip: true },
  maxSteps: undefined,
};

export const METRICS = [
  { epoch: 1, step: 2, loss: 1.21, lr: 0.003, val_dice: 0.61, val_iou: 0.44, val_pixel_accuracy: 0.9, best: true },
  { epoch: 2, step: 4, loss: 0.93, lr: 0.002, val_dice: 0.74, val_iou: 0.59, val_pixel_accuracy: 0.94, best: true },
  { epoch: 3, step: 6, loss: 0.81, lr: 0.001, val_dice: 0.72, val_iou: 0.56, val_pixel_accuracy: 0.95, best: false },
];

export interface FakeRun {
  readonly dir: string;
  readonly graph: Graph;
  readonly specText: string;
  readonly manifest: RunManifest;
}

/**
 * A run folder as training leaves it, with `val` synthetic 64x64 validation images (the data
 * fingerprint says so) and, unless `model` is false, model.onnx exported from initial weights.
 */
export async function fakeRun(
  options: { val?: number; model?: boolean; data?: Partial<RunManifest['data']> } = {},
): Promise<FakeRun> {
  const dir = join(mkdtempSync(join(tmpdir(), 'unetc-report-')), 'run');
  mkdirSync(dir);
  const specText = hostileSpecText();
  const compiled = compileSpec({ name: 'specs/tiny.yaml', body: specText });
  const graph = compiled.graph;
  if (!graph)
    throw new Error(`the test spec does not compile: ${compiled.diagnostics.map((d) => d.message).join('; ')}`);
  const val = options.val ?? 3;
  const data = {
    source: `synthetic nuclei (seed 0, 0 + ${val} images of 64x64)`,
    fingerprint: `synthetic:0:0:${val}:64`,
    valSplit: 0.2,
    train: 0,
    val,
    ...options.data,
  };
  const manifest = makeRunManifest(
    { name: graph.name, file: 'specs/tiny.yaml', text: specText },
    graph,
    SETTINGS,
    data,
    'wasm',
    '4.22.0',
  );
  await writeRunManifest(dir, manifest);
  writeFileSync(join(dir, 'metrics.jsonl'), METRICS.map((m) => `${JSON.stringify(m)}\n`).join(''));
  if (options.model !== false) {
    writeFileSync(
      join(dir, 'model.onnx'),
      exportOnnx(graph, initialWeights(graph, 0), {
        producerVersion: 'test',
        specSource: specText,
        inputNormalization: 'zscore-per-image',
      }),
    );
  }
  return { dir, graph, specText, manifest };
}

const VOID = new Set([
  'area',
  'base',
  'br',
  'col',
  'embed',
  'hr',
  'img',
  'input',
  'link',
  'meta',
  'source',
  'track',
  'wbr',
]);

/**
 * Problems with the nesting of `html`'s tags (an empty list: well formed): every opened element is
 * closed in order, void elements and `<x/>` close themselves, text holds no stray `<` or `>`.
 */
export function tagProblems(html: string): string[] {
  const problems: string[] = [];
  const body = html.replace(/^<!DOCTYPE html>\s*/i, '');
  if (body === html) problems.push('no <!DOCTYPE html>');
  const stack: string[] = [];
  let last = 0;
  for (const m of body.matchAll(
    /<(\/?)([a-zA-Z][\w:-]*)((?:\s+[\w:-]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'>]+))?)*)\s*(\/?)>/g,
  )) {
    const text = body.slice(last, m.index);
    if (/[<>]/.test(text))
      problems.push(`stray < or > in text before offset ${m.index}: ${JSON.stringify(text.slice(0, 60))}`);
    last = m.index + m[0].length;
    const [, close, rawName, , selfClose] = m;
    const name = rawName!.toLowerCase();
    if (close) {
      const open = stack.pop();
      if (open !== name) problems.push(`</${name}> closes <${open ?? 'nothing'}> at offset ${m.index}`);
    } else if (!selfClose && !VOID.has(name)) stack.push(name);
    if (name === 'style' && !close) {
      const end = body.indexOf('</style>', last);
      last = end;
    }
  }
  if (/[<>]/.test(body.slice(last))) problems.push('stray < or > at the end');
  if (stack.length > 0) problems.push(`never closed: ${stack.join(', ')}`);
  return problems;
}
