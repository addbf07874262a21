import { beforeAll, describe, expect, it } from 'vitest';
import { compileSpec, parseSpec, printGraph } from '../../src/compiler/index.js';
import { printDsl } from '../../src/compiler/syntax/index.js';
import { selectEngine, type Engine } from '../../src/runtime/backend/index.js';
import { PARITY_TOLERANCE } from '../../src/runtime/verify/index.js';
import { graphOf } from './onnx/helpers.js';
import { worstParity } from './worst-parity.js';

/** Explicit graphs can write squeeze-excitation and attention by hand: global-avgpool and multiply nodes. */
let engine: Engine;
beforeAll(async () => {
  engine = await selectEngine('wasm');
});

const se = (dims = '') => `name: g
input: {channels: 1${dims}}
output: {classes: 1}
graph:
  - {name: c1, op: conv, inputs: [input], filters: 8, kernel: 3}
  - {name: r1, op: relu}
  - {name: sq, op: global-avgpool}
  - {name: ex1, op: conv, filters: 2, kernel: 1}
  - {name: er, op: relu}
  - {name: ex2, op: conv, filters: 8, kernel: 1}
  - {name: gate, op: sigmoid}
  - {name: scaled, op: multiply, inputs: [r1, gate]}
  - {name: logits, op: conv, filters: 1, kernel: 1}
`;

describe('explicit-graph global-avgpool and multiply nodes', () => {
  it.each([
    ['2D', ''],
    ['3D', ', dims: 3'],
  ])(
    'a hand-written squeeze-excitation block exports with parity (%s)',
    async (_name, dims) => {
      const graph = graphOf(se(dims));
      expect(graph.ops.map((o) => o.kind)).toContain('GlobalAvgPool');
      expect(await worstParity(engine, graph, { weightsSeed: 4 })).toBeLessThanOrEqual(PARITY_TOLERANCE);
    },
    60_000,
  );

  it('3D explicit graphs take per-axis pool sizes and strides (anisotropic), with parity and a DSL round trip', async () => {
    const body = `name: g3
input: {channels: 1, dims: 3}
output: {classes: 1}
graph:
  - {name: c1, op: conv, inputs: [input], filters: 4, kernel: [1, 3, 3]}
  - {name: r1, op: relu}
  - {name: p1, op: maxpool, size: [1, 2, 2]}
  - {name: c2, op: conv, filters: 8, kernel: 3}
  - {name: u1, op: conv-transpose, filters: 4, kernel: [1, 2, 2], stride: [1, 2, 2]}
  - {name: cat, op: concat, inputs: [r1, u1]}
  - {name: logits, op: conv, filters: 1, kernel: 1}
`;
    const graph = graphOf(body);
    expect(graph.ops.find((o) => o.name === 'p1')).toMatchObject({ size: [1, 2, 2], stride: [1, 2, 2] });
    const dsl = printDsl(parseSpec({ name: 'g3.yaml', body }).value!.value);
    expect(dsl).toContain('stride 1x2x2');
    expect(printGraph(compileSpec({ name: 'g3.unet', body: dsl }).graph!)).toBe(printGraph(graph));
    expect(await worstParity(engine, graph, { weightsSeed: 2 })).toBeLessThanOrEqual(PARITY_TOLERANCE);
  }, 60_000);

  it('the DSL writes the same graph', () => {
    const dsl = compileSpec({
      name: 'g.unet',
      body: 'unet g {\n  input channels 1\n  output classes 1\n  node c1 = conv(input) { filters 8 kernel 3 }\n  node r1 = relu\n  node sq = global-avgpool\n  node ex1 = conv { filters 2 kernel 1 }\n  node er = relu\n  node ex2 = conv { filters 8 kernel 1 }\n  node gate = sigmoid\n  node scaled = multiply(r1, gate)\n  node logits = conv { filters 1 kernel 1 }\n}\n',
    });
    expect(dsl.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message)).toEqual([]);
    expect(printGraph(dsl.graph!)).toBe(printGraph(graphOf(se())));
  });

  it.each([
    [
      'one input to multiply',
      se().replace('inputs: [r1, gate]', 'inputs: [r1]'),
      "multiply node 'scaled' takes 2 inputs, found 1",
    ],
    [
      'a gate of the wrong width',
      se().replace('filters: 8, kernel: 1}', 'filters: 3, kernel: 1}'),
      "multiply node 'scaled' scales 8 channels by 3; the second input needs 8 channels or 1 (broadcast)",
    ],
  ])('refused: %s', (_name, body, message) => {
    const c = compileSpec({ name: 'g.yaml', body });
    expect(c.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message)).toEqual([message]);
  });
});
