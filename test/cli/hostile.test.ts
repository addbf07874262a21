// What a hostile new user tried (issue 11), each with its negative control: unetc never
// overwrites a file it did not write unless told to (--overwrite), one test per command that
// writes (items 5 to 9); output folders that cannot be made (12); too much for memory (10); and
// the small things at the end of the issue.
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import zlib from 'node:zlib';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildModel, setWeights } from '../../src/compiler/backends/tfjs/index.js';
import { initialWeights } from '../../src/compiler/backends/weights.js';
import { compileSpec } from '../../src/compiler/index.js';
import { selectEngine } from '../../src/runtime/backend/index.js';
import { saveCheckpoint } from '../../src/runtime/checkpoint/index.js';
import { generateSample, writeGray, writeMask } from '../../src/runtime/data/index.js';
import { root } from '../helpers.js';
import { writeFailure } from '../../src/cli/io.js';
import { run } from './helpers.js';

const TINY = `name: thr
input: {channels: 1}
output: {classes: 1, activation: sigmoid}
graph:
  - {name: logits, op: conv, inputs: [input], filters: 1, kernel: 1}
`;

let dir: string;
let data: string;
let model: string;
const truth = 'ground truth, not a PNG unetc wrote';

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'unetc-overwrite-'));
  writeFileSync(join(dir, 'thr.yaml'), TINY);
  model = join(dir, 'thr.onnx');
  expect((await run('compile', join(dir, 'thr.yaml'), '--target', 'onnx', '-o', model)).code).toBe(0);
  data = join(dir, 'data');
  for (const sub of ['images', 'masks']) mkdirSync(join(data, sub), { recursive: true });
  for (const stem of ['a', 'b']) {
    const s = generateSample(stem === 'a' ? 1 : 2, { height: 32, width: 32 });
    await writeGray(join(data, 'images', `${stem}.png`), { width: 32, height: 32, data: s.image });
    writeFileSync(join(data, 'masks', `${stem}.png`), truth);
  }
}, 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('predict', () => {
  it('--out on the ground-truth masks is refused, naming them; nothing is written', async () => {
    const r = await run('predict', model, '--input', data, '--out', join(data, 'masks'));
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /masks\/a\.png: 2 files there exist and unetc did not write them; refusing to overwrite with masks/,
    );
    expect(r.err).toMatch(/masks\/b\.png \(not written by unetc\)/);
    expect(r.err).toContain('--overwrite');
    expect(readFileSync(join(data, 'masks', 'a.png'), 'utf8')).toBe(truth);
  });

  it("a user's file in --out (instances.csv) is refused; --overwrite replaces it", async () => {
    const out = join(dir, 'pred-user');
    mkdirSync(out);
    writeFileSync(join(out, 'instances.csv'), 'my notes');
    writeFileSync(join(out, 'x.png'), 'mine, not an output name');
    const refused = await run('predict', model, '--input', data, '--out', out, '--instances');
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/instances\.csv: it exists and unetc did not write it/);
    expect(readFileSync(join(out, 'instances.csv'), 'utf8')).toBe('my notes');
    expect(existsSync(join(out, 'a.png'))).toBe(false);
    const forced = await run('predict', model, '--input', data, '--out', out, '--instances', '--overwrite');
    expect(forced.code).toBe(0);
    expect(readFileSync(join(out, 'instances.csv'), 'utf8')).toMatch(/^file,count/);
    expect(readFileSync(join(out, 'x.png'), 'utf8')).toBe('mine, not an output name');
  });

  it('negative control: predicting again into its own folder needs no flag; a mask edited by hand then does', async () => {
    const out = join(dir, 'pred-again');
    expect((await run('predict', model, '--input', data, '--out', out, '--probabilities')).code).toBe(0);
    expect((await run('predict', model, '--input', data, '--out', out, '--probabilities')).code).toBe(0);
    writeFileSync(join(out, 'b.png'), 'corrected by hand');
    const r = await run('predict', model, '--input', data, '--out', out);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/b\.png \(changed since unetc wrote it\)/);
  });

  it('inputs whose outputs collide (a.png, a_labels.png, a_prob.png) are refused up front, nothing written', async () => {
    const input = join(dir, 'collide');
    mkdirSync(input);
    for (const n of ['a', 'a_labels', 'a_prob']) copyFileSync(join(data, 'images', 'a.png'), join(input, `${n}.png`));
    const out = join(dir, 'pred-collide');
    const r = await run('predict', model, '--input', input, '--out', out, '--instances', '--probabilities');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/a_labels\.png and .*a\.png would both write .*a_labels\.png/);
    expect(existsSync(out) ? readdirSync(out).filter((f) => !f.startsWith('.')) : []).toEqual([]);
    // Negative control: without the extra outputs there is no clash.
    expect((await run('predict', model, '--input', input, '--out', out)).code).toBe(0);
  });
});

describe('eval', () => {
  it("--out onto a user's CSV is refused before evaluating; --overwrite replaces it", async () => {
    const csv = join(dir, 'scores.csv');
    writeFileSync(csv, 'my spreadsheet');
    const maskData = join(dir, 'eval-data');
    mkdirSync(join(maskData, 'masks'), { recursive: true });
    copyFileSync(join(data, 'images', 'a.png'), join(dir, 'a-image.png'));
    mkdirSync(join(maskData, 'images'));
    copyFileSync(join(data, 'images', 'a.png'), join(maskData, 'images', 'a.png'));
    await writeMask(join(maskData, 'masks', 'a.png'), { width: 32, height: 32, data: new Uint8Array(32 * 32) });
    const r = await run('eval', model, '--data', maskData, '--out', csv);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/scores\.csv: it exists and unetc did not write it/);
    expect(readFileSync(csv, 'utf8')).toBe('my spreadsheet');
    expect((await run('eval', model, '--data', maskData, '--out', csv, '--overwrite')).code).toBe(0);
    expect(readFileSync(csv, 'utf8')).toMatch(/^file,/);
    // Its own CSV may be replaced without the flag.
    expect((await run('eval', model, '--data', maskData, '--out', csv)).code).toBe(0);
  }, 60_000);
});

describe('train', () => {
  it('--out into a folder holding a model.onnx unetc did not write is refused; nothing there changes', async () => {
    const out = join(dir, 'not-a-run');
    mkdirSync(out);
    writeFileSync(join(out, 'model.onnx'), 'my model');
    mkdirSync(join(out, 'best'));
    const r = await run('train', join(root, 'specs', 'tiny.yaml'), '--out', out, '--max-steps', '1', '--no-export');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /2 files there exist and unetc did not write them; refusing to overwrite with a training run/,
    );
    expect(readdirSync(out).sort()).toEqual(['best', 'model.onnx']);
    expect(readFileSync(join(out, 'model.onnx'), 'utf8')).toBe('my model');
  }, 60_000);
});

describe('compile', () => {
  it("-o onto a training checkpoint's weights.bin or a user's image is refused before any work", async () => {
    // A checkpoint as training leaves it in run/best/.
    const ckpt = join(dir, 'run-best');
    const engine = await selectEngine('wasm');
    const graph = compileSpec({ name: 'thr.yaml', body: TINY }).graph!;
    const m = buildModel(engine.tf, graph);
    setWeights(m, initialWeights(graph, 0), engine.tf);
    await saveCheckpoint(engine.tf, ckpt, m, {
      spec: { name: 'thr', text: TINY },
      graph,
      seed: 0,
      step: 120,
      epoch: 3,
    });
    m.dispose();
    const weights = readFileSync(join(ckpt, 'weights.bin'));
    const onto = await run('compile', join(dir, 'thr.yaml'), '--target', 'onnx', '-o', join(ckpt, 'weights.bin'));
    expect(onto.code).toBe(1);
    expect(onto.err).toMatch(
      /weights\.bin: it exists and unetc did not write it; refusing to overwrite with the export/,
    );
    expect(readFileSync(join(ckpt, 'weights.bin'))).toEqual(weights);
    const image = join(data, 'images', 'b.png');
    const before = readFileSync(image);
    expect((await run('compile', join(dir, 'thr.yaml'), '--target', 'onnx', '-o', image)).code).toBe(1);
    expect(readFileSync(image)).toEqual(before);
  }, 60_000);

  it('negative control: compiling again onto its own export needs no flag', async () => {
    expect((await run('compile', join(dir, 'thr.yaml'), '--target', 'onnx', '-o', model)).code).toBe(0);
    expect((await run('compile', join(dir, 'thr.yaml'), '--target', 'tfjs', '-o', join(dir, 'ckpt'))).code).toBe(0);
  }, 60_000);
});

describe('fmt and viz', () => {
  it('fmt --to dsl -w does not replace an unrelated my.unet; --overwrite does', async () => {
    const yaml = join(dir, 'my.yaml');
    writeFileSync(yaml, TINY);
    const unet = join(dir, 'my.unet');
    writeFileSync(unet, '// another spec entirely\n');
    const r = await run('fmt', yaml, '--to', 'dsl', '-w');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/my\.unet: it exists and unetc did not write it; refusing to overwrite with the DSL form/);
    expect(readFileSync(unet, 'utf8')).toBe('// another spec entirely\n');
    expect((await run('fmt', yaml, '--to', 'dsl', '-w', '--overwrite')).code).toBe(0);
    expect(readFileSync(unet, 'utf8')).toMatch(/^unet thr/m);
    // Negative control: rewriting its own output, and -w on the spec itself, need no flag.
    expect((await run('fmt', yaml, '--to', 'dsl', '-w')).code).toBe(0);
    expect((await run('fmt', yaml, '-w')).code).toBe(0);
  });

  it("viz -o onto a user's file is refused", async () => {
    const svg = join(dir, 'figure.svg');
    writeFileSync(svg, '<svg>my figure</svg>');
    const r = await run('viz', join(root, 'specs', 'tiny.yaml'), '-o', svg);
    expect(r.code).toBe(1);
    expect(readFileSync(svg, 'utf8')).toBe('<svg>my figure</svg>');
    expect((await run('viz', join(root, 'specs', 'tiny.yaml'), '-o', join(dir, 'new.svg'))).code).toBe(0);
    expect((await run('viz', join(root, 'specs', 'tiny.yaml'), '-o', join(dir, 'new.svg'))).code).toBe(0);
  });
});

describe('an output folder that cannot be made is named at once (issue 11, item 12)', () => {
  // Node's recursive mkdir spins for ever under /proc: these would time out before the fix.
  it.each([
    [
      'predict',
      () => ['predict', model, '--input', data, '--out', '/proc/unetc-x/masks'],
      /\/proc\/unetc-x: cannot create this folder/,
    ],
    [
      'train',
      () => ['train', join(root, 'specs', 'tiny.yaml'), '--out', '/proc/unetc-x', '--max-steps', '1'],
      /\/proc\/unetc-x: cannot create this folder/,
    ],
    [
      'compile --target tfjs',
      () => ['compile', join(dir, 'thr.yaml'), '--target', 'tfjs', '-o', '/proc/unetc-x/out'],
      /no such folder '\/proc\/unetc-x'/,
    ],
  ] as const)(
    '%s',
    async (_name, args, message) => {
      const r = await run(...args());
      expect(r.code).toBe(1);
      expect(r.err).toMatch(message);
      expect(r.err).not.toMatch(/internal error/);
    },
    30_000,
  );

  it('negative control: a missing folder under a writable one is made, levels and all', async () => {
    const out = join(dir, 'deep', 'er', 'masks');
    expect((await run('predict', model, '--input', data, '--out', out)).code).toBe(0);
    expect(existsSync(join(out, 'a.png'))).toBe(true);
  });
});

/** A PNG header claiming `width` x `height` 1-bit gray pixels (a few hundred bytes, like a 40000x40000 bilevel scan). */
function hugePng(width: number, height: number): Buffer {
  const chunk = (type: string, body: Buffer) => {
    const head = Buffer.alloc(8);
    head.writeUInt32BE(body.length, 0);
    head.write(type, 4, 'ascii');
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(Buffer.concat([head.subarray(4), body])) >>> 0, 0);
    return Buffer.concat([head, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 1; // bit depth
  ihdr[9] = 0; // gray
  return Buffer.concat([
    Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(Buffer.alloc(64))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

describe('an image too large for memory is named and skipped; the others are written (issue 11, item 10)', () => {
  it('predict', async () => {
    const input = join(dir, 'with-huge');
    mkdirSync(input);
    writeFileSync(join(input, 'huge.png'), hugePng(40000, 40000));
    copyFileSync(join(data, 'images', 'a.png'), join(input, 'a.png'));
    const out = join(dir, 'huge-out');
    const r = await run('predict', model, '--input', input, '--out', out);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/huge\.png: 40000x40000 is 1600 megapixels, more than unetc reads in one piece/);
    expect(r.err).not.toMatch(/internal error/);
    expect(existsSync(join(out, 'a.png'))).toBe(true);
    expect(existsSync(join(out, 'huge.png'))).toBe(false);
  }, 30_000);
});

describe('a training step too big for memory is refused before anything is written (issue 11, item 10)', () => {
  it('the canonical U-Net at its own settings on the wasm engine', async () => {
    const out = join(dir, 'unet-run');
    const r = await run('train', join(root, 'specs', 'unet.yaml'), '--out', out, '--backend', 'wasm');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /unet\.yaml: training at batch 4, patch 256x256 needs about \d+\.\d GB on the wasm engine.*what fits: --batch 1/,
    );
    expect(existsSync(out)).toBe(false);
  }, 30_000);
});

describe('small things a hostile user found (issue 11)', () => {
  it('an unknown --backend is a usage error (exit 2) in every command that takes one', async () => {
    for (const args of [
      ['predict', model, '--input', data, '--out', join(dir, 'tpu')],
      ['eval', model, '--data', data],
      ['compile', join(dir, 'thr.yaml'), '--target', 'tfjs', '-o', join(dir, 'tpu-out')],
      ['train', join(root, 'specs', 'tiny.yaml'), '--dry-run'],
    ]) {
      const r = await run(...args, '--backend', 'tpu');
      expect(r.code, args[0]).toBe(2);
      expect(r.err).toMatch(/--backend: unknown engine 'tpu': use auto, /);
    }
    // Negative control: a known one runs.
    expect(
      (
        await run(
          'compile',
          join(dir, 'thr.yaml'),
          '--target',
          'tfjs',
          '-o',
          join(dir, 'wasm-out'),
          '--backend',
          'wasm',
        )
      ).code,
    ).toBe(0);
  }, 60_000);

  it('a failed write says why in words, once', () => {
    expect(writeFailure(Object.assign(new Error("cannot write 'x'"), { code: 'EROFS' }))).toBe(
      'the file system is read-only',
    );
    expect(writeFailure(Object.assign(new Error("cannot write 'x'"), { code: 'ENOSPC' }))).toBe(
      'no space left on the device',
    );
    expect(writeFailure(Object.assign(new Error("cannot write 'x'"), { code: 'EIO' }))).not.toContain(
      "cannot write 'x'",
    );
  });
});

describe('more small things (issue 11)', () => {
  it('eval of a PNG folder with a 3D model names it a 3D model, not a corrupt one', async () => {
    const m3d = join(dir, 'm3d.onnx');
    expect((await run('compile', join(root, 'specs', 'tiny-3d.yaml'), '--target', 'onnx', '-o', m3d)).code).toBe(0);
    const r = await run('eval', m3d, '--data', data);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/m3d\.onnx: a 3D model \(NCDHW input\): it segments volumes/);
    expect(r.err).not.toMatch(/corrupt/);
  }, 60_000);

  it('--val equal to --data, and masks that are all empty, are warned about', async () => {
    const empty = join(dir, 'empty-masks');
    for (const sub of ['images', 'masks']) mkdirSync(join(empty, sub), { recursive: true });
    for (const stem of ['a', 'b', 'c']) {
      copyFileSync(join(data, 'images', stem === 'c' ? 'a.png' : `${stem}.png`), join(empty, 'images', `${stem}.png`));
      await writeMask(join(empty, 'masks', `${stem}.png`), { width: 32, height: 32, data: new Uint8Array(32 * 32) });
    }
    const r = await run('train', join(root, 'specs', 'tiny.yaml'), '--data', empty, '--val', empty, '--dry-run');
    expect(r.err).toMatch(/warning: --val .* is the training folder: the validation scores .* will be optimistic/);
    expect(r.err).toMatch(/warning: every training mask in .* is empty/);
    // Negative control: the built-in data draws neither warning.
    const ok = await run('train', join(root, 'specs', 'tiny.yaml'), '--dry-run');
    expect(ok.err).not.toMatch(/warning/);
  }, 60_000);

  it('a --tile the network cannot use well is named', async () => {
    const r = await run(
      'predict',
      model,
      '--input',
      join(data, 'images', 'a.png'),
      '--out',
      join(dir, 'tile7'),
      '--tile',
      '7',
    );
    expect(r.code).toBe(0);
    expect(r.err).toMatch(
      /warning: --tile 7 is not a size the network takes: tiles are 7x7|warning: tiles under 64 pixels/,
    );
    const fine = await run(
      'predict',
      model,
      '--input',
      join(data, 'images', 'a.png'),
      '--out',
      join(dir, 'tile256'),
      '--tile',
      '256',
    );
    expect(fine.err).not.toMatch(/warning/);
  });
});

describe('a large image shows its progress through the tiles (issue 11)', () => {
  it('a line at each quarter in a log; none for an image of a few tiles', async () => {
    const big = join(dir, 'big.png');
    const s = generateSample(9, { height: 400, width: 400 });
    await writeGray(big, { width: 400, height: 400, data: s.image });
    const r = await run('predict', model, '--input', big, '--out', join(dir, 'big-out'), '--tile', '64');
    expect(r.code).toBe(0);
    expect(r.out.match(/^\[1\/1\] big\.png tile \d+\/\d+$/gm)).toHaveLength(3);
    const small = await run(
      'predict',
      model,
      '--input',
      join(data, 'images', 'a.png'),
      '--out',
      join(dir, 'small-out'),
      '--tile',
      '64',
    );
    expect(small.out).not.toMatch(/ tile /);
  }, 60_000);
});

describe('train lists every image with the wrong channel count, not the first (issue 11)', () => {
  it('a 2-channel spec on gray images', async () => {
    const spec = join(dir, 'two.yaml');
    writeFileSync(spec, readFileSync(join(root, 'specs', 'tiny.yaml'), 'utf8').replace('channels: 1', 'channels: 2'));
    const gray = join(dir, 'gray-data');
    for (const sub of ['images', 'masks']) mkdirSync(join(gray, sub), { recursive: true });
    for (const stem of ['a', 'b']) {
      copyFileSync(join(data, 'images', `${stem}.png`), join(gray, 'images', `${stem}.png`));
      await writeMask(join(gray, 'masks', `${stem}.png`), {
        width: 32,
        height: 32,
        data: new Uint8Array(32 * 32).fill(1, 0, 100),
      });
    }
    const r = await run('train', spec, '--data', gray, '--dry-run');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/images\/a\.png: has 1 channel; the spec expects 2/);
    expect(r.err).toMatch(/images\/b\.png: has 1 channel; the spec expects 2/);
    expect(r.err).toMatch(/2 problems in the data: nothing was trained/);
  }, 60_000);
});
