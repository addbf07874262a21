import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomWeights } from '../../../src/compiler/backends/weights.js';
import { buildModel, getWeights, setWeights } from '../../../src/compiler/backends/tfjs/index.js';
import {
  CheckpointError,
  checkpointIOHandler,
  checkSpecMatches,
  lendSpecCompiler,
  loadCheckpoint,
  readCheckpointManifest,
  recordedGraph,
  saveCheckpoint,
  sha256,
  type CheckpointManifest,
} from '../../../src/runtime/checkpoint/index.js';
import { graphOf, randomInput, smallSize, tf, unetYaml, useCpu } from '../../backends/tfjs/helpers.js';

// Valid padding: the model has UnetcCenterCrop layers, so loading exercises the custom class.
const SPEC = unetYaml({ block: '{padding: valid}', classes: 2, activation: 'softmax' });
const graph = graphOf(SPEC);

let root: string;
let saved: string;
let manifest: CheckpointManifest;
let model: tf.LayersModel;
let input: tf.Tensor;
let expected: Float32Array;

beforeAll(async () => {
  await useCpu();
  root = mkdtempSync(join(tmpdir(), 'unetc-ckpt-'));
  model = buildModel(tf, graph);
  setWeights(model, randomWeights(graph, 11));
  const [h, w] = smallSize(graph);
  input = randomInput([1, h, w, 1]);
  expected = (model.predict(input) as tf.Tensor).dataSync() as Float32Array;
  saved = join(root, 'saved');
  manifest = await saveCheckpoint(tf, saved, model, {
    spec: { name: 't', file: 't.yaml', text: SPEC },
    graph,
    seed: 11,
    step: 120,
    epoch: 3,
  });
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A fresh copy of the saved checkpoint, to break. */
function copy(name: string): string {
  const dir = join(root, name);
  cpSync(saved, dir, { recursive: true });
  return dir;
}

const predict = (m: tf.LayersModel) => (m.predict(input) as tf.Tensor).dataSync() as Float32Array;

describe('checkpoint round trip', () => {
  it('writes model.json, weights.bin and unetc.json and nothing else', () => {
    expect(readdirSync(saved).sort()).toEqual(['model.json', 'unetc.json', 'weights.bin']);
    const json = JSON.parse(readFileSync(join(saved, 'model.json'), 'utf8'));
    expect(json.format).toBe('layers-model');
    expect(json.generatedBy).toBe('TensorFlow.js tfjs-layers v4.22.0');
    expect(json.convertedBy).toBeNull();
    expect(json.weightsManifest).toHaveLength(1);
    expect(json.weightsManifest[0].paths).toEqual(['weights.bin']);
    expect(json.weightsManifest[0].weights.map((w: { name: string }) => w.name).sort()).toEqual(
      [...getWeights(model).keys()].sort(),
    );
  });

  it('loadCheckpoint gives bit-identical predictions and the same weights', async () => {
    const loaded = await loadCheckpoint(tf, saved);
    expect(predict(loaded.model)).toEqual(expected);
    expect(getWeights(loaded.model)).toEqual(getWeights(model));
    loaded.model.dispose();
  });

  it('tf.loadLayersModel with the IOHandler gives bit-identical predictions', async () => {
    const m = await tf.loadLayersModel(checkpointIOHandler(tf, saved));
    expect(predict(m)).toEqual(expected);
    m.dispose();
  });

  it("tfjs' standard HTTP loader reads it (model.json + weights.bin served as files)", async () => {
    const fetchFunc = async (url: string | URL | Request) =>
      new Response(readFileSync(join(saved, new URL(url instanceof Request ? url.url : url).pathname.slice(1))));
    const m = await tf.loadLayersModel(tf.io.http('http://checkpoint.test/model.json', { fetchFunc }));
    expect(predict(m)).toEqual(expected);
    m.dispose();
  });

  it('the manifest round-trips and records what produced the weights', async () => {
    const { model: m, manifest: loaded } = await loadCheckpoint(tf, saved);
    m.dispose();
    expect(loaded).toEqual(manifest);
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8'));
    expect(loaded).toMatchObject({
      format: 'unetc-checkpoint',
      version: 1,
      spec: { name: 't', file: 't.yaml', sha256: sha256(SPEC), text: SPEC },
      seed: 11,
      weightsSha256: sha256(readFileSync(join(saved, 'weights.bin'))),
      unetc: pkg.version,
      tfjs: '4.22.0',
      engine: 'cpu',
      step: 120,
      epoch: 3,
    });
  });

  it('saving over an existing checkpoint replaces it', async () => {
    const dir = copy('overwrite');
    const other = buildModel(tf, graph);
    setWeights(other, randomWeights(graph, 12));
    await saveCheckpoint(tf, dir, other, { spec: { name: 't', text: SPEC }, graph, seed: 12 });
    const { model: m, manifest: loaded } = await loadCheckpoint(tf, dir);
    expect(loaded.seed).toBe(12);
    expect(loaded.spec.file).toBeUndefined();
    expect(predict(m)).toEqual(predict(other));
    expect(predict(m)).not.toEqual(expected);
    expect(readdirSync(dir).sort()).toEqual(['model.json', 'unetc.json', 'weights.bin']);
    m.dispose();
    other.dispose();
  });
});

/** [case, break the copy (returns the dir to load), file the error names, what it says]. */
const broken: ReadonlyArray<readonly [string, (dir: string) => string, string, RegExp]> = [
  ['missing directory', (d) => join(d, 'nope'), 'nope', /no such checkpoint directory/],
  ['a file instead of a directory', (d) => join(d, 'model.json'), 'model.json', /not a directory/],
  [
    'missing unetc.json',
    (d) => (unlinkSync(join(d, 'unetc.json')), d),
    'unetc.json',
    /missing: not a unetc checkpoint, or its save did not finish/,
  ],
  ['invalid unetc.json', (d) => (writeFileSync(join(d, 'unetc.json'), '{"format": '), d), 'unetc.json', /invalid JSON/],
  [
    'not a unetc manifest',
    (d) => (writeFileSync(join(d, 'unetc.json'), '{"format": "other"}'), d),
    'unetc.json',
    /not a unetc checkpoint manifest .*format is "other"/,
  ],
  ['missing model.json', (d) => (unlinkSync(join(d, 'model.json')), d), 'model.json', /missing/],
  ['invalid model.json', (d) => (writeFileSync(join(d, 'model.json'), '{not json'), d), 'model.json', /invalid JSON/],
  [
    'model.json that is not a layers model',
    (d) => (writeFileSync(join(d, 'model.json'), '[]'), d),
    'model.json',
    /not a tfjs layers model/,
  ],
  [
    'a weightsManifest of the wrong form',
    (d) => (
      writeFileSync(join(d, 'model.json'), '{"modelTopology": {}, "weightsManifest": [{"paths": "weights.bin"}]}'),
      d
    ),
    'model.json',
    /weightsManifest should be a list/,
  ],
  [
    'missing weights.bin',
    (d) => (unlinkSync(join(d, 'weights.bin')), d),
    'weights.bin',
    /missing \(listed in model.json\)/,
  ],
  [
    'truncated weights.bin',
    (d) => (truncateSync(join(d, 'weights.bin'), 100), d),
    'weights.bin',
    /100 bytes, but model.json's weightsManifest needs \d+ \(truncated/,
  ],
  ['a flipped byte in weights.bin', flipByte, 'weights.bin', /corrupt: its SHA-256 is/],
  ['an unknown layer class', unknownLayer, 'model.json', /unknown layer class 'NotALayer'/],
  // Still valid JSON and a model that builds, so only the recorded hash can tell.
  [
    'an edited model.json',
    (d) => (edit(join(d, 'model.json'), '"trainable":true', '"trainable":false'), d),
    'model.json',
    /corrupt: its SHA-256 is/,
  ],
  [
    'an edited spec text in unetc.json',
    (d) => (edit(join(d, 'unetc.json'), 'depth', 'dEpth'), d),
    'unetc.json',
    /corrupt: the spec text it keeps does not match/,
  ],
  [
    'an edited network (IR) in unetc.json',
    (d) => (edit(join(d, 'unetc.json'), '"dims": 2', '"dims": 3'), d),
    'unetc.json',
    /corrupt: the network \(IR\) it keeps does not match/,
  ],
  [
    'an IR without its hash',
    (d) => (dropFields(d, 'graphSha256'), d),
    'unetc.json',
    /field 'graphSha256' should be present/,
  ],
];

function edit(file: string, from: string, to: string): void {
  const text = readFileSync(file, 'utf8');
  if (!text.includes(from)) throw new Error(`${file} has no '${from}'`);
  writeFileSync(file, text.replace(from, to));
}

/** unetc.json without some fields (as a checkpoint from before they were kept). */
function dropFields(dir: string, ...fields: string[]): void {
  const manifest = JSON.parse(readFileSync(join(dir, 'unetc.json'), 'utf8')) as Record<string, unknown>;
  for (const f of fields) delete manifest[f];
  writeFileSync(join(dir, 'unetc.json'), JSON.stringify(manifest));
}

function flipByte(dir: string): string {
  const file = join(dir, 'weights.bin');
  const bytes = readFileSync(file);
  bytes[1000] = bytes[1000]! ^ 0x01;
  writeFileSync(file, bytes);
  return dir;
}

function unknownLayer(dir: string): string {
  const file = join(dir, 'model.json');
  writeFileSync(file, readFileSync(file, 'utf8').replaceAll('"UnetcCenterCrop"', '"NotALayer"'));
  // Without the recorded hash (as in checkpoints from before it), so the class check is reached.
  const manifest = JSON.parse(readFileSync(join(dir, 'unetc.json'), 'utf8')) as Record<string, unknown>;
  delete manifest.files;
  writeFileSync(join(dir, 'unetc.json'), JSON.stringify(manifest));
  return dir;
}

describe('a broken checkpoint gives a CheckpointError naming the file', () => {
  it.each(broken)('%s', async (name, breakIt, file, message) => {
    const dir = breakIt(copy(name.replace(/\W+/g, '-')));
    const error = await loadCheckpoint(tf, dir).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CheckpointError);
    expect((error as CheckpointError).file).toBe(dir.endsWith(file) ? dir : join(dir, file));
    expect((error as Error).message.startsWith(`${(error as CheckpointError).file}: `)).toBe(true);
    expect((error as Error).message, (error as Error).message).toMatch(message);
  });

  it('negative control: the unbroken copy loads', async () => {
    const { model: m } = await loadCheckpoint(tf, copy('control'));
    expect(predict(m)).toEqual(expected);
    m.dispose();
  });
});

describe('the network a checkpoint was made from', () => {
  it('is the checked IR it keeps, so the runtime needs no front end', () => {
    expect(manifest.graph).toEqual(graph);
    expect(recordedGraph(readCheckpointManifest(saved))).toEqual(graph);
  });

  it('a checkpoint from before the IR was kept: rebuilt by the compiler the CLI lends, else a clear reason', () => {
    const old = copy('no-graph');
    dropFields(old, 'graph', 'graphSha256');
    const legacy = readCheckpointManifest(old);
    expect(recordedGraph(legacy)).toMatch(/predates checkpoints that keep their network/);
    const seen: string[] = [];
    lendSpecCompiler((file, text) => (seen.push(file), text === SPEC ? graph : 'not the spec'));
    expect(recordedGraph(legacy)).toEqual(graph);
    expect(seen).toEqual(['t.yaml']);
    // Negative control: a spec that does not compile gives the compiler's reason.
    expect(recordedGraph({ ...legacy, spec: { ...legacy.spec, text: 'other' } })).toBe(
      'the spec it records does not compile: not the spec',
    );
  });
});

describe('a failed save leaves no temporary files', () => {
  it('when the target path is a regular file', async () => {
    const parent = join(root, 'file-parent');
    mkdirSync(parent);
    writeFileSync(join(parent, 'ckpt'), 'not a directory');
    await expect(
      saveCheckpoint(tf, join(parent, 'ckpt'), model, { spec: { name: 't', text: SPEC }, graph, seed: 1 }),
    ).rejects.toThrow(CheckpointError);
    expect(readdirSync(parent)).toEqual(['ckpt']);
  });

  it('when a rename fails half-way (model.json is a directory)', async () => {
    const dir = join(root, 'blocked');
    mkdirSync(join(dir, 'model.json'), { recursive: true });
    await expect(saveCheckpoint(tf, dir, model, { spec: { name: 't', text: SPEC }, graph, seed: 1 })).rejects.toThrow(
      /model\.json: cannot write the checkpoint/,
    );
    expect(readdirSync(dir)).toEqual(['model.json']);
    expect(existsSync(join(dir, 'unetc.json'))).toBe(false);
  });
});

describe('checkSpecMatches', () => {
  it('accepts the exact spec text the checkpoint was trained from', () => {
    expect(() => checkSpecMatches(manifest, SPEC)).not.toThrow();
  });

  it.each([
    ['another network', unetYaml({ block: '{padding: same}', classes: 2, activation: 'softmax' })],
    ['a comment added', `# tuned\n${SPEC}`],
  ])('rejects %s, naming both specs', (_name, text) => {
    expect(() => checkSpecMatches(manifest, text, 'my.yaml')).toThrow(CheckpointError);
    expect(() => checkSpecMatches(manifest, text, 'my.yaml')).toThrow(
      new RegExp(
        `unetc\\.json: the checkpoint was trained from a different spec: it records spec 't' \\(t\\.yaml\\), sha256 ${manifest.spec.sha256.slice(0, 12)}, but my\\.yaml has sha256 ${sha256(text).slice(0, 12)}`,
      ),
    );
  });
});
