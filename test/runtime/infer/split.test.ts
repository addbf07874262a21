/**
 * A boundary head's split settings declared in the spec (`output.split`): lowered into the IR,
 * carried by the ONNX metadata, read back by loadModel and used by instancesOf.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportOnnx } from '../../../src/compiler/backends/onnx/index.js';
import { randomWeights } from '../../../src/compiler/backends/weights.js';
import { compileSpec, defaultSplit, type Graph } from '../../../src/compiler/index.js';
import { instancesOf, loadModel, type Prediction } from '../../../src/runtime/infer/index.js';

const spec = (split: string) => `name: split
input: {channels: 1}
output: {classes: 1, instances: boundary${split}}
network: {depth: 2, filters: [4, 8]}
`;

function compiled(body: string) {
  return compileSpec({ name: 'split.yaml', body });
}

function graphOf(body: string): Graph {
  const c = compiled(body);
  expect(c.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return c.graph!;
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'unetc-split-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function exported(name: string, body: string, edit = (b: Buffer) => b): string {
  const graph = graphOf(body);
  const bytes = exportOnnx(graph, randomWeights(graph, 1), {
    producerVersion: 'test',
    specSource: body,
    inputNormalization: 'zscore-per-image',
  });
  const file = join(dir, `${name}.onnx`);
  writeFileSync(file, edit(Buffer.from(bytes)));
  return file;
}

describe('output.split in the spec', () => {
  it('lowers into the IR, the missing setting from the defaults; absent without output.split', () => {
    expect(graphOf(spec(', split: {seed_threshold: 0.6, waist_depth: 0.75}')).split).toEqual({
      seedThreshold: 0.6,
      waistDepth: 0.75,
    });
    expect(graphOf(spec(', split: {waist_depth: 1}')).split).toEqual({
      seedThreshold: defaultSplit.seedThreshold,
      waistDepth: 1,
    });
    expect(graphOf(spec('')).split).toBeUndefined();
  });

  it('is refused without a boundary head, at its key; out-of-range values at the value', () => {
    const body =
      'name: s\ninput: {channels: 1}\noutput:\n  classes: 1\n  split: {seed_threshold: 0.6}\nnetwork: {depth: 2, filters: [4, 8]}\n';
    const [d] = compiled(body).diagnostics.filter((x) => x.severity === 'error');
    expect(d?.message).toMatch(/output\.split .* but output\.instances is not boundary/);
    expect(body.slice(d!.span!.start, d!.span!.end)).toBe('split');
    const range = compiled(spec(', split: {seed_threshold: 1.5}')).diagnostics.filter((x) => x.severity === 'error');
    expect(range.map((x) => x.message).join('\n')).toMatch(/seed_threshold/);
    expect(range).toHaveLength(1);
  });

  it('travels in the ONNX metadata to the loaded model (negative control: none declared, none loaded)', async () => {
    const declared = await loadModel(exported('declared', spec(', split: {seed_threshold: 0.6, waist_depth: 0.75}')));
    const plain = await loadModel(exported('plain', spec('')));
    try {
      expect(declared.info.split).toEqual({ seedThreshold: 0.6, waistDepth: 0.75 });
      expect(plain.info.split).toBeUndefined();
    } finally {
      await declared.close();
      await plain.close();
    }
  });

  it('damaged split metadata is refused, naming the file', async () => {
    const file = exported('damaged', spec(', split: {seed_threshold: 0.6, waist_depth: 0.75}'), (b) => {
      const at = b.indexOf('"seed_threshold":0.6');
      expect(at).toBeGreaterThan(0);
      b.write('"seed_threshold":1.6', at);
      return b;
    });
    await expect(loadModel(file)).rejects.toThrow(/damaged\.onnx: instance_split metadata .*seed_threshold":1\.6/);
  });
});

describe('instancesOf follows the model', () => {
  // Two touching nuclei in a row, an outline between them: the left one's interior is confident
  // (P 0.9), the right one's only 0.65. Without a seed of its own, the right one is grown over by
  // the left one's.
  const width = 24;
  const height = 8;
  const probabilities = new Float32Array(width * height * 3);
  for (let y = 1; y < 7; y++)
    for (let x = 1; x < 23; x++) {
      // Column 12 is the outline between them: low interior, the rest boundary.
      const interior = x < 12 ? 0.9 : x === 12 ? 0.3 : 0.65;
      probabilities.set([0.02, interior, 0.98 - interior], (y * width + x) * 3);
    }
  for (let i = 0; i < width * height; i++) if (probabilities[i * 3 + 1] === 0) probabilities[i * 3] = 1;
  const p: Prediction = { height, width, probabilities, classes: 3, classMap: new Uint8Array(width * height) };
  const info = { instances: 'boundary' as const, threshold: 0.5 };

  it('seeds at the declared threshold: 0.6 finds both nuclei, the default 0.7 one', () => {
    expect(instancesOf(p, { ...info, split: { seedThreshold: 0.6, waistDepth: 1.5 } }).components).toHaveLength(2);
    expect(instancesOf(p, info).components).toHaveLength(1);
  });
});
