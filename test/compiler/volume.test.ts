import { describe, expect, it } from 'vitest';
import {
  analyze,
  checkInputSize,
  compileSpec,
  inferShapes,
  lineCol,
  printGraph,
  validSizes,
  type Graph,
} from '../../src/compiler/index.js';
import { compileFile } from '../helpers.js';

const compile = (body: string, name = 'v.yaml') => compileSpec({ name, body });
const errors = (body: string, name = 'v.yaml') =>
  compile(body, name)
    .diagnostics.filter((d) => d.severity === 'error')
    .map((d) => `${d.code} ${d.span ? lineCol(d.span.source, d.span.start).line : '-'}: ${d.message}`);
const params = (g: Graph, size: number[]) => analyze(g, inferShapes(g, ...size).shapes, 1, {}).params.total;

/** conv3d k^3 x in x out + out, transposed 2^3 x in x out + out, BatchNorm 4 per channel. */
function unet3dParams(filters: number[], bottleneck: number, k = 3): number {
  const conv = (i: number, o: number) => k ** 3 * i * o + o + 4 * o;
  const block = (i: number, o: number) => conv(i, o) + conv(o, o);
  let total = 0;
  let c = 1;
  for (const f of filters) {
    total += block(c, f);
    c = f;
  }
  total += block(c, bottleneck);
  c = bottleneck;
  for (const f of [...filters].reverse()) {
    total += 8 * c * f + f; // transposed conv
    total += block(2 * f, f);
    c = f;
  }
  return total + c + 1; // 1x1x1 head
}

describe('3D U-Nets (input.dims: 3)', () => {
  it('specs/unet-3d.yaml: 5,605,345 parameters, counted by hand', () => {
    const g = compileFile('specs/unet-3d.yaml').graph!;
    expect(g.dims).toBe(3);
    expect(unet3dParams([32, 64, 128], 256)).toBe(5_605_345);
    expect(params(g, [32, 64, 64])).toBe(5_605_345);
    // Negative control: the same network in 2D has 9x3 fewer kernel taps.
    const g2 = compileSpec({
      name: 'x.yaml',
      body: compileFile('specs/unet-3d.yaml')
        .document!.source.body.replace('dims: 3', 'dims: 2')
        .replace('patch: [32, 64, 64]', 'patch: [64, 64]'),
    }).graph!;
    expect(params(g2, [64, 64])).not.toBe(5_605_345);
  });

  it('anisotropic pooling: specs/unet-3d-aniso.yaml pools [1, 2, 2] at level 1 (5,597,153 parameters by hand)', () => {
    const g = compileFile('specs/unet-3d-aniso.yaml').graph!;
    expect(unet3dParams([32, 64, 128], 256) - 8 * 64 * 32 + 4 * 64 * 32).toBe(5_597_153);
    expect(params(g, [16, 64, 64])).toBe(5_597_153);
    expect(g.ops.find((o) => o.name === 'enc1.pool')).toMatchObject({ size: [1, 2, 2], stride: [1, 2, 2] });
    expect(g.ops.find((o) => o.name === 'dec1.up')).toMatchObject({ kernel: [1, 2, 2], stride: [1, 2, 2] });
    expect(inferShapes(g, 4, 16, 16).shapes.get('bottleneck.conv2')).toMatchObject({ d: 1, h: 2, w: 2 });
    expect(validSizes(g, 0, 12)).toEqual([4, 8, 12]);
    expect(validSizes(g, 1, 24)).toEqual([8, 16, 24]);
    // The DSL's pool statement and block override say the same.
    const dsl = compile(
      'unet a {\n  input channels 1 dims 3\n  output classes 1\n  depth 2\n  filters 4 8\n  pool 1x2x2\n  block enc2 { pool 2 }\n}\n',
      'a.unet',
    ).graph!;
    const yaml = compile(
      'name: a\ninput: {channels: 1, dims: 3}\noutput: {classes: 1}\nnetwork: {depth: 2, filters: [4, 8], pool: [1, 2, 2], blocks: {enc2: {pool: 2}}}\n',
    ).graph!;
    expect(printGraph(dsl)).toBe(printGraph(yaml));
    expect(yaml.ops.find((o) => o.name === 'enc2.pool')).toMatchObject({ size: [2, 2, 2] });
  });

  it.each([
    [
      'pool on a decoder block',
      'blocks: {dec1: {pool: 2}}',
      'E308 4: network.blocks.dec1.pool: pooling follows encoder blocks only (dec1 is not one)',
    ],
    [
      'a 2-item pool in 3D',
      'pool: [2, 2]',
      'E311 4: network.pool has 2 sizes but the network is 3D: give [depth, height, width] or one number',
    ],
  ])('refused: %s', (_name, extra, message) => {
    expect(
      errors(
        `name: v\ninput: {channels: 1, dims: 3}\noutput: {classes: 1}\nnetwork: {depth: 2, filters: [4, 8], ${extra}}\n`,
      ),
    ).toEqual([message]);
  });

  it('shapes carry depth; every axis must be a multiple of 2^depth', () => {
    const g = compileFile('specs/tiny-3d.yaml').graph!;
    const out = inferShapes(g, 8, 12, 16).shapes.get('output');
    expect(out).toEqual({ d: 8, h: 12, w: 16, c: 1 });
    expect(inferShapes(g, 8, 12, 16).shapes.get('enc2.pool')).toEqual({ d: 2, h: 3, w: 4, c: 8 });
    expect(validSizes(g, 0, 20)).toEqual([4, 8, 12, 16, 20]);
    const [d] = checkInputSize(g, [10, 12, 16], undefined, '');
    expect(d?.message).toBe(
      'input 10x12x16 does not fit: at enc2.pool the depth is 5: 5 is not divisible by 2, so pooling would drop 1 slice(s)',
    );
    expect(checkInputSize(g, [12, 12, 16], undefined, '')).toEqual([]);
  });

  it('YAML and DSL give the same 3D IR', () => {
    const yaml = compileFile('specs/tiny-3d.yaml').graph!;
    const dsl = compile(
      'unet tiny-3d {\n  input channels 1 dims 3\n  output classes 1 sigmoid\n  depth 2\n  filters base 4 growth 2\n  train { loss bce-dice optimizer adam learning_rate 0.01 epochs 4 batch 2 patch 16x32x32 augment { flip true } }\n}\n',
      'tiny-3d.unet',
    ).graph!;
    expect(printGraph(dsl)).toBe(printGraph(yaml));
    expect(printGraph(yaml)).toContain('input channels=1 dims=3 size=any');
    expect(printGraph(yaml)).toContain('enc1.conv1 = Conv(input) -> 4ch kernel=3x3x3 stride=1x1x1');
  });

  it.each([
    [
      'a 2-item kernel in 3D',
      'name: v\ninput: {channels: 1, dims: 3}\noutput: {classes: 1}\nnetwork: {depth: 2, filters: [4, 8], block: {kernel: [3, 3]}}\n',
      'E311 4: network.block.kernel has 2 sizes but the network is 3D: give [depth, height, width] or one number',
    ],
    [
      'a 3-item size in 2D',
      'name: v\ninput: {channels: 1, size: [8, 16, 16]}\noutput: {classes: 1}\nnetwork: {depth: 2, filters: [4, 8]}\n',
      'E311 2: input.size has 3 sizes but the network is 2D: give [height, width]',
    ],
    [
      'a 2-item patch in 3D',
      'name: v\ninput: {channels: 1, dims: 3}\noutput: {classes: 1}\nnetwork: {depth: 2, filters: [4, 8]}\ntrain: {patch: [64, 64]}\n',
      'E311 5: train.patch has 2 sizes but the network is 3D: give [depth, height, width]',
    ],
    [
      'resize upsampling in 3D',
      'name: v\ninput: {channels: 1, dims: 3}\noutput: {classes: 1}\nnetwork: {depth: 2, filters: [4, 8], up: bilinear}\n',
      'E312 4: up: bilinear has no 3D form (tfjs has no 3D resize layer)',
    ],
    [
      'dims 4',
      'name: v\ninput: {channels: 1, dims: 4}\noutput: {classes: 1}\nnetwork: {depth: 2, filters: [4, 8]}\n',
      'E204 2: input.dims must be 2 or 3, found 4',
    ],
  ])('%s is refused at its line', (_name, body, message) => {
    expect(errors(body)).toEqual([message]);
  });

  it('DSL kernels: 3x3x3 is the square 3D kernel, 3x3 in a 3D network is refused, 1x3x3 stays a list', () => {
    const dsl = (conv: string) =>
      `unet k {\n  input channels 1 dims 3\n  output classes 1\n  depth 2\n  filters 4 8\n  block 2 x [conv ${conv} same -> relu]\n}\n`;
    expect(errors(dsl('3x3'), 'k.unet')).toEqual([
      'E311 6: network.block.kernel has 2 sizes but the network is 3D: give [depth, height, width] or one number',
    ]);
    expect(compile(dsl('3x3x3'), 'k.unet').graph!.ops.find((o) => o.name === 'enc1.conv1')).toMatchObject({
      kernel: [3, 3, 3],
    });
    expect(compile(dsl('1x3x3'), 'k.unet').graph!.ops.find((o) => o.name === 'enc1.conv1')).toMatchObject({
      kernel: [1, 3, 3],
    });
  });

  it('augmentations that 3D patches do not get are warned about, the others are not (negative control)', () => {
    const c = compile(
      'name: a\ninput: {channels: 1, dims: 3}\noutput: {classes: 1}\nnetwork: {depth: 2, filters: [4, 8]}\ntrain: {augment: {flip: true, rotate90: true, gamma: 0.2, elastic: true, noise: 0.1}}\n',
    );
    expect(c.graph).toBeDefined();
    expect(c.diagnostics.map((d) => `${d.code} ${d.message}`)).toEqual([
      'W307 train.augment.elastic is not applied to 3D patches yet (they get flips, in-plane rotations and intensity changes)',
    ]);
  });

  it('a 3D patch that does not fit names the axis', () => {
    expect(
      errors(
        'name: v\ninput: {channels: 1, dims: 3}\noutput: {classes: 1}\nnetwork: {depth: 2, filters: [4, 8]}\ntrain: {patch: [6, 32, 32]}\n',
      ),
    ).toEqual([
      'E401 5: input 6x32x32 (train.patch) does not fit: at enc2.pool the depth is 3: 3 is not divisible by 2, so pooling would drop 1 slice(s)',
    ]);
  });
});

describe('when no size fits', () => {
  it('E404 names the op really in the way: overlapping pooling passes odd sizes that the merge then refuses', () => {
    const body =
      'name: g5\ninput: {channels: 1}\noutput: {classes: 1}\ngraph:\n  - {name: c1, op: conv, inputs: [input], filters: 4, kernel: 3}\n  - {name: p1, op: maxpool, size: 3, stride: 2}\n  - {name: u1, op: conv-transpose, filters: 4, kernel: 2, stride: 2}\n  - {name: cat, op: concat, inputs: [c1, u1]}\n  - {name: logits, op: conv, filters: 1, kernel: 1}\n';
    expect(errors(body)).toEqual([
      'E404 8: no input height or width from 1 to 4096 fits this network; even at 4095, cat fails: joins sizes 4095 and 4094',
    ]);
    // Negative control: a 3-wide valid transposed conv gives 2n + 1 = the pooled size back, so it fits.
    expect(errors(body.replace('kernel: 2, stride: 2}', 'kernel: 3, stride: 2, padding: valid}'))).toEqual([]);
  });
});

describe('deep supervision (network.deep_supervision)', () => {
  it('specs/unet-ds.yaml: the canonical 31,054,145 + 899 in three heads; weights halve per level and sum to 1', () => {
    const g = compileFile('specs/unet-ds.yaml').graph!;
    expect(params(g, [256, 256])).toBe(31_055_044);
    const ds = g.deepSupervision!;
    expect(ds.heads.map((h) => [h.op, h.level, h.factor])).toEqual([
      ['dec4.ds_sigmoid', 4, [8, 8]],
      ['dec3.ds_sigmoid', 3, [4, 4]],
      ['dec2.ds_sigmoid', 2, [2, 2]],
    ]);
    const weights = [ds.mainWeight, ...[...ds.heads].reverse().map((h) => h.weight)];
    expect(weights.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    for (let i = 1; i < weights.length; i++) expect(weights[i]! / weights[i - 1]!).toBeCloseTo(0.5, 12);
    const shapes = inferShapes(g, 256, 256).shapes;
    expect(ds.heads.map((h) => shapes.get(h.op)!.h)).toEqual([32, 64, 128]);
  });

  it('a number picks the levels just below the top; the DSL says the same', () => {
    const body = (ds: string) =>
      `name: d\ninput: {channels: 1}\noutput: {classes: 2}\nnetwork: {depth: 3, filters: [4, 8, 16], deep_supervision: ${ds}}\n`;
    expect(compile(body('1')).graph!.deepSupervision!.heads.map((h) => h.op)).toEqual(['dec2.ds_softmax']);
    const dsl = compile(
      'unet d {\n  input channels 1\n  output classes 2\n  depth 3\n  filters 4 8 16\n  deep-supervision 1\n}\n',
      'd.unet',
    ).graph!;
    expect(printGraph(dsl)).toBe(printGraph(compile(body('1')).graph!));
    expect(compile(body('false')).graph!.deepSupervision).toBeUndefined();
  });

  it.each([
    [
      'more levels than the decoder has',
      'deep_supervision: 3',
      'E313 4: deep_supervision: 3 asks for 3 levels below the top, but depth 3 has 2',
    ],
    [
      'valid padding',
      'deep_supervision: true, block: {padding: valid}',
      'E313 4: deep supervision needs padding: same (its targets are the mask pooled by 2, 4, ...; unpadded convs shrink the levels unevenly)',
    ],
  ])('refused: %s', (_name, extra, message) => {
    expect(
      errors(
        `name: d\ninput: {channels: 1}\noutput: {classes: 1}\nnetwork: {depth: 3, filters: [4, 8, 16], ${extra}}\n`,
      ),
    ).toEqual([message]);
  });
});
