import * as tf from '@tensorflow/tfjs';
import { expect } from 'vitest';
import { compileSpec, inferShapes, validSizes, type Graph, type Shape } from '../../../src/compiler/index.js';
import { Random } from '../../../src/util/random.js';

export { tf };

/** Runs every tfjs test on the pure-JS cpu backend: deterministic and needs nothing native. */
export async function useCpu(): Promise<void> {
  // tfjs' own test mode: silences the "install tfjs-node" banner and checks kernels for leaks.
  tf.env().set('IS_TEST', true);
  await tf.setBackend('cpu');
  await tf.ready();
}

/** Compiles inline spec text (the name's extension picks the front end); fails the test on errors. */
export function graphOf(body: string, name = 'inline.yaml'): Graph {
  const c = compileSpec({ name, body });
  expect(c.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message)).toEqual([]);
  return c.graph!;
}

/** The fields of a template U-Net spec that the variant tables change. */
export interface UnetOptions {
  readonly channels?: number;
  readonly classes?: number;
  readonly activation?: 'sigmoid' | 'softmax' | 'none';
  readonly depth?: number;
  readonly filters?: readonly number[];
  /** A YAML flow mapping for network.block, e.g. `{padding: valid}`. */
  readonly block?: string;
  readonly down?: string;
  readonly up?: string;
  readonly skip?: string;
}

/** YAML text of a small template U-Net (default: depth 2, filters [4, 8], 1 channel, 1 class). */
export function unetYaml(o: UnetOptions = {}): string {
  const depth = o.depth ?? 2;
  const filters = o.filters ?? [4, 8, 16, 32].slice(0, depth);
  return [
    'name: t',
    `input: {channels: ${o.channels ?? 1}}`,
    `output: {classes: ${o.classes ?? 1}${o.activation ? `, activation: ${o.activation}` : ''}}`,
    'network:',
    `  depth: ${depth}`,
    `  filters: [${filters.join(', ')}]`,
    `  block: ${o.block ?? '{}'}`,
    `  down: ${o.down ?? 'maxpool'}`,
    `  up: ${o.up ?? 'transpose'}`,
    `  skip: ${o.skip ?? 'concat'}`,
    '',
  ].join('\n');
}

/** The smallest input side of at least `min` that the shape checker accepts, per axis. */
export function smallSize(graph: Graph, min = 8): [number, number] {
  const pick = (axis: 0 | 1) => {
    const s = validSizes(graph, axis, 512).find((x) => x >= min);
    if (s === undefined) throw new Error(`test setup: no size >= ${min} fits ${graph.name}`);
    return s;
  };
  return [pick(0), pick(1)];
}

/** The output shape the shape checker promises for an input of h x w. */
export function outputShape(graph: Graph, h: number, w: number): Shape {
  const { shapes, failure } = inferShapes(graph, h, w);
  expect(failure).toBeUndefined();
  return shapes.get('output')!;
}

/** A seeded input batch in [-1, 1). */
export function randomInput(shape: readonly number[], seed = 7): tf.Tensor {
  const rng = new Random(seed);
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) data[i] = rng.uniform(-1, 1);
  return tf.tensor(data, [...shape]);
}
