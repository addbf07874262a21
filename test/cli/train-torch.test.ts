import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Tensor } from '@tensorflow/tfjs';
import { selectEngine, type Engine } from '../../src/runtime/backend/index.js';
import { generateDataset } from '../../src/runtime/data/synthetic.js';
import { encodeGray } from '../../src/runtime/data/png-write.js';
import { elasticField, warp } from '../../src/runtime/data/geometry.js';
import { boundaryTargets } from '../../src/runtime/infer/boundary.js';
import { findTorchPython, PYTHON_PACKAGE_ROOT } from '../../src/runtime/torch/python.js';
import { lossFor, type LossName } from '../../src/runtime/train/losses.js';
import { supervisedLoss } from '../../src/runtime/train/step.js';
import { Random } from '../../src/util/random.js';
import { root, scratchDir } from '../helpers.js';
import { outputsIn, run, runWithoutTorch } from './helpers.js';

const found = findTorchPython();
const torch = typeof found === 'string' ? undefined : found;
const tiny = join(root, 'specs', 'tiny.yaml');

/** Runs python code with unetc_torch importable; its stdout. */
function python(code: string, ...args: string[]): string {
  const r = spawnSync(torch!.python, ['-c', code, ...args], {
    encoding: 'utf8',
    env: { ...process.env, PYTHONPATH: PYTHON_PACKAGE_ROOT },
  });
  expect(r.stderr).toBe('');
  return r.stdout;
}

/** A folder of synthetic nuclei PNGs (images/, masks/), as a user's data would be. */
function pngFolder(n: number, seed: number): string {
  const dir = scratchDir('unetc-torch-data-');
  for (const sub of ['images', 'masks']) mkdirSync(join(dir, sub));
  generateDataset(seed, n, 64).forEach((s, i) => {
    const name = `s${i}.png`;
    const gray = { height: s.height, width: s.width, data: s.image.map((v) => Math.round(v * 255)) };
    writeFileSync(join(dir, 'images', name), encodeGray(gray, name));
    writeFileSync(join(dir, 'masks', name), encodeGray({ ...gray, data: s.mask.map((v) => (v ? 255 : 0)) }, name));
  });
  return dir;
}

const lines = (file: string) =>
  readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '');

describe('unetc train --engine torch: usage and missing PyTorch', () => {
  it.each([
    [['--engine', 'jax'], /--engine takes tfjs or torch, found 'jax'/],
    [['--devices', 'cuda'], /--devices is for --engine torch/],
    [['--engine', 'torch', '--devices', 'tpu'], /--devices takes cpu or cuda/],
    [['--engine', 'torch', '--nproc', '0'], /--nproc takes a whole number of at least 1/],
    [['--engine', 'torch', '--amp', 'fp8'], /--amp takes bf16 or fp16/],
  ])('%j is a usage error (exit 2)', async (args, message) => {
    const r = await run('train', tiny, '--out', join(scratchDir('unetc-torch-'), 'run'), ...args);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
  });

  it('without a python that has torch: exit 1, what to install, nothing written', async () => {
    const out = join(scratchDir('unetc-torch-'), 'run');
    const r = await runWithoutTorch('train', tiny, '--engine', 'torch', '--out', out);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/--engine torch: no python3 with torch and numpy: tried \/no\/such\/python3 \(not found\)/);
    expect(r.err).toContain('apt-get install python3-torch python3-numpy');
    expect(existsSync(out)).toBe(false);
  });

  it('a spec the runner cannot train yet is exit 1 naming it', async () => {
    const r = await run('train', join(root, 'specs', 'unet-2015.yaml'), '--engine', 'torch', '--dry-run');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /unet-2015\.yaml: --engine torch does not train a network whose output is smaller than its input \('valid' padding\) yet/,
    );
  });
});

describe.skipIf(!torch)('the torch runner computes what the tfjs engine computes', () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await selectEngine('wasm');
  });

  it('boundary targets of random label maps (touching, nested, at the border) are unetc’s', () => {
    const rng = new Random(5);
    const [h, w] = [23, 17];
    const labels = Uint16Array.from({ length: h * w }, () => (rng.next() < 0.3 ? 0 : 1 + Math.floor(rng.next() * 4)));
    const out = python(
      'import sys, numpy as np; from unetc_torch.data import boundary_targets; ' +
        'a = np.array(sys.argv[1].split(","), dtype=np.uint16).reshape(23, 17); ' +
        'print(",".join(map(str, boundary_targets(a).ravel())))',
      [...labels].join(','),
    );
    const expected = [...boundaryTargets(labels, [h, w])].join(',');
    expect(out.trim()).toBe(expected);
    // Negative control: other labels give other targets.
    expect(
      [
        ...boundaryTargets(
          labels.map((v) => (v === 2 ? 3 : v)),
          [h, w],
        ),
      ].join(','),
    ).not.toBe(expected);
  });

  it('augmentations: each changes the patch, invert is an exact change of sign, off changes nothing', () => {
    const out = python(
      [
        'import json, numpy as np',
        'from unetc_torch.data import Sampler',
        'class E: pass',
        'e = E(); r = np.random.default_rng(0)',
        'e.image = r.standard_normal((40, 50, 3)).astype(np.float32); e.mask = (r.random((40, 50)) > 0.5).astype(np.uint16)',
        'e.offset, e.scale, e.name = np.float32(100), np.float32(20), "x"',
        'draw = lambda a: Sampler([e], [32, 32], a, {"classes": 1}, 0, 0).batch(1, 7)',
        'x0, y0 = draw({})',
        'res = {}',
        'for name, a in [("off", {"noise": 0, "invert": 0, "blur": 0}), ("noise", {"noise": 5}), ("blur", {"blur": 2}), ("gray", {"gray": 1}), ("color", {"color": 0.2}), ("scale", {"scale": 2}), ("elastic", {"elastic": True})]:',
        '    x, y = draw(a); res[name] = [float(np.abs(x - x0).max()), bool((y == y0).all()), list(x.shape)]',
        'x, y = draw({"invert": 1}); res["invert"] = [float(np.abs(x + x0).max()), bool((y == y0).all()), list(x.shape)]',
        // Percentile-normalized inputs (about [0, 1]) invert to 1 - v.
        'x = Sampler([e], [32, 32], {"invert": 1}, {"classes": 1}, 0, 0, "percentile-per-image").batch(1, 7)[0]',
        'res["invert-percentile"] = [float(np.abs(x - (1 - x0)).max()), True, list(x.shape)]',
        'print(json.dumps(res))',
      ].join('\n'),
    );
    const r = JSON.parse(out) as Record<string, [number, boolean, number[]]>;
    expect(r.off).toEqual([0, true, [1, 3, 32, 32]]);
    expect(r.invert).toEqual([0, true, [1, 3, 32, 32]]);
    expect(r['invert-percentile']![0]).toBeLessThan(1e-6);
    for (const name of ['noise', 'blur', 'gray', 'color']) {
      expect(r[name]![0]).toBeGreaterThan(0.1);
      expect(r[name]![1]).toBe(true); // the mask moves only with the geometry
    }
    expect(r.scale![0]).toBeGreaterThan(0.1);
    expect(r.scale![2]).toEqual([1, 3, 32, 32]);
    // Elastic deformation is geometry: the mask moves with the image.
    expect(r.elastic![0]).toBeGreaterThan(0.1);
    expect(r.elastic![1]).toBe(false);
    expect(r.elastic![2]).toEqual([1, 3, 32, 32]);
  });

  it.each([
    ['random control points, 2 channels', 4, 19, 23, 2, 6, 0],
    ['a large patch', 3, 160, 144, 1, 10, 0],
    ['g = 2, one row', 2, 1, 9, 1, 3, 0],
    ['g = 3, one column, 3 channels', 3, 9, 1, 3, 3, 0],
    // Every pixel exactly halfway: nearest must round halves up (JavaScript's Math.round), not to even.
    ['a shift of exactly 0.5 px', 3, 12, 14, 1, 0, 0.5],
    ['a shift of exactly 1.5 px', 3, 12, 14, 1, 0, 1.5],
  ] as const)(
    'elastic deformation, %s: the field and the resampling are unetc’s (geometry.ts), bit for bit',
    (_, g, h, w, ch, spread, shift) => {
      const rng = new Random(11);
      const gdx = Array.from({ length: g * g }, () => shift + spread * rng.normal());
      const gdy = Array.from({ length: g * g }, () => shift + spread * rng.normal());
      // Made alike on both sides (no arrays to pass): exact in float32 either way.
      const image = Float32Array.from({ length: h * w * ch }, (_, i) => ((i * 7919) % 1021) / 1021);
      const labels = Uint16Array.from({ length: h * w }, (_, i) => (i % 7) + ((i * 31) % 3));
      const field = elasticField(gdx, gdy, g, h, w);
      const warped = warp({ height: h, width: w, channels: ch, data: image }, field, 'bilinear').data;
      const moved = warp({ height: h, width: w, channels: 1, data: labels }, field, 'nearest').data;
      const out = python(
        [
          'import sys, json, base64, numpy as np',
          'from unetc_torch.data import elastic_field, warp',
          'a = json.loads(sys.argv[1]); g, h, w, ch = a["size"]',
          'dx, dy = elastic_field(np.array(a["dx"]), np.array(a["dy"]), g, h, w)',
          'i = np.arange(h * w * ch); im = ((i * 7919 % 1021) / 1021).astype(np.float32).reshape(h, w, ch)',
          'i = np.arange(h * w); lab = (i % 7 + i * 31 % 3).astype(np.uint16).reshape(h, w)',
          'b = lambda v, t: base64.b64encode(np.ascontiguousarray(v, dtype=t).tobytes()).decode()',
          'print(json.dumps({"dx": b(dx, "<f4"), "dy": b(dy, "<f4"),',
          '  "image": b(warp(im, dx, dy, True), "<f4"), "labels": b(warp(lab, dx, dy, False), "<u2")}))',
        ].join('\n'),
        JSON.stringify({ size: [g, h, w, ch], dx: gdx, dy: gdy }),
      );
      const r = JSON.parse(out) as Record<'dx' | 'dy' | 'image' | 'labels', string>;
      // The bytes: float32 (and uint16 labels) as both engines store them.
      const bytes = (v: Float32Array | Uint16Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength);
      const same = (b64: string, v: Float32Array | Uint16Array) => Buffer.from(b64, 'base64').equals(bytes(v));
      expect(same(r.dx, field.dx)).toBe(true);
      expect(same(r.dy, field.dy)).toBe(true);
      expect(same(r.image, warped)).toBe(true);
      expect(same(r.labels, moved)).toBe(true);
      // Negative control: the field moves pixels.
      expect(same(r.labels, labels)).toBe(false);
    },
  );

  it('quarter turns of a non-square patch are half turns, as unetc draws them (not none)', () => {
    const out = python(
      [
        'import json, numpy as np',
        'from unetc_torch.data import Sampler',
        'class E: pass',
        'e = E(); r = np.random.default_rng(1)',
        'e.image = r.standard_normal((50, 70, 1)).astype(np.float32); e.mask = (r.random((50, 70)) > 0.5).astype(np.uint16)',
        'e.offset, e.scale, e.name = np.float32(0), np.float32(1), "x"',
        'kinds = []',
        'for step in range(12):',
        '    x, y = Sampler([e], [24, 40], {"rotate90": True}, {"classes": 1}, 0, 0).batch(1, step)',
        '    x0, y0 = Sampler([e], [24, 40], {}, {"classes": 1}, 0, 0).batch(1, step)',
        '    half = np.rot90(x0, 2, (2, 3))',
        '    kinds.append("same" if (x == x0).all() else "half" if (x == half).all() and (y == np.rot90(y0, 2, (2, 3))).all() else "other")',
        'print(json.dumps(kinds))',
      ].join('\n'),
    );
    const kinds = JSON.parse(out) as string[];
    expect(kinds).not.toContain('other');
    expect(kinds).toContain('same');
    expect(kinds).toContain('half'); // negative control of the old runner: it never turned these
  });

  it('elastic deformation in the sampler: a non-square patch, the mask stays on the image', () => {
    const out = python(
      [
        'import json, numpy as np',
        'from unetc_torch.data import Sampler',
        'class E: pass',
        'e = E(); yy, xx = np.mgrid[:60, :90]',
        // Blobs on a ramp-free ground: the image is the mask, so a deformed pair must still agree.
        'm = ((np.sin(yy / 5.0) * np.cos(xx / 7.0)) > 0.3).astype(np.uint16)',
        'e.image = m[..., None].astype(np.float32); e.mask = m',
        'e.offset, e.scale, e.name = np.float32(0), np.float32(1), "x"',
        'res = {}',
        'for name, a in [("plain", {}), ("elastic", {"elastic": True}), ("defaults", {"elastic": {}}), ("all", {"elastic": {"sigma": 8, "grid": 4}, "flip": True, "scale": 1.5})]:',
        '    agree, astray, moved = [], [], []',
        '    for step in range(6):',
        '        x, y = Sampler([e], [24, 40], a, {"classes": 1}, 3, 0).batch(1, step)',
        '        x0, y0 = Sampler([e], [24, 40], {}, {"classes": 1}, 3, 0).batch(1, step)',
        '        agree.append(float(((x[0, 0] > 0.5) == (y[0, 0] > 0.5)).mean()))',
        '        astray.append(float(((x[0, 0] > 0.5) == (y0[0, 0] > 0.5)).mean()))',
        '        moved.append(float((y != y0).mean()))',
        '    res[name] = [min(agree), max(astray), max(moved), list(x.shape)]',
        'print(json.dumps(res))',
      ].join('\n'),
    );
    const r = JSON.parse(out) as Record<string, [number, number, number, number[]]>;
    for (const name of ['elastic', 'defaults', 'all']) {
      const [agree, astray, moved, shape] = r[name]!;
      expect(shape).toEqual([1, 1, 24, 40]);
      // Image and mask deformed alike (bilinear against nearest differ only at a few edge pixels;
      // the zoom of 'all' adds its own); the deformed image against the undeformed mask does not
      // agree (negative control: the check sees a misplaced mask), and the mask moved.
      expect(agree).toBeGreaterThan(name === 'all' ? 0.95 : 0.99);
      expect(astray).toBeLessThan(0.9);
      expect(moved).toBeGreaterThan(0.1);
    }
    expect(r.plain![2]).toBe(0); // no augmentation moves nothing
  });

  const cases: [LossName, 'boundary' | undefined, number, number[], number?][] = [
    ['bce', undefined, 1, [2, 5, 6]],
    ['dice', undefined, 1, [2, 5, 6]],
    ['bce-dice', undefined, 1, [2, 5, 6]],
    ['focal', undefined, 1, [2, 5, 6]],
    ['tversky', undefined, 1, [2, 5, 6]],
    ['ce', undefined, 3, [2, 5, 6]],
    ['ce-dice', undefined, 3, [2, 5, 6]],
    ['ce-dice', 'boundary', 3, [2, 5, 6]],
    ['dice', 'boundary', 3, [2, 5, 6]],
    ['dice', undefined, 1, [2, 3, 4, 5]],
    ['tversky', undefined, 2, [2, 3, 4, 5]],
    ['ce-dice', undefined, 3, [2, 3, 4, 5]],
    ['ce-dice', 'boundary', 3, [2, 5, 6], 10],
    ['ce', 'boundary', 3, [2, 5, 6], 4],
    ['ce-dice', 'boundary', 3, [2, 3, 4, 5], 10],
  ];
  it.each(cases)(
    'loss %s (instances %s, %i channels, batch %j, contact weight %s) on random probabilities equals losses.ts',
    (name, instances, c, dims, contact = 1) => {
      const rng = new Random(name.length * 31 + c + dims.length);
      const shape = [...dims, c];
      const size = shape.reduce((a, b) => a * b, 1);
      const p = Float32Array.from({ length: size }, () => rng.next());
      const t = Float32Array.from({ length: size }, () => (rng.next() < 0.4 ? 1 : 0));
      const tf = engine.tf;
      const expected = tf.tidy(
        () =>
          lossFor(name, instances, contact)(
            tf,
            tf.tensor(p, shape) as Tensor,
            tf.tensor(t, shape) as Tensor,
          ).dataSync()[0]!,
      );
      const out = python(
        'import sys, json, numpy as np, torch; from unetc_torch.train import loss_for; ' +
          'a = json.loads(sys.argv[1]); shape = a["shape"]; r = len(shape); ' +
          'f = lambda v: torch.tensor(np.array(v, dtype=np.float32).reshape(shape)).permute(0, r - 1, *range(1, r - 1)); ' +
          'print(float(loss_for(a["name"], a["instances"], a["contact"])(f(a["p"]), f(a["t"]))))',
        JSON.stringify({ name, instances: instances ?? null, shape, p: [...p], t: [...t], contact }),
      );
      expect(Math.abs(Number(out) - expected)).toBeLessThan(1e-5);
      expect(Math.abs(expected)).toBeGreaterThan(1e-3);
    },
  );
});

describe.skipIf(!torch)('deep supervision in the torch runner', () => {
  it('the weighted loss over the output and a head against the pooled mask equals step.ts supervisedLoss', async () => {
    const { tf } = await selectEngine('wasm');
    const rng = new Random(17);
    const [n, h, w] = [2, 8, 6];
    const draw = (size: number, p: number) =>
      Float32Array.from({ length: size }, () => (p < 0 ? rng.next() : rng.next() < p ? 1 : 0));
    const [main, aux, t] = [draw(n * h * w, -1), draw((n * h * w) / 4, -1), draw(n * h * w, 0.4)];
    const ds = { mainWeight: 0.6, heads: [{ op: 'x', level: 2, factor: [2, 2], weight: 0.4 }] };
    const lossWith = (headWeight: number) =>
      tf.tidy(
        () =>
          supervisedLoss(
            tf,
            lossFor('bce-dice', undefined),
            [tf.tensor(main, [n, h, w, 1]), tf.tensor(aux, [n, h / 2, w / 2, 1])],
            tf.tensor(t, [n, h, w, 1]),
            { ...ds, heads: [{ ...ds.heads[0]!, weight: headWeight }] },
          ).dataSync()[0]!,
      );
    const expected = lossWith(0.4);
    const out = python(
      'import sys, json, numpy as np, torch; from unetc_torch.train import loss_for, supervised_loss; ' +
        'a = json.loads(sys.argv[1]); f = lambda v, s: torch.tensor(np.array(v, dtype=np.float32).reshape(s)).permute(0, 3, 1, 2); ' +
        'print(float(supervised_loss(loss_for("bce-dice", None), (f(a["main"], [2, 8, 6, 1]), [f(a["aux"], [2, 4, 3, 1])]), f(a["t"], [2, 8, 6, 1]), a["ds"])))',
      JSON.stringify({ main: [...main], aux: [...aux], t: [...t], ds }),
    );
    expect(Math.abs(Number(out) - expected)).toBeLessThan(1e-5);
    // Negative control: the head's weight matters.
    const other = lossWith(0.1);
    expect(Math.abs(other - expected)).toBeGreaterThan(1e-3);
  });
});

describe.skipIf(!torch)('unetc train --engine torch: a distributed run is an ordinary unetc run', () => {
  // The built-in synthetic nuclei (64 training, 16 validation images), as `train specs/tiny.yaml` runs.
  const steps = 80;
  const val = pngFolder(6, 4);
  const train = async (out: string, ...extra: string[]) =>
    run(
      'train',
      tiny,
      '--engine',
      'torch',
      '--max-steps',
      String(steps),
      '--steps-per-epoch',
      '40',
      '--batch',
      '4',
      '--out',
      out,
      ...extra,
    );
  let two: { dir: string; r: Awaited<ReturnType<typeof run>> };
  let one: { dir: string; r: Awaited<ReturnType<typeof run>> };
  beforeAll(async () => {
    const base = scratchDir('unetc-torch-run-');
    two = { dir: join(base, 'two'), r: await train(join(base, 'two'), '--nproc', '2', '--sync-log') };
    one = { dir: join(base, 'one'), r: await train(join(base, 'one')) };
  }, 300_000);

  it('2 processes (gloo, env:// rendezvous) hold identical weights after every step', () => {
    expect(two.r.err).toBe('');
    expect(two.r.code).toBe(0);
    expect(two.r.out).toContain('training engine: PyTorch');
    expect(two.r.out).toContain('cpu, 2 processes');
    const [a, b] = [0, 1].map((r) => lines(join(two.dir, 'torch', `sync-rank${r}.log`)));
    expect(a!.length).toBe(steps);
    expect(b).toEqual(a);
    // Negative control: the hashes move, so equal logs mean equal weights, not untouched ones.
    expect(new Set(a!.map((l) => l.split(' ')[1])).size).toBe(steps);
  });

  it('the run folder is a normal unetc run: metrics, checkpoints, model.onnx, report; predict, eval and compile accept it', async () => {
    for (const f of ['run.json', 'metrics.jsonl', 'model.onnx', 'report.html', 'best/unetc.json', 'last/unetc.json'])
      expect(existsSync(join(two.dir, f))).toBe(true);
    expect(two.r.out).toMatch(
      /model: .*model\.onnx \(best checkpoint, epoch 2, best validation Dice 0\.\d+; onnxruntime parity/,
    );
    expect(lines(join(two.dir, 'metrics.jsonl')).map((l) => JSON.parse(l).step)).toEqual([40, 80]);
    expect(JSON.parse(readFileSync(join(two.dir, 'run.json'), 'utf8')).engine).toMatch(/^torch .* cpu x2$/);
    const masks = join(scratchDir('unetc-torch-pred-'), 'masks');
    const p = await run('predict', two.dir, '--input', join(val, 'images'), '--out', masks);
    expect(p.code).toBe(0);
    expect(outputsIn(masks)).toHaveLength(6);
    const onnx = join(scratchDir('unetc-torch-onnx-'), 'm.onnx');
    const c = await run('compile', tiny, '-t', 'onnx', '-o', onnx, '--weights', join(two.dir, 'best'));
    expect(c.code).toBe(0);
    expect(c.out).toMatch(/: ok/);
    const e = await run('eval', two.dir, '--data', val);
    expect(e.code).toBe(0);
  }, 120_000);

  it("the 2-process run's validation Dice is within 0.02 of a 1-process run's with the same global batch", () => {
    expect(one.r.code).toBe(0);
    const dice = (dir: string) => JSON.parse(lines(join(dir, 'metrics.jsonl')).at(-1)!).val_dice as number;
    expect(dice(one.dir)).toBeGreaterThan(0.8);
    expect(Math.abs(dice(two.dir) - dice(one.dir))).toBeLessThanOrEqual(0.02);
  });
});

describe.skipIf(!torch)('unetc train --engine torch: interrupted and resumed', () => {
  const args = (out: string, steps: number) => [
    'train',
    tiny,
    '--engine',
    'torch',
    '--max-steps',
    String(steps),
    '--steps-per-epoch',
    '10',
    '--out',
    out,
  ];

  it('a run stopped at step 15 and resumed to 30 ends with the same weights, bit for bit, as one run to 30', async () => {
    const base = scratchDir('unetc-torch-resume-');
    const [a, b] = [join(base, 'a'), join(base, 'b')];
    expect((await run(...args(a, 30))).code).toBe(0);
    expect((await run(...args(b, 15))).code).toBe(0);
    expect(existsSync(join(b, 'last', 'torch-optimizer.npz'))).toBe(true);
    const wrong = await run('train', '--resume', b);
    expect(wrong.code).toBe(2);
    expect(wrong.err).toMatch(/trained with PyTorch: resume it with --engine torch/);
    const r = await run('train', '--resume', b, '--engine', 'torch', '--max-steps', '30');
    expect(r.code).toBe(0);
    expect(r.out).toContain(`resuming ${b} at step 15`);
    const weights = (dir: string) => readFileSync(join(dir, 'last', 'weights.bin'));
    expect(weights(b).equals(weights(a))).toBe(true);
    expect(lines(join(b, 'metrics.jsonl'))).toEqual(lines(join(a, 'metrics.jsonl')));
    // Negative control: a run to 29 steps holds other weights.
    const c = join(base, 'c');
    expect((await run(...args(c, 29))).code).toBe(0);
    expect(weights(c).equals(weights(a))).toBe(false);
  }, 120_000);

  it('a damaged optimizer state is named on resume', async () => {
    const out = join(scratchDir('unetc-torch-damaged-'), 'run');
    expect((await run(...args(out, 5))).code).toBe(0);
    writeFileSync(join(out, 'last', 'torch-optimizer.npz'), 'not an npz');
    const r = await run('train', '--resume', out, '--engine', 'torch');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/torch-optimizer\.npz: its sha256 is not the one unetc\.json records/);
  }, 60_000);

  it('Ctrl-C: both ranks finish their step, write last/, exit 130 and say how to continue', async () => {
    const out = join(scratchDir('unetc-torch-sigint-'), 'run');
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(root, 'test/cli/run-cli.ts'), ...args(out, 100000), '--nproc', '2'],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    const code = await new Promise<number | null>((done) => {
      child.stdout.on('data', (t: Buffer) => {
        stdout += t.toString();
        if (/step \d+\//.test(stdout) && !child.killed) child.kill('SIGINT');
      });
      child.on('close', done);
    });
    expect(code).toBe(130);
    expect(stdout).toMatch(/interrupted at step \d+/);
    expect(stdout).toContain(`continue with: unetc train --resume ${out} --engine torch`);
    const state = JSON.parse(readFileSync(join(out, 'last', 'train-state.json'), 'utf8'));
    expect(state.step).toBeGreaterThanOrEqual(1);
    expect(state.step).toBeLessThan(80);
  }, 120_000);
});

describe.skipIf(!torch)('unetc train --engine torch --prepare-only: a run folder to launch elsewhere', () => {
  it('holds the module, data, settings and runner; launched from there without unetc, it trains a normal run', async () => {
    const out = join(scratchDir('unetc-torch-prepared-'), 'run');
    const r = await run('train', tiny, '--engine', 'torch', '--prepare-only', '--max-steps', '4', '--out', out);
    expect(r.code).toBe(0);
    expect(r.out).toContain('torchrun --nproc-per-node 1 -m unetc_torch.train config.json --devices cpu');
    expect(existsSync(join(out, 'last'))).toBe(false);
    const env = { ...process.env };
    delete env.PYTHONPATH;
    const t = spawnSync(torch!.python, ['-m', 'unetc_torch.train', 'config.json'], {
      cwd: join(out, 'torch'),
      encoding: 'utf8',
      env,
    });
    expect(t.status).toBe(0);
    expect(JSON.parse(t.stdout.trim().split('\n').at(-1)!)).toMatchObject({ kind: 'stopped', reason: 'max-steps' });
    const masks = join(scratchDir('unetc-torch-pred-'), 'masks');
    expect((await run('predict', out, '--input', join(pngFolder(2, 9), 'images'), '--out', masks)).code).toBe(0);
    expect(outputsIn(masks)).toHaveLength(2);
  }, 120_000);

  it('is for --engine torch only', async () => {
    const r = await run('train', tiny, '--prepare-only');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--prepare-only is for --engine torch/);
  });
});

describe.skipIf(!torch)('unetc train --engine torch on volumes', () => {
  it('specs/tiny-3d.yaml trains on the built-in synthetic volumes and exports a verified model.onnx', async () => {
    const out = join(scratchDir('unetc-torch-3d-'), 'run');
    const r = await run(
      'train',
      join(root, 'specs', 'tiny-3d.yaml'),
      '--engine',
      'torch',
      '--max-steps',
      '3',
      '--steps-per-epoch',
      '3',
      '--out',
      out,
    );
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/epoch 1: loss \S+, validation Dice \S+/);
    expect(r.out).toMatch(/model: .*model\.onnx \(best checkpoint, epoch 1, .*onnxruntime parity .* at 16x16x16/);
  }, 120_000);
});

describe.skipIf(!torch)('unetc train --engine torch with deep supervision', () => {
  it('trains the heads and exports the main output', async () => {
    const dir = scratchDir('unetc-torch-ds-');
    const spec = join(dir, 'ds.yaml');
    writeFileSync(
      spec,
      [
        'name: ds-small',
        'input: {channels: 1}',
        'output: {classes: 1, activation: sigmoid}',
        'network:',
        '  depth: 3',
        '  filters: {base: 8, growth: 2}',
        '  block: {convs: 2, order: [conv, relu, batchnorm]}',
        '  deep_supervision: true',
        'train: {batch: 4, patch: [64, 64], epochs: 1, steps_per_epoch: 4}',
        '',
      ].join('\n'),
    );
    const r = await run('train', spec, '--engine', 'torch', '--out', join(dir, 'run'));
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/model: .*model\.onnx \(best checkpoint, epoch 1, .*onnxruntime parity/);
  }, 120_000);
});

describe.skipIf(!torch)('unetc train --engine torch: what the review found', () => {
  it('--nproc that does not divide the batch is a usage error before anything is written', async () => {
    const out = join(scratchDir('unetc-torch-'), 'run');
    const r = await run('train', tiny, '--engine', 'torch', '--nproc', '3', '--batch', '4', '--out', out);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--nproc 3: the batch \(4\) must divide evenly over the processes/);
    expect(existsSync(out)).toBe(false);
  });

  it("a prepared torch/ folder copied on its own into another folder refuses to write there (a user's last/ survives)", async () => {
    const out = join(scratchDir('unetc-torch-prepared-'), 'run');
    expect(
      (await run('train', tiny, '--engine', 'torch', '--prepare-only', '--max-steps', '2', '--out', out)).code,
    ).toBe(0);
    const home = scratchDir('unetc-torch-home-');
    mkdirSync(join(home, 'last'));
    writeFileSync(join(home, 'last', 'precious.txt'), 'mine');
    cpSync(join(out, 'torch'), join(home, 'torch'), { recursive: true });
    const t = spawnSync(torch!.python, ['-m', 'unetc_torch.train', 'config.json'], {
      cwd: join(home, 'torch'),
      encoding: 'utf8',
    });
    expect(t.status).toBe(1);
    expect(t.stderr.trim()).toMatch(
      /^unetc_torch: error: .*config\.json: .* is not the run it was prepared for .*copy the whole run folder/,
    );
    expect(readFileSync(join(home, 'last', 'precious.txt'), 'utf8')).toBe('mine');
  }, 60_000);

  it('a down: conv network (stride-2 convs, same-size output) trains', async () => {
    const dir = scratchDir('unetc-torch-downconv-');
    const spec = join(dir, 'down.yaml');
    writeFileSync(spec, readFileSync(tiny, 'utf8').replace(/^network:\n/m, 'network:\n  down: conv\n'));
    const r = await run('train', spec, '--engine', 'torch', '--max-steps', '2', '--out', join(dir, 'run'));
    expect(r.err).not.toMatch(/does not train/);
    expect(r.code).toBe(0);
  }, 60_000);

  it('a second Ctrl-C quits at once and leaves no runner process behind', async () => {
    const out = join(scratchDir('unetc-torch-sigint2-'), 'run');
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(root, 'test/cli/run-cli.ts'),
        'train',
        tiny,
        '--engine',
        'torch',
        '--nproc',
        '2',
        '--out',
        out,
      ],
      { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let sent = false;
    const code = await new Promise<number | null>((done) => {
      child.stdout.on('data', (t: Buffer) => {
        stdout += t.toString();
        if (/step \d+\//.test(stdout) && !sent) {
          sent = true;
          child.kill('SIGINT');
          setTimeout(() => child.kill('SIGINT'), 50);
        }
      });
      child.on('close', done);
    });
    expect(code).toBe(130);
    await new Promise((r) => setTimeout(r, 1000));
    const left = spawnSync('pgrep', ['-f', join(out, 'torch')], { encoding: 'utf8' });
    expect(left.stdout.trim()).toBe('');
  }, 120_000);
});

describe.skipIf(!torch)('the torch runner reads back only what unetc wrote', () => {
  it('a damaged data.bin is named, nothing trains', async () => {
    const out = join(scratchDir('unetc-torch-data-bin-'), 'run');
    expect(
      (await run('train', tiny, '--engine', 'torch', '--prepare-only', '--max-steps', '2', '--out', out)).code,
    ).toBe(0);
    const bin = join(out, 'torch', 'data.bin');
    const bytes = readFileSync(bin);
    bytes[100] = bytes[100]! ^ 0xff;
    writeFileSync(bin, bytes);
    const t = spawnSync(torch!.python, ['-m', 'unetc_torch.train', 'config.json'], {
      cwd: join(out, 'torch'),
      encoding: 'utf8',
    });
    expect(t.status).toBe(1);
    expect(t.stderr.trim()).toMatch(/^unetc_torch: error: .*data\.bin: its sha256 is not the one config\.json records/);
    expect(existsSync(join(out, 'last'))).toBe(false);
  }, 60_000);
});
