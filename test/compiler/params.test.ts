import { describe, expect, it } from 'vitest';
import { analyze, compileSpec, inferShapes } from '../../src/compiler/index.js';
import { readSpec } from '../helpers.js';

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
    ['no BatchNorm', { 'order: [conv, relu, batchnorm, dropout]': 'order: [conv, relu, dropout]' }, 31_030_593, 31_030_593],
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
    const macs = costOf(variant({ 'depth: 4': 'depth: 3', 'filters: [64, 128, 256, 512]': 'filters: [64, 128, 256]', 'bottleneck: 1024': 'bottleneck: 512' })).macs;
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
    expect(one.memory.total).toBe(one.memory.activations + one.memory.parameters + one.memory.gradients + one.memory.optimizer);
  });
});
