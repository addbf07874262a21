import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Graph } from '../../src/compiler/index.js';
import { closestSpaced, layoutGraph } from '../../src/compiler/viz/graph-layout.js';
import { renderGraphSvg } from '../../src/compiler/viz/index.js';
import { overlap, scene } from './geometry.js';
import { graphFromYaml, graphOf, sizeOf } from './helpers.js';
import { parseXml, texts, type XmlElement } from './xml.js';

/** Boxes do not overlap each other, and each node's three lines fit inside its box. */
function boxProblems(doc: XmlElement): string[] {
  const { texts: labels, rects } = scene(doc);
  const nodes = rects.filter((r) => r.h === 46);
  const out: string[] = [];
  nodes.forEach((a, i) => nodes.slice(i + 1).forEach((b) => overlap(a, b) && out.push(`${a.what} overlaps ${b.what}`)));
  for (const t of labels) {
    const inside = nodes.find(
      (r) => t.y >= r.y && t.y + t.h <= r.y + r.h && t.x + t.w / 2 > r.x && t.x + t.w / 2 < r.x + r.w,
    );
    if (inside && (t.x < inside.x + 2 || t.x + t.w > inside.x + inside.w - 2))
      out.push(`${t.what} does not fit ${inside.what}`);
  }
  labels.forEach((a, i) =>
    labels.slice(i + 1).forEach((b) => overlap(a, b, 0.5) && out.push(`${a.what} overlaps ${b.what}`)),
  );
  return out;
}

/** An explicit-graph spec: a U of `depth` levels written node by node (about 12 nodes a level). */
function explicitU(depth: number): string {
  const lines = ['name: explicit-u', 'input: {channels: 1}', 'output: {classes: 1, activation: sigmoid}', 'graph:'];
  let prev = 'input';
  for (let l = 1; l <= depth; l++) {
    lines.push(
      `  - {name: e${l}a, op: conv, inputs: [${prev}], filters: ${8 << l}, kernel: 3}`,
      `  - {name: e${l}r, op: relu}`,
      `  - {name: e${l}b, op: conv, filters: ${8 << l}, kernel: 3}`,
      `  - {name: e${l}s, op: relu}`,
      `  - {name: p${l}, op: maxpool, size: 2}`,
    );
    prev = `p${l}`;
  }
  lines.push(`  - {name: mid, op: conv, inputs: [${prev}], filters: 256, kernel: 3}`, '  - {name: midr, op: relu}');
  prev = 'midr';
  for (let l = depth; l >= 1; l--) {
    lines.push(
      `  - {name: u${l}, op: conv-transpose, inputs: [${prev}], filters: ${8 << l}, kernel: 2, stride: 2}`,
      `  - {name: cat${l}, op: concat, inputs: [e${l}s, u${l}]}`,
      `  - {name: d${l}a, op: conv, filters: ${8 << l}, kernel: 3}`,
      `  - {name: d${l}r, op: relu}`,
    );
    prev = `d${l}r`;
  }
  lines.push(`  - {name: logits, op: conv, inputs: [${prev}], filters: 1, kernel: 1}`);
  return `${lines.join('\n')}\n`;
}

describe('the graph view', () => {
  it('specs/graph-tiny.yaml: valid XML with every node’s name, op and shape', () => {
    const g = graphOf('specs/graph-tiny.yaml');
    const doc = parseXml(renderGraphSvg(g, sizeOf(g)));
    const labels = texts(doc);
    for (const op of g.ops) expect(labels).toContain(op.name);
    expect(labels).toEqual(
      expect.arrayContaining([
        'conv 3x3, 8 filters',
        'maxpool 2x2',
        'conv-transpose 2x2/2, 8 filters',
        'concat',
        '256x256x16',
        '128x128x16',
        '256x256x1',
      ]),
    );
    // One arrow per input: 12 ops read one input, the concat two.
    expect(scene(doc).rects.filter((r) => r.h === 46)).toHaveLength(g.ops.length);
    expect(doc.children.filter((c) => typeof c !== 'string' && c.name === 'path')).toHaveLength(
      g.ops.reduce((n, op) => n + op.inputs.length, 0),
    );
    expect(boxProblems(doc)).toEqual([]);
  });

  it('is deterministic; another graph or size gives another drawing', () => {
    const g = graphOf('specs/graph-tiny.yaml');
    const a = renderGraphSvg(g, { height: 64, width: 64 });
    expect(renderGraphSvg(g, { height: 64, width: 64 })).toBe(a);
    expect(renderGraphSvg(g, { height: 32, width: 32 })).not.toBe(a);
    expect(renderGraphSvg(graphOf('specs/tiny.yaml'), { height: 64, width: 64 })).not.toBe(a);
  });

  it('escapes XML special characters in op names', () => {
    const g = graphOf('specs/graph-tiny.yaml');
    const odd = `r1<&>"'`;
    const renamed: Graph = {
      ...g,
      name: 'x & y',
      ops: g.ops.map((op) => ({
        ...op,
        name: op.name === 'r1' ? odd : op.name,
        inputs: op.inputs.map((i) => (i === 'r1' ? odd : i)),
      })) as Graph['ops'],
    };
    const svg = renderGraphSvg(renamed, { height: 64, width: 64 });
    const labels = texts(parseXml(svg));
    expect(labels).toContain(odd);
    expect(labels).toContain('x & y');
  });

  it('draws template networks too (88 ops), every op with its name', () => {
    const g = graphOf('specs/unet.yaml');
    const doc = parseXml(renderGraphSvg(g, sizeOf(g)));
    const labels = texts(doc);
    for (const op of g.ops) expect(labels).toContain(op.name);
    expect(boxProblems(doc)).toEqual([]);
  });

  it('a 60-node explicit U: no overlapping boxes, skips routed beside the chain', () => {
    const g = graphFromYaml(explicitU(6));
    expect(g.ops.length).toBe(60);
    const svg = renderGraphSvg(g, sizeOf(g));
    const doc = parseXml(svg);
    for (const op of g.ops) expect(texts(doc)).toContain(op.name);
    expect(boxProblems(doc)).toEqual([]);
    // Every box of the main chain sits at one x: the long skips bend around it, not the chain.
    const layout = layoutGraph(g.ops.map((op) => ({ id: op.name, width: 120, inputs: op.inputs })));
    const chainX = ['input', 'e1a', 'p2', 'mid', 'u1', 'logits', 'output'].map((n) => layout.nodes.get(n)!.x);
    expect(Math.max(...chainX) - Math.min(...chainX)).toBeLessThan(1);
    expect(layout.edges.filter((e) => e.via.length > 0)).toHaveLength(6);
  });

  it('shows ? past an op where the size does not fit, instead of failing', () => {
    const g = graphOf('specs/graph-tiny.yaml');
    const labels = texts(parseXml(renderGraphSvg(g, { height: 63, width: 64 })));
    expect(labels).toContain('?');
    expect(labels.some((t) => t.includes('does not fit (at p1)'))).toBe(true);
  });
});

describe('closestSpaced (x positions within a layer)', () => {
  it.each([
    [
      [0, 0],
      [0, 10],
      [1, 1],
      [-5, 5],
    ],
    [
      [0, 20],
      [0, 10],
      [1, 1],
      [0, 20],
    ],
    [
      [0, 0],
      [0, 10],
      [9, 1],
      [-1, 9],
    ],
    [
      [5, 5, 5],
      [0, 10, 10],
      [1, 1, 1],
      [-5, 5, 15],
    ],
  ])('want %j, gaps %j, weights %j -> %j', (want, gaps, weights, expected) => {
    expect(closestSpaced(want, gaps, weights).map((x) => Math.round(x * 1000) / 1000)).toEqual(expected);
  });

  it('always keeps the gaps, and keeps wants that already respect them', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.integer({ min: -500, max: 500 }),
            fc.integer({ min: 0, max: 60 }),
            fc.integer({ min: 1, max: 100 }),
          ),
          { minLength: 1, maxLength: 20 },
        ),
        (rows) => {
          const want = rows.map((r) => r[0]);
          const gaps = rows.map((r, i) => (i === 0 ? 0 : r[1]));
          const xs = closestSpaced(
            want,
            gaps,
            rows.map((r) => r[2]),
          );
          for (let i = 1; i < xs.length; i++) expect(xs[i]! - xs[i - 1]!).toBeGreaterThanOrEqual(gaps[i]! - 1e-6);
          const sorted = [...want].sort((a, b) => a - b);
          const spaced = sorted.map((_, i) => sorted[0]! + gaps.slice(1, i + 1).reduce((a, b) => a + b, 0));
          const fine = closestSpaced(spaced, gaps);
          fine.forEach((x, i) => expect(x).toBeCloseTo(spaced[i]!, 6));
        },
      ),
    );
  });
});
