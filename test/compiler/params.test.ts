import { describe, expect, it } from 'vitest';
import { analyze, compileSpec, inferShapes } from '../../src/compiler/index.js';
import { compileFile, readSpec } from '../helpers.js';

/** The canonical spec with some YAML lines replaced: variants with known golden counts (shared/FACTS.md). */
function variant(replace: Record<string, string>): string {
  let body = readSpec('specs/unet.yaml').body;
  for (const [from, to] of Object.entries(replace)) {
    if (!body.includes(from)) throw new Error(`test setup: '${from}' not in specs/unet.yaml`);
    body = body.replace(from, to);
  }
  return body;
}

function costOf(body: string, size = 256) {
  const c = compileSpec({ name: 'v.yaml', body });
  expect(c.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  const { shapes, failure } = inferShapes(c.graph!, size, size);
  expect(failure).toBeUndefined();
  return analyze(c.graph!, shapes, 1);
}

describe('parameter counts match the golden numbers', () => {
  it.each([
    ['conv bias + BatchNorm (canonical)', {}, 31_054_145, 31_042_369],
    ['conv without bias + BatchNorm', { 'bias: true': 'bias: false' }, 31_048_257, 31_036_481],
    [
      'no BatchNorm',
      { 'order: [conv, relu, batchnorm, dropout]': 'order: [conv, relu, dropout]' },
      31_030_593,
      31_030_593,
    ],
  ] as const)('%s', (_name, replace, total, trainable) => {
    const cost = costOf(variant(replace));
    expect(cost.params.total).toBe(total);
    expect(cost.params.trainable).toBe(trainable);
  });

  it('bottleneck 512: 20,553,537 trainable', () => {
    expect(costOf(variant({ 'bottleneck: 1024': 'bottleneck: 512' })).params.trainable).toBe(20_553_537);
  });

  it('negative control: a different network gives a different count', () => {
    const cost = costOf(variant({ 'filters: [64, 128, 256, 512]': 'filters: [64, 128, 256, 256]' }));
    expect(cost.params.total).not.toBe(31_054_145);
  });

  it('the DSL form counts the same', () => {
    const c = compileSpec(readSpec('specs/unet.unet'));
    const { shapes } = inferShapes(c.graph!, 256, 256);
    expect(analyze(c.graph!, shapes, 1).params.total).toBe(31_054_145);
  });
});

describe('multiply-adds', () => {
  it.each([
    [256, 48.1e9],
    [512, 192.4e9],
  ])('at %i x %i within 1%% of the reference', (size, expected) => {
    const macs = costOf(variant({}), size).macs;
    expect(Math.abs(macs - expected) / expected).toBeLessThan(0.01);
  });

  it('negative control: depth 3 is far from the depth-4 figure', () => {
    const macs = costOf(
      variant({
        'depth: 4': 'depth: 3',
        'filters: [64, 128, 256, 512]': 'filters: [64, 128, 256]',
        'bottleneck: 1024': 'bottleneck: 512',
      }),
    ).macs;
    expect(Math.abs(macs - 48.1e9) / 48.1e9).toBeGreaterThan(0.05);
  });
});

describe('training memory estimate', () => {
  it('parameters, gradients and Adam state follow the parameter count; activations scale with the batch', () => {
    const one = costOf(variant({}));
    const c = compileSpec({ name: 'v.yaml', body: variant({}) });
    const { shapes } = inferShapes(c.graph!, 256, 256);
    const four = analyze(c.graph!, shapes, 4);
    expect(one.memory.parameters).toBe(31_054_145 * 4);
    expect(one.memory.gradients).toBe(31_042_369 * 4);
    expect(one.memory.optimizer).toBe(2 * 31_042_369 * 4);
    expect(four.memory.activations).toBe(4 * one.memory.activations);
    expect(one.memory.total).toBe(
      one.memory.activations + one.memory.parameters + one.memory.gradients + one.memory.optimizer,
    );
  });
});

/**
 * Residual and squeeze-excitation U-Nets: the canonical counts plus what each variant adds,
 * worked out by hand from the papers' definitions and checked against the shipped specs.
 * Blocks (input channels -> output channels): enc1 1->64, enc2 64->128, enc3 128->256,
 * enc4 256->512, bottleneck 512->1024, dec4 (512+512)->512, dec3 512->256, dec2 256->128,
 * dec1 128->64 (decoders read the concatenation of skip and up-sampled maps).
 */
describe('residual and squeeze-excitation variants', () => {
  const blocks: readonly (readonly [number, number])[] = [
    [1, 64],
    [64, 128],
    [128, 256],
    [256, 512],
    [512, 1024],
    [1024, 512],
    [512, 256],
    [256, 128],
    [128, 64],
  ];

  it('residual (He et al. 2016): a 1x1 projection (weights, bias) + BatchNorm in every block, all 9 change channels', () => {
    // Per block: in*out weights + out biases + BatchNorm 2*out trainable (gamma, beta) + 2*out moving statistics.
    const trainable = blocks.reduce((a, [i, o]) => a + i * o + o + 2 * o, 0);
    const moving = blocks.reduce((a, [, o]) => a + 2 * o, 0);
    expect([trainable, moving]).toEqual([1_401_536, 5_888]);
    const cost = costOf(readSpec('specs/unet-residual.yaml').body);
    expect(cost.params.total).toBe(31_054_145 + trainable + moving); // 32,461,569
    expect(cost.params.trainable).toBe(31_042_369 + trainable); // 32,443,905
    expect(cost.params.total).toBe(32_461_569);
  });

  it('residual, add skips: decoders keep their channels, so only the 5 encoder-side blocks project', () => {
    const body = variant({ 'skip: concat': 'skip: add', 'bias: true': 'bias: true\n    residual: true' });
    const base = costOf(variant({ 'skip: concat': 'skip: add' })).params.total;
    const added = blocks.slice(0, 5).reduce((a, [i, o]) => a + i * o + o + 4 * o, 0);
    expect(costOf(body).params.total - base).toBe(added);
  });

  it('squeeze-excitation (Hu et al. 2018, r = 16): 2*C*C/r weights + C/r + C biases per block', () => {
    const se = blocks.reduce((a, [, c]) => a + (2 * c * c) / 16 + c / 16 + c, 0);
    expect(se).toBe(221_240);
    const cost = costOf(readSpec('specs/unet-se.yaml').body);
    expect(cost.params.total).toBe(31_054_145 + se); // 31,275,385
    expect(cost.params.trainable).toBe(31_042_369 + se);
  });

  it("squeeze-excitation's 1x1 convs run on 1x1 maps: C*C/r multiply-adds each, per image", () => {
    const seMacs = blocks.reduce((a, [, c]) => a + (2 * c * c) / 16, 0);
    expect(costOf(readSpec('specs/unet-se.yaml').body).macs - costOf(variant({})).macs).toBe(seMacs);
  });

  it('shapes: the squeeze is 1x1xC/r, the scale keeps the block map; a valid shortcut is cropped', () => {
    const { shapes } = inferShapes(compileFile('specs/unet-se.yaml').graph!, 256, 256);
    expect(shapes.get('enc2.se_pool')).toEqual({ h: 1, w: 1, c: 128 });
    expect(shapes.get('enc2.se_reduce')).toEqual({ h: 1, w: 1, c: 8 });
    expect(shapes.get('enc2.se_scale')).toEqual({ h: 128, w: 128, c: 128 });
    const valid = compileSpec({
      name: 'v.yaml',
      body: variant({
        'padding: same': 'padding: valid',
        'bias: true': 'bias: true\n    residual: true',
        'patch: [256, 256]': 'patch: [572, 572]',
      }),
    }).graph!;
    const r = inferShapes(valid, 572, 572);
    expect(r.failure).toBeUndefined();
    expect(r.shapes.get('enc1.res_crop')).toEqual({ h: 568, w: 568, c: 1 });
    expect(r.shapes.get('enc1.proj')).toEqual({ h: 568, w: 568, c: 64 });
    expect(r.shapes.get('output')).toEqual({ h: 388, w: 388, c: 1 });
  });

  it('negative control: SE with another ratio gives another count', () => {
    expect(costOf(readSpec('specs/unet-se.yaml').body.replace('se: 16', 'se: 8')).params.total).not.toBe(31_275_385);
  });
});

/**
 * Attention U-Net (Oktay et al. 2018): per decoder level, with x the skip (F_l channels), g the
 * up-sampled decoder map (F_g channels) and F_int = max(1, floor(F_l / 2)), the gate's three 1x1
 * convs with biases hold F_l*F_int + F_int + F_g*F_int + F_int + F_int + 1 parameters.
 */
describe('attention gates', () => {
  const gate = (fl: number, fg: number) => {
    const fInt = Math.max(1, Math.floor(fl / 2));
    return fl * fInt + fInt + fg * fInt + fInt + fInt + 1;
  };

  it('canonical levels (F_l = F_g = 64..512): 4,193 + 16,577 + 65,921 + 262,913 = 349,604 on top of 31,054,145', () => {
    const levels = [64, 128, 256, 512].map((f) => gate(f, f));
    expect(levels).toEqual([4_193, 16_577, 65_921, 262_913]);
    const added = levels.reduce((a, n) => a + n, 0);
    expect(added).toBe(349_604);
    const cost = costOf(readSpec('specs/unet-attention.yaml').body);
    expect(cost.params.total).toBe(31_054_145 + added); // 31,403,749
    expect(cost.params.trainable).toBe(31_042_369 + added); // no BatchNorm in the gates
    expect(cost.params.total).toBe(31_403_749);
  });

  it('F_l != F_g and an odd F_l: the formula per level matches the lowered convs', () => {
    // Bottleneck 12 -> dec2.up has filters[1] = 6 = F_g; the skip enc2 overridden to 5 channels = F_l (F_int 2).
    const body =
      'name: m\ninput: {channels: 1}\noutput: {classes: 1}\nnetwork:\n  depth: 2\n  filters: [3, 6]\n  bottleneck: 12\n  attention: true\n  blocks:\n    enc2: {filters: 5}\n';
    const c = compileSpec({ name: 'm.yaml', body });
    expect(c.diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    const ops = new Map(c.graph!.ops.map((op) => [op.name, op]));
    expect(ops.get('dec2.att_x')?.channels).toBe(2);
    expect(ops.get('dec1.att_x')?.channels).toBe(1); // F_l = 3: floor(3 / 2) = 1
    expect(ops.get('dec2.att_psi')?.channels).toBe(1);
    const base = costOf(body.replace('  attention: true\n', '')).params.total;
    expect(costOf(body).params.total - base).toBe(gate(5, 6) + gate(3, 3));
  });

  it('shapes: the coefficients are one channel at the skip size, the scaled skip keeps its channels', () => {
    const { shapes } = inferShapes(compileFile('specs/unet-attention.yaml').graph!, 256, 256);
    expect(shapes.get('dec2.att_x')).toEqual({ h: 128, w: 128, c: 64 });
    expect(shapes.get('dec2.att_sigmoid')).toEqual({ h: 128, w: 128, c: 1 });
    expect(shapes.get('dec2.att_scale')).toEqual({ h: 128, w: 128, c: 128 });
    expect(shapes.get('dec2.concat')).toEqual({ h: 128, w: 128, c: 256 });
  });

  it('negative control: without attention the count is the canonical one', () => {
    expect(costOf(readSpec('specs/unet-attention.yaml').body.replace('  attention: true\n', '')).params.total).toBe(
      31_054_145,
    );
  });
});
