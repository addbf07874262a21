import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { outputsIn, run, runWithoutTorch } from './helpers.js';
import { findTorchPython, PYTHON_PACKAGE_ROOT } from '../../src/runtime/torch/python.js';
import { spawnSync } from 'node:child_process';
import { countInitializerValues, summarizeOnnx } from '../../src/compiler/backends/onnx/index.js';
import { roundWeightsToHalf } from '../../src/compiler/backends/half.js';
import { exportVerifiedOnnx } from '../../src/runtime/export/onnx.js';
import { buildModel, getWeights, setWeights } from '../../src/compiler/backends/tfjs/index.js';
import { initialWeights } from '../../src/compiler/backends/weights.js';
import { selectEngine } from '../../src/runtime/backend/index.js';
import { loadCheckpoint } from '../../src/runtime/checkpoint/index.js';
import { predictTfjs, randomInput } from '../../src/runtime/verify/index.js';
import { compileFile, root, scratchDir } from '../helpers.js';

const spec = (name: string) => join(root, 'specs', name);
const tmp = () => scratchDir('unetc-compile-');

describe('unetc compile --target onnx', () => {
  it('the canonical U-Net: verified, exactly 31,054,145 weight values', async () => {
    const out = join(tmp(), 'unet.onnx');
    const r = await run('compile', spec('unet.yaml'), '--target', 'onnx', '-o', out, '--backend', 'wasm');
    expect(r.code).toBe(0);
    expect(r.err).toContain('engine: wasm');
    expect(r.out).toMatch(
      /parity \(onnxruntime vs tfjs wasm\): max\|diff\|\/max\|ref\| = \S+ at 48x48, \S+ at 64x80: ok/,
    );
    expect(r.out).toContain('31,054,145 weight values');
    expect(countInitializerValues(readFileSync(out))).toBe(31_054_145);
  }, 120_000);

  it('the same spec, seed and weights give byte-identical files; another seed does not', async () => {
    const dir = tmp();
    const files = ['a', 'b', 'c'].map((n) => join(dir, `${n}.onnx`));
    expect((await run('compile', spec('tiny.yaml'), '-t', 'onnx', '-o', files[0]!, '--seed', '5')).code).toBe(0);
    expect(
      (await run('compile', spec('tiny.yaml'), '-t', 'onnx', '-o', files[1]!, '--seed', '5', '--no-verify')).code,
    ).toBe(0);
    expect((await run('compile', spec('tiny.yaml'), '-t', 'onnx', '-o', files[2]!, '--seed', '6')).code).toBe(0);
    const [a, b, c] = files.map((f) => readFileSync(f));
    expect(Buffer.compare(a!, b!)).toBe(0);
    expect(Buffer.compare(a!, c!)).not.toBe(0);
  }, 60_000);

  it.each([
    [['-t', 'caffe'], /error: unknown target 'caffe': use --target onnx, tfjs or pytorch/],
    [['-t', 'onnx', '--weights', '/no/such/checkpoint'], /no\/such\/checkpoint/],
  ])('%j is exit 1 and writes nothing', async (args, message) => {
    const out = join(tmp(), 'x.onnx');
    const r = await run('compile', spec('tiny.yaml'), '-o', out, ...args);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(message);
    expect(r.err).not.toMatch(/\.(ts|js):\d+:\d+/);
    expect(existsSync(out)).toBe(false);
  });

  it('an unwritable output path is exit 1 and leaves no temporary file', async () => {
    const dir = tmp();
    const notAFolder = join(dir, 'file');
    writeFileSync(notAFolder, '');
    const r = await run('compile', spec('tiny.yaml'), '-t', 'onnx', '-o', join(notAFolder, 'x.onnx'));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/cannot write/);
    expect(readdirSync(dir)).toEqual(['file']);
  });
});

describe('unetc compile --target tfjs', () => {
  it('writes model files that tf.loadLayersModel loads and that predict bit-identically', async () => {
    const out = join(tmp(), 'tiny-model');
    const r = await run('compile', spec('tiny.yaml'), '--target', 'tfjs', '-o', out, '--seed', '3');
    expect(r.code).toBe(0);
    expect(r.out).toContain('predicts bit-identically');
    expect(readdirSync(out).sort()).toEqual(['model.json', 'unetc-layers.js', 'unetc.json', 'weights.bin']);

    const engine = await selectEngine('wasm');
    const graph = compileFile('specs/tiny.yaml').graph!;
    const fresh = buildModel(engine.tf, graph);
    setWeights(fresh, initialWeights(graph, 3), engine.tf);
    const { model, manifest } = await loadCheckpoint(engine.tf, out);
    expect(manifest.seed).toBe(3);
    const input = randomInput(1, 32, 40, 1, 9);
    const [a, b] = await Promise.all([
      predictTfjs(engine.tf, fresh, input, [1, 32, 40, 1]),
      predictTfjs(engine.tf, model, input, [1, 32, 40, 1]),
    ]);
    expect(Buffer.compare(Buffer.from(a.buffer), Buffer.from(b.buffer))).toBe(0);
    fresh.dispose();
    model.dispose();

    // The checkpoint then feeds an ONNX export; a different spec refuses it.
    const onnx = join(tmp(), 'from-ckpt.onnx');
    const ok = await run('compile', spec('tiny.yaml'), '-t', 'onnx', '-o', onnx, '--weights', out);
    expect(ok.code).toBe(0);
    expect(ok.err).toContain(`weights: ${out}`);
    const other = join(tmp(), 'other.onnx');
    const bad = await run('compile', spec('small.yaml'), '-t', 'onnx', '-o', other, '--weights', out);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/^error: .*unetc\.json: the checkpoint was trained from a different network/m);
    expect(existsSync(other)).toBe(false);

    // A reformatted copy of the same spec (comments edited, keys reordered) still fits.
    const reformatted = join(tmp(), 'tiny.unet');
    expect((await run('fmt', spec('tiny.yaml'), '--to', 'dsl', '-o', reformatted)).code).toBe(0);
    const same = await run('compile', reformatted, '-t', 'onnx', '-o', join(tmp(), 'same.onnx'), '--weights', out);
    expect([same.code, same.err]).toEqual([0, expect.stringContaining(`weights: ${out}`)]);
  }, 60_000);
});

describe('unetc compile --fp16-weights', () => {
  it('ONNX: float16 initializers, each cast to float, about half the file, verified against the rounded weights', async () => {
    const dir = tmp();
    const [full, half] = [join(dir, 'full.onnx'), join(dir, 'half.onnx')];
    expect((await run('compile', spec('small.yaml'), '-t', 'onnx', '-o', full)).code).toBe(0);
    const r = await run('compile', spec('small.yaml'), '-t', 'onnx', '-o', half, '--fp16-weights');
    expect(r.code).toBe(0);
    expect(r.err).toContain('weights: rounded to float16');
    expect(r.out).toMatch(/parity .*: ok/);
    const [a, b] = [readFileSync(full), readFileSync(half)];
    expect(countInitializerValues(b)).toBe(countInitializerValues(a));
    expect(b.length / a.length).toBeGreaterThan(0.45);
    expect(b.length / a.length).toBeLessThan(0.55);
    const summary = summarizeOnnx(b);
    expect(summary.nodes.filter((n) => n.opType === 'Cast').length).toBe(summary.initializers.length);
  }, 120_000);

  it('negative control: float16 initializers checked against the unrounded float32 graph fail the parity check', async () => {
    const graph = compileFile('specs/small.yaml').graph!;
    const engine = await selectEngine('wasm');
    const model = buildModel(engine.tf, graph);
    try {
      const weights = initialWeights(graph, 3);
      setWeights(model, weights, engine.tf);
      const rounded = roundWeightsToHalf(weights);
      const wrong = await exportVerifiedOnnx(engine, graph, model, weights, {
        specText: '',
        verify: true,
        halfWeights: true,
      });
      expect(wrong.ok).toBe(false);
      setWeights(model, rounded, engine.tf);
      const right = await exportVerifiedOnnx(engine, graph, model, rounded, {
        specText: '',
        verify: true,
        halfWeights: true,
      });
      expect(right.ok).toBe(true);
    } finally {
      model.dispose();
    }
  }, 120_000);

  it('tfjs: weights.bin at half the size, loaded back as the rounded float32 values; --fold-bn is refused', async () => {
    const dir = tmp();
    const r = await run(
      'compile',
      spec('tiny.yaml'),
      '-t',
      'tfjs',
      '-o',
      join(dir, 'half'),
      '--fp16-weights',
      '--seed',
      '2',
    );
    expect(r.code).toBe(0);
    expect((await run('compile', spec('tiny.yaml'), '-t', 'tfjs', '-o', join(dir, 'full'), '--seed', '2')).code).toBe(
      0,
    );
    const sizeOf = (d: string) => readFileSync(join(dir, d, 'weights.bin')).length;
    expect(sizeOf('half') * 2).toBe(sizeOf('full'));
    const engine = await selectEngine('wasm');
    const { model } = await loadCheckpoint(engine.tf, join(dir, 'half'));
    const graph = compileFile('specs/tiny.yaml').graph!;
    const expected = roundWeightsToHalf(initialWeights(graph, 2));
    const loaded = getWeights(model);
    expect(loaded.size).toBe(expected.size);
    for (const [name, w] of expected) expect(Array.from(loaded.get(name)!.data)).toEqual(Array.from(w.data));
    model.dispose();
    const bad = await run(
      'compile',
      spec('tiny.yaml'),
      '-t',
      'onnx',
      '-o',
      join(dir, 'x.onnx'),
      '--fp16-weights',
      '--fold-bn',
    );
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--fp16-weights and --fold-bn cannot be combined/);
  }, 120_000);
});

describe('unetc compile --target pytorch', () => {
  const torch = typeof findTorchPython() !== 'string';
  const files = ['model.py', 'weights.bin', 'weights.json'];

  it.skipIf(!torch)(
    'verified in PyTorch; the same spec and seed give byte-identical files, another seed not',
    async () => {
      const dir = tmp();
      const [a, b, c] = ['a', 'b', 'c'].map((n) => join(dir, n));
      const r = await run('compile', spec('tiny.yaml'), '-t', 'pytorch', '-o', a!, '--seed', '5');
      expect(r.code).toBe(0);
      expect(r.out).toMatch(
        /parity \(PyTorch \S+ vs tfjs wasm\): max\|diff\|\/max\|ref\| = \S+ at 40x40, \S+ at 48x56: ok/,
      );
      expect(r.out).toContain(`wrote ${a}/{model.py,weights.bin,weights.json}`);
      expect(
        (await run('compile', spec('tiny.yaml'), '-t', 'pytorch', '-o', b!, '--seed', '5', '--no-verify')).code,
      ).toBe(0);
      expect(
        (await run('compile', spec('tiny.yaml'), '-t', 'pytorch', '-o', c!, '--seed', '6', '--no-verify')).code,
      ).toBe(0);
      for (const f of files) expect(readFileSync(join(a!, f)).equals(readFileSync(join(b!, f)))).toBe(true);
      expect(readFileSync(join(a!, 'weights.bin')).equals(readFileSync(join(c!, 'weights.bin')))).toBe(false);
      // Its own files are replaced on the next compile; a user's model.py is not.
      expect((await run('compile', spec('tiny.yaml'), '-t', 'pytorch', '-o', a!, '--no-verify')).code).toBe(0);
      writeFileSync(join(b!, 'model.py'), 'print("mine")\n');
      const refused = await run('compile', spec('tiny.yaml'), '-t', 'pytorch', '-o', b!, '--no-verify');
      expect(refused.code).toBe(1);
      expect(refused.err).toMatch(/model\.py: it exists and unetc did not write it/);
      expect(readFileSync(join(b!, 'model.py'), 'utf8')).toBe('print("mine")\n');
    },
    120_000,
  );

  it("a trained checkpoint's weights: weights.bin holds exactly the weights its ONNX export was made from", async () => {
    const out = join(tmp(), 'nuclei');
    const r = await run(
      'compile',
      join(root, 'models/nuclei/spec.yaml'),
      '-t',
      'pytorch',
      '-o',
      out,
      '--weights',
      join(root, 'models/nuclei/checkpoint'),
      '--no-verify',
    );
    expect(r.code).toBe(0);
    const sha = createHash('sha256')
      .update(readFileSync(join(out, 'weights.bin')))
      .digest('hex');
    const onnx = new Map(summarizeOnnx(readFileSync(join(root, 'models/nuclei/model.onnx'))).metadata);
    expect(onnx.get('weights_sha256')).toBe(sha);
    const manifest = JSON.parse(readFileSync(join(out, 'weights.json'), 'utf8'));
    expect(manifest.input_normalization).toBe(onnx.get('input_normalization'));
    expect(manifest.sha256).toBe(sha);
  }, 60_000);

  it('without a python that has torch: written, with a warning that says what to install', async () => {
    const out = join(tmp(), 'm');
    const r = await runWithoutTorch('compile', spec('tiny.yaml'), '-t', 'pytorch', '-o', out);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(
      /warning: not verified: no python3 with torch and numpy: tried \/no\/such\/python3 \(not found\)/,
    );
    expect(r.err).toContain('apt-get install python3-torch python3-numpy');
    expect(r.out).toContain('not verified');
    expect(outputsIn(out)).toEqual(files);
  }, 60_000);

  it('--fold-bn is a usage error (exit 2); a file where the folder goes is exit 1', async () => {
    const dir = tmp();
    const usage = await run('compile', spec('tiny.yaml'), '-t', 'pytorch', '-o', join(dir, 'x'), '--fold-bn');
    expect(usage.code).toBe(2);
    expect(usage.err).toMatch(/--fold-bn is for --target onnx/);
    writeFileSync(join(dir, 'file'), '');
    const r = await run('compile', spec('tiny.yaml'), '-t', 'pytorch', '-o', join(dir, 'file'), '--no-verify');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/it is a file; --target pytorch writes a folder/);
  });
});

describe.skipIf(typeof findTorchPython() === 'string')('a tfjs checkpoint through PyTorch and back', () => {
  it('compile --target pytorch --weights CKPT, load in PyTorch, write a unetc checkpoint: weights.bin is bit-identical', async () => {
    const py = findTorchPython() as Exclude<ReturnType<typeof findTorchPython>, string>;
    const dir = tmp();
    const checkpoint = join(root, 'models/nuclei/checkpoint');
    const module = join(dir, 'module');
    const spec = join(root, 'models/nuclei/spec.yaml');
    expect(
      (await run('compile', spec, '-t', 'pytorch', '-o', module, '--weights', checkpoint, '--no-verify')).code,
    ).toBe(0);
    const back = join(dir, 'back');
    const r = spawnSync(
      py.python,
      [
        '-c',
        'import sys; sys.path.insert(0, sys.argv[1]); import model; from unetc_torch.checkpoint import CheckpointWriter; ' +
          'net = model.load(); CheckpointWriter(sys.argv[2], model.WEIGHTS, "torch").write(sys.argv[3], net.state_dict(), {"step": 0}, 0, 0)',
        module,
        checkpoint,
        back,
      ],
      { encoding: 'utf8', env: { ...process.env, PYTHONPATH: PYTHON_PACKAGE_ROOT } },
    );
    expect(r.stderr).toBe('');
    expect(readFileSync(join(back, 'weights.bin')).equals(readFileSync(join(checkpoint, 'weights.bin')))).toBe(true);
    expect(readFileSync(join(back, 'model.json')).equals(readFileSync(join(checkpoint, 'model.json')))).toBe(true);
    // And unetc reads it back as a checkpoint (every hash checked).
    const p = await run('compile', spec, '-t', 'onnx', '-o', join(dir, 'm.onnx'), '--weights', back, '--no-verify');
    expect(p.code).toBe(0);
  }, 60_000);
});
