import { describe, expect, it } from 'vitest';
import { isUnetGraph, renderUnetSvg } from '../../src/compiler/viz/index.js';
import { clashes, clipped } from './geometry.js';
import { depthSpec, graphFromYaml, graphOf, sizeOf } from './helpers.js';
import { elements, parseXml, texts } from './xml.js';

const render = (path: string, size?: { height: number; width: number }) => {
  const g = graphOf(path);
  return renderUnetSvg(g, size ?? sizeOf(g));
};

describe('the U view', () => {
  it('specs/unet.yaml: valid XML with every level’s channels and size', () => {
    const svg = render('specs/unet.yaml');
    const doc = parseXml(svg);
    expect(doc.name).toBe('svg');
    expect(doc.attrs.xmlns).toBe('http://www.w3.org/2000/svg');
    const labels = texts(doc);
    for (const c of ['1', '64', '128', '256', '512', '1024']) expect(labels).toContain(c);
    for (const s of ['256x256', '128x128', '64x64', '32x32', '16x16']) expect(labels).toContain(s);
    expect(labels).toEqual(
      expect.arrayContaining([
        'unet',
        'maxpool 2x2',
        'up-conv 2x2',
        'concat',
        'conv 1x1',
        'sigmoid',
        '64+64',
        '512+512',
      ]),
    );
    expect(labels.filter((t) => t === 'maxpool 2x2')).toHaveLength(4);
    expect(labels.filter((t) => t === 'concat')).toHaveLength(4);
  });

  it('specs/unet-2015.yaml at 572x572: the paper’s sizes, 572 -> 388', () => {
    const labels = texts(parseXml(render('specs/unet-2015.yaml', { height: 572, width: 572 })));
    const sizes = [
      '572x572',
      '570x570',
      '568x568',
      '284x284',
      '280x280',
      '140x140',
      '136x136',
      '68x68',
      '64x64',
      '32x32',
      '28x28',
    ];
    const decoder = ['56x56', '52x52', '104x104', '100x100', '200x200', '196x196', '392x392', '390x390', '388x388'];
    for (const s of [...sizes, ...decoder]) expect(labels).toContain(s);
    for (const c of ['64', '128', '256', '512', '1024', '2']) expect(labels).toContain(c);
    expect(labels.filter((t) => t === 'crop+concat')).toHaveLength(4);
    expect(labels).toContain('softmax');
    expect(labels.some((t) => t.includes('572x572x1 \u2192 output 388x388x2'))).toBe(true);
  });

  it('examples/variants.yaml: strided-conv down, bilinear up, additive skips, a 5x5 block', () => {
    const svg = render('examples/variants.yaml');
    const labels = texts(parseXml(svg));
    expect(labels.filter((t) => t === 'conv 2x2/2')).toHaveLength(3);
    expect(labels.filter((t) => t === 'bilinear x2')).toHaveLength(3);
    expect(labels.filter((t) => t === 'add')).toHaveLength(3);
    expect(svg.match(/<circle /g)).toHaveLength(3); // a circled plus where each skip is added
    expect(labels).not.toContain('concat');
    expect(labels.filter((t) => t === '5x5')).toHaveLength(2);
    for (const s of ['320x480', '160x240', '80x120', '40x60']) expect(labels).toContain(s);
  });

  it('a network without skips says so and draws no skip arrow', () => {
    const svg = renderUnetSvg(graphFromYaml(depthSpec(3, '  skip: none\n  up: nearest\n  down: avgpool\n')), {
      height: 64,
      width: 64,
    });
    const labels = texts(parseXml(svg));
    expect(labels).toContain('no skip connections');
    expect(labels).toContain('nearest x2');
    expect(labels).toContain('avgpool 2x2');
    expect(svg).not.toContain('stroke-dasharray="5 3"');
  });

  it('is deterministic: the same graph gives the same bytes; another spec or size does not', () => {
    const a = render('specs/unet.yaml');
    expect(render('specs/unet.yaml')).toBe(a);
    // Negative controls: the renderer does look at the graph and the size.
    expect(render('specs/unet-2015.yaml', { height: 572, width: 572 })).not.toBe(a);
    expect(render('specs/unet.yaml', { height: 512, width: 512 })).not.toBe(a);
  });

  it('escapes XML special characters in names and descriptions', () => {
    const g = graphOf('specs/unet.yaml');
    const name = `a<b>&"c'`;
    const svg = renderUnetSvg(
      { ...g, name, description: '<script>alert(1)</script> & more' },
      { height: 64, width: 64 },
    );
    const doc = parseXml(svg);
    expect(texts(doc)).toContain(name);
    expect(texts(doc)).toContain('<script>alert(1)</script> & more');
    expect(svg).not.toContain('<script>');
    expect(svg).toContain('a&lt;b&gt;&amp;&quot;c&apos;');
  });

  it('loads nothing from outside: no links, images, external fonts or scripts', () => {
    const svg = render('specs/unet.yaml');
    const names = new Set(elements(parseXml(svg)).map((e) => e.name));
    expect([...names].sort()).toEqual(['path', 'polygon', 'rect', 'svg', 'text', 'title']);
    expect(svg.match(/https?:\/\/[^"]*/g)).toEqual(['http://www.w3.org/2000/svg']);
    expect(svg).not.toMatch(/href|url\(|@import|@font-face/);
    expect(svg).toMatch(/font-family="[^"]*sans-serif"/);
  });

  it.each([1, 2, 3, 4, 5, 6, 7, 8])('depth %i: every level labelled, no overlaps, nothing clipped', (depth) => {
    const g = graphFromYaml(depthSpec(depth));
    const svg = renderUnetSvg(g, sizeOf(g));
    const doc = parseXml(svg);
    const labels = texts(doc);
    for (let l = 0; l <= depth; l++) {
      expect(labels).toContain(String(16 * 2 ** l));
      expect(labels).toContain(`${256 / 2 ** l}x${256 / 2 ** l}`);
    }
    expect(clashes(doc)).toEqual([]);
    expect(clipped(doc)).toEqual([]);
  });

  it('width grows with depth', () => {
    const widths = [1, 2, 4, 8].map((d) => {
      const g = graphFromYaml(depthSpec(d));
      return Number(parseXml(renderUnetSvg(g, sizeOf(g))).attrs.width);
    });
    expect([...widths].sort((a, b) => a - b)).toEqual(widths);
    expect(new Set(widths).size).toBe(widths.length);
    expect(widths[3]).toBeLessThan(3000);
  });

  it.each([
    ['specs/unet.yaml', undefined],
    ['specs/unet-2015.yaml', { height: 572, width: 572 }],
    ['examples/variants.yaml', undefined],
    ['specs/tiny.yaml', undefined],
    ['specs/small.yaml', undefined],
  ])('%s: no label, box or arrow on top of another; nothing clipped', (path, size) => {
    const doc = parseXml(render(path, size));
    expect(clashes(doc)).toEqual([]);
    expect(clipped(doc)).toEqual([]);
  });

  it.each([
    ['one conv per block, no skips', depthSpec(3, '  block: {convs: 1}\n  skip: none\n')],
    [
      'three unpadded convs, a one-conv bottleneck',
      depthSpec(2, '  block: {convs: 3, padding: valid}\n  blocks:\n    bottleneck: {convs: 1}\n'),
    ],
    [
      'wide filters, additive skips',
      depthSpec(4, '  skip: add\n  blocks:\n    enc1: {kernel: 7}\n    dec1: {kernel: 7}\n'),
    ],
  ])('%s: a clean layout', (_, body) => {
    const g = graphFromYaml(body);
    const doc = parseXml(renderUnetSvg(g, sizeOf(g)));
    expect(clashes(doc)).toEqual([]);
    expect(clipped(doc)).toEqual([]);
  });

  it('the layout check notices a label moved onto a box (negative control)', () => {
    const svg = render('specs/unet.yaml');
    const moved = svg.replace(
      /(<text x="[\d.]+" y=")([\d.]+)(" font-size="9" fill="#444444">256x256<\/text>)/,
      (_, a: string, y: string, b: string) => `${a}${Number(y) - 20}${b}`,
    );
    expect(moved).not.toBe(svg);
    expect(clashes(parseXml(moved)).join('\n')).toMatch(/text '256x256' overlaps rect enc1\.conv\d/);
  });

  it('refuses explicit graphs and sizes that do not fit', () => {
    const tiny = graphOf('specs/graph-tiny.yaml');
    expect(isUnetGraph(tiny, { height: 64, width: 64 })).toBe(false);
    expect(() => renderUnetSvg(tiny, { height: 64, width: 64 })).toThrow(/not a template U-Net/);
    const unet = graphOf('specs/unet.yaml');
    expect(isUnetGraph(unet, { height: 64, width: 64 })).toBe(true);
    expect(() => renderUnetSvg(unet, { height: 100, width: 100 })).toThrow(/100x100 does not fit/);
  });
});
