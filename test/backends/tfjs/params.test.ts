import { beforeAll, describe, expect, it } from 'vitest';
import { analyze, defaultSize, inferShapes } from '../../../src/compiler/index.js';
import { weightSpecs } from '../../../src/compiler/backends/weights.js';
import { buildModel } from '../../../src/compiler/backends/tfjs/index.js';
import { compileFile, shippedSpecs } from '../../helpers.js';
import { tf, useCpu } from './helpers.js';

beforeAll(useCpu);

describe('tfjs models of the shipped specs', () => {
  // Built only (zeros initializers keep even the 31 M-parameter ones fast); never run.
  it.each(shippedSpecs())('%s: countParams() equals analyze(), weights are named as weightSpecs says', (file) => {
    const graph = compileFile(file).graph!;
    const size = graph.inputSize === 'any' ? defaultSize(graph) : graph.inputSize;
    const { shapes, failure } = inferShapes(graph, ...size);
    expect(failure).toBeUndefined();
    const model = buildModel(tf, graph);
    try {
      expect(model.countParams()).toBe(analyze(graph, shapes, 1).params.total);
      const got = model.weights.map((v) => [v.originalName, v.shape, v.trainable] as const);
      const want = weightSpecs(graph).map((s) => [s.name, s.shape, s.trainable] as const);
      const byName = (a: readonly [string, ...unknown[]], b: readonly [string, ...unknown[]]) =>
        a[0].localeCompare(b[0]);
      expect([...got].sort(byName)).toEqual([...want].sort(byName));
      expect(model.inputs[0]!.shape).toEqual([
        null,
        ...(graph.inputSize === 'any' ? size.map(() => null) : size),
        graph.inputChannels,
      ]);
    } finally {
      model.dispose();
    }
  });

  it('negative control: a model of another spec has another count', () => {
    const tiny = compileFile('specs/tiny.yaml').graph!;
    const small = compileFile('specs/small.yaml').graph!;
    const model = buildModel(tf, tiny);
    const { shapes } = inferShapes(small, 64, 64);
    expect(model.countParams()).not.toBe(analyze(small, shapes, 1).params.total);
    model.dispose();
  });
});
