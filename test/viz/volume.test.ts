import { describe, expect, it } from 'vitest';
import { isUnetGraph, renderUnetSvg } from '../../src/compiler/viz/index.js';
import { graphOf, sizeOf } from './helpers.js';
import { parseXml, texts } from './xml.js';

describe('U diagrams of 3D and deeply supervised networks', () => {
  it("specs/unet-3d.yaml: valid XML with every level's channels and depth x height x width sizes", () => {
    const g = graphOf('specs/unet-3d.yaml');
    expect(sizeOf(g)).toEqual({ depth: 64, height: 64, width: 64 });
    const labels = texts(parseXml(renderUnetSvg(g, sizeOf(g))));
    for (const c of ['32', '64', '128', '256']) expect(labels).toContain(c);
    for (const s of ['64x64x64', '32x32x32', '16x16x16', '8x8x8']) expect(labels).toContain(s);
    expect(labels).toContain('up-conv 2x2x2');
    expect(labels.some((t) => t.startsWith('feature map: channels above, depth x height x width'))).toBe(true);
    // Negative control: a 2D network's labels have no depth.
    const flat = texts(parseXml(renderUnetSvg(graphOf('specs/tiny.yaml'), sizeOf(graphOf('specs/tiny.yaml')))));
    expect(flat.some((t) => /^\d+x\d+x\d+$/.test(t))).toBe(false);
  });

  it('specs/unet-ds.yaml: the U of the exported network, with the heads named in a note', () => {
    const g = graphOf('specs/unet-ds.yaml');
    expect(isUnetGraph(g, sizeOf(g))).toBe(true);
    const labels = texts(parseXml(renderUnetSvg(g, sizeOf(g))));
    expect(labels.find((t) => t.startsWith('deep supervision while training'))).toBe(
      'deep supervision while training: 1x1 conv + sigmoid heads on dec4 (1/8), dec3 (1/4), dec2 (1/2), loss weights 0.067, 0.133, 0.267 (main 0.533); not exported',
    );
    // The heads' sigmoid is not read as a step of the decoder blocks.
    expect(labels.some((t) => t.startsWith('conv 3x3') && t.includes('sigmoid'))).toBe(false);
  });
});
