import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileSpec } from '../../../src/compiler/index.js';
import { checkTrainingMemory, memoryProblem, stepBytes } from '../../../src/runtime/train/memory.js';
import { root } from '../../helpers.js';

const graphOf = (spec: string) => compileSpec({ name: spec, body: readFileSync(join(root, spec), 'utf8') }).graph!;
const adam = { name: 'adam' };
const GB = 1e9;

describe('the memory a training step needs', () => {
  it('grows with the batch and the patch area, as the activations do', () => {
    const g = graphOf('specs/small.yaml');
    const [b2, b4, big] = [
      stepBytes(g, 2, [128, 128], adam)!,
      stepBytes(g, 4, [128, 128], adam)!,
      stepBytes(g, 4, [256, 256], adam)!,
    ];
    expect(b4 / b2).toBeGreaterThan(1.8); // the parameters' share does not grow
    expect(b4 / b2).toBeLessThan(2.01);
    expect(big / b4).toBeGreaterThan(3.5);
    expect(stepBytes(g, 4, [100, 100], adam)).toBeUndefined(); // not a size the network takes
  });

  it("the canonical U-Net at its own settings (batch 4, 256x256) does not fit the wasm engine's 4 GB, and the refusal says what does", () => {
    const c = checkTrainingMemory(
      graphOf('specs/unet.yaml'),
      { batch: 4, patch: [256, 256], optimizer: adam },
      'wasm',
      24 * GB,
    );
    expect(c.fits).toBe(false);
    expect(c.needed).toBeGreaterThan(8 * GB);
    expect(c.smallerBatch?.batch).toBe(1);
    expect(c.smallerPatch?.patch).toEqual([128, 128]);
    expect(memoryProblem(c, 'wasm')).toMatch(
      /^training at batch 4, patch 256x256 needs about \d+\.\d GB on the wasm engine, more than it can have \(4\.1 GB: the wasm engine addresses 4 GB\); what fits: --batch 1 \(about 3\.\d GB\), or train\.patch \[128, 128\]/,
    );
  });

  it('a machine with less memory than the wasm heap sets the limit', () => {
    const c = checkTrainingMemory(
      graphOf('specs/small.yaml'),
      { batch: 16, patch: [128, 128], optimizer: adam },
      'cpu',
      2 * GB,
    );
    expect(c.fits).toBe(false);
    expect(c.limitText).toBe('this machine has 2.0 GB of memory');
  });

  it('negative controls: the shipped specs at their own settings fit', () => {
    for (const [spec, batch, patch] of [
      ['specs/tiny.yaml', 4, [64, 64]],
      ['specs/nuclei.yaml', 4, [128, 128]],
      ['specs/small.yaml', 16, [128, 128]],
      ['specs/unet-3d.yaml', 1, [32, 64, 64]],
    ] as const) {
      expect(checkTrainingMemory(graphOf(spec), { batch, patch, optimizer: adam }, 'wasm', 24 * GB).fits, spec).toBe(
        true,
      );
    }
  });
});
