import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportOnnxDetailed } from '../../src/compiler/backends/onnx/index.js';
import { className, emitPytorchSource, exportPytorch, pythonNames } from '../../src/compiler/backends/pytorch/index.js';
import { randomWeights } from '../../src/compiler/backends/weights.js';
import type { Graph } from '../../src/compiler/index.js';
import { torchParity, writePytorchFiles, type TorchParityCase } from '../../src/runtime/export/pytorch.js';
import { closeOnnxSession, createOnnxSession, runOnnx, type OnnxSession } from '../../src/runtime/infer/onnx.js';
import { findTorchPython } from '../../src/runtime/torch/python.js';
import { PARITY_TOLERANCE, toChannelsFirst, type ParityResult } from '../../src/runtime/verify/index.js';
import { compileFile, scratchDir, shippedSpecs } from '../helpers.js';
import { graphOf } from './onnx/helpers.js';
import { inlineCases, numericGraph, stridedGraph, transposeGraph } from './onnx/specs.js';

const found = findTorchPython();
const torch = typeof found === 'string' ? undefined : found;

/** Every shipped spec and the shipped nuclei model's, then the inline cases that cover every IR op and option. */
const cases: [string, () => Graph][] = [
  ...[...shippedSpecs(), 'models/nuclei/spec.yaml'].map((f): [string, () => Graph] => [f, () => compileFile(f).graph!]),
  ...inlineCases.filter((c) => !c.foldBn).map((c): [string, () => Graph] => [c.name, () => graphOf(c.yaml)]),
  ['stride-2 same conv, any size', () => graphOf(stridedGraph())],
  ['stride-2 same conv, fixed odd size', () => graphOf(stridedGraph(', size: [13, 17]'))],
  ['transposed convs, kernel < and > stride, odd same crop', () => graphOf(transposeGraph)],
];

const meta = { producerVersion: '0.0.0-test', inputNormalization: 'zscore-per-image' } as const;

describe('the PyTorch module text', () => {
  it.each(cases)('%s: byte-identical when emitted twice, and valid names only', (_name, graph) => {
    const g = graph();
    const a = emitPytorchSource(g, { specSha256: 'ab', producerVersion: '1' });
    expect(emitPytorchSource(g, { specSha256: 'ab', producerVersion: '1' })).toBe(a);
    expect(a).toContain(`class ${className(g.name)}(nn.Module):`);
    for (const name of pythonNames(g).values()) expect(name).toMatch(/^[A-Za-z_][A-Za-z0-9_]*$/);
    // Negative control: another spec hash is another file.
    expect(emitPytorchSource(g, { specSha256: 'cd', producerVersion: '1' })).not.toBe(a);
  });

  it('names never clash, never shadow a keyword or a module member', () => {
    const ops = ['enc1.conv1', 'enc1_conv1', 'forward', 'class', '2x', 'a-b'].map((name) => ({ name }));
    expect([...pythonNames({ ops } as unknown as Graph).values()]).toEqual([
      'enc1_conv1',
      'enc1_conv1_2',
      'forward_',
      'class_',
      'op_2x',
      'a_b',
    ]);
    expect(className('unet-3d-aniso')).toBe('Unet3dAniso');
    expect(className('3d')).toBe('Net3d');
    // A class must not shadow what the module imports or defines (torch.nn.functional as F, DIMS, None).
    expect(['f', 'DIMS', 'none', 'weights'].map(className)).toEqual(['FNet', 'DIMSNet', 'NoneNet', 'Weights']);
  });

  it('weights.bin is the float32 tfjs-layout bytes whose sha256 an ONNX export records', () => {
    const g = compileFile('specs/unet-3d.yaml').graph!;
    const w = randomWeights(g, 3);
    const e = exportPytorch(g, w, { ...meta, specSource: 'x' });
    const sha = createHash('sha256').update(e.weights).digest('hex');
    expect(JSON.parse(e.manifest).sha256).toBe(sha);
    const onnx = exportOnnxDetailed(g, w, { producerVersion: 't', specSource: 'x' });
    expect(onnx.bytes.length).toBeGreaterThan(0);
    expect(Buffer.from(onnx.bytes).includes(Buffer.from(sha))).toBe(true);
  });
});

describe.skipIf(!torch)('the PyTorch module matches onnxruntime on the same weights (eval mode)', () => {
  const dir = scratchDir('unetc-torch-');
  const sessions: OnnxSession[] = [];
  const results = new Map<string, ParityResult[]>();
  /** An export of `graph` with parity.test's random weights in `folder`, and onnxruntime as its reference. */
  const prepare = async (graph: Graph, folder: string, edit?: (source: string) => string): Promise<TorchParityCase> => {
    const weights = randomWeights(graph, 11);
    const e = exportPytorch(graph, weights, { ...meta, specSource: graph.name });
    mkdirSync(folder, { recursive: true });
    writePytorchFiles(folder, edit ? { ...e, source: edit(e.source) } : e);
    const session = await createOnnxSession(
      exportOnnxDetailed(graph, weights, { producerVersion: 't', specSource: graph.name }).bytes,
      { threads: 1 },
    );
    sessions.push(session);
    const c = graph.inputChannels;
    return {
      folder,
      graph,
      reference: async (input, size) =>
        (await runOnnx(session, toChannelsFirst(input, 1, size, c), [1, c, ...size])).data,
    };
  };

  beforeAll(async () => {
    const planned = await Promise.all(cases.map(([, graph], i) => prepare(graph(), join(dir, `case${i}`))));
    const out = await torchParity(torch!, planned, 3);
    cases.forEach(([name], i) => results.set(name, out[i]!));
  }, 300_000);
  afterAll(async () => {
    for (const s of sessions) await closeOnnxSession(s);
  });

  it.each(cases.map(([name]) => name))('%s', (name) => {
    const r = results.get(name)!;
    expect(r.length).toBeGreaterThan(0);
    expect(Math.max(...r.map((x) => x.relative))).toBeLessThanOrEqual(PARITY_TOLERANCE);
  });

  it.each([
    ['BatchNorm epsilon left at PyTorch default', numericGraph, (s: string) => s.replace(/, eps=0\.001/g, '')],
    [
      'the odd crop of a transposed conv at its start',
      transposeGraph,
      (s: string) => s.replace('slice(0, n - a)', 'slice(a, n)'),
    ],
    [
      'linear upsampling with half-pixel centres (F.interpolate)',
      stridedGraph(),
      (s: string) =>
        s.replace(/_resize_linear\((\w+), \((\d), \d\)\)/, "F.interpolate($1, scale_factor=$2, mode='bilinear')"),
    ],
  ])(
    'negative control: %s fails the same check',
    async (name, yaml, edit) => {
      const graph = graphOf(yaml);
      const plain = exportPytorch(graph, randomWeights(graph, 11), { ...meta, specSource: graph.name }).source;
      expect(edit(plain)).not.toBe(plain);
      const c = await prepare(graph, join(dir, `broken-${name.replace(/\W+/g, '-')}`), edit);
      const [r] = await torchParity(torch!, [c], 3);
      expect(Math.max(...r!.map((x) => x.relative))).toBeGreaterThan(PARITY_TOLERANCE);
    },
    60_000,
  );

  it('a changed weight (manifest re-hashed) fails the check; unhashed, the loader refuses the file by name', async () => {
    const c = await prepare(graphOf(numericGraph), join(dir, 'changed'));
    const bin = join(c.folder, 'weights.bin');
    const bytes = readFileSync(bin);
    bytes.writeFloatLE(bytes.readFloatLE(0) + 0.5, 0);
    writeFileSync(bin, bytes);
    await expect(torchParity(torch!, [c])).rejects.toThrow(
      /weights\.bin: its sha256 is not the one weights\.json records/,
    );
    const manifest = JSON.parse(readFileSync(join(c.folder, 'weights.json'), 'utf8'));
    manifest.sha256 = createHash('sha256').update(bytes).digest('hex');
    writeFileSync(join(c.folder, 'weights.json'), JSON.stringify(manifest));
    const [r] = await torchParity(torch!, [c]);
    expect(Math.max(...r!.map((x) => x.relative))).toBeGreaterThan(PARITY_TOLERANCE);
  }, 60_000);

  it.each(['specs/unet-3d-aniso.yaml', 'specs/unet-ds.yaml'])(
    '%s: weights round-trip bit-exactly through the PyTorch module (load, write_weights)',
    async (file) => {
      const c = await prepare(compileFile(file).graph!, join(dir, `rt-${file.length}`));
      const back = join(c.folder, 'back');
      const r = spawnSync(
        torch!.python,
        [
          '-c',
          'import sys; sys.path.insert(0, sys.argv[1]); import model; model.write_weights(model.load(), sys.argv[2])',
          c.folder,
          back,
        ],
        { encoding: 'utf8' },
      );
      expect(r.stderr).toBe('');
      expect(Buffer.compare(readFileSync(join(back, 'weights.bin')), readFileSync(join(c.folder, 'weights.bin')))).toBe(
        0,
      );
      const [a, b] = [back, c.folder].map((f) => JSON.parse(readFileSync(join(f, 'weights.json'), 'utf8')));
      expect(a).toEqual(b);
      expect(a.input_normalization).toBe('zscore-per-image');
    },
    60_000,
  );
});
