import { describe, expect, it } from 'vitest';
import type { JsonValue } from '../../src/compiler/spec/document.js';
import { printDsl } from '../../src/compiler/syntax/index.js';
import { CANONICAL, CANONICAL_VALUE, parseOk } from './helpers.js';
import { normalizeForDsl } from './normalize.js';

const base = { name: 'm', input: { channels: 1 }, output: { classes: 1 } };
const net = (network: object): JsonValue => ({ ...base, network: { depth: 2, filters: [8, 16], ...network } });

/** Values that must come back from printDsl -> parseDsl (up to the documented normalization). */
const values: [string, JsonValue][] = [
  ['canonical', CANONICAL_VALUE],
  ['template without count', net({ block: { kernel: 3, order: ['conv', 'relu'] } })],
  [
    'per-level dropout list',
    net({ block: { convs: 2, order: ['conv', 'relu', 'dropout'], dropout: [0.1, 0.2, 0.3] } }),
  ],
  [
    'block-end dropout',
    net({
      block: { convs: 2, kernel: 3, padding: 'same', order: ['conv', 'relu'], dropout: 0.5, dropout_at: 'block' },
    }),
  ],
  [
    'block-end dropout with a dropout step',
    net({ block: { order: ['conv', 'dropout'], dropout: 0.5, dropout_at: 'block' } }),
  ],
  ['dropout_at conv', net({ block: { order: ['conv', 'dropout'], dropout: 0.5, dropout_at: 'conv' } })],
  [
    'fields without their step',
    net({ block: { order: ['relu'], kernel: [3, 3], leaky_alpha: 0.2, bn_epsilon: 0.001, dropout: 0.1 } }),
  ],
  [
    'all step arguments',
    net({
      block: {
        convs: 1,
        kernel: [1, 7],
        padding: 'valid',
        bias: false,
        order: ['conv', 'leaky-relu', 'batchnorm', 'dropout'],
        leaky_alpha: 0.3,
        bn_epsilon: 1e-5,
        bn_momentum: 0.9,
        dropout: 0.2,
      },
    }),
  ],
  ['repeated steps', net({ block: { kernel: 5, bias: true, order: ['conv', 'relu', 'conv', 'relu'] } })],
  ['empty template', net({ block: {} })],
  ['filters base growth', { ...base, network: { depth: 3, filters: { base: 32, growth: 1.5 } } }],
  ['filters base', { ...base, network: { depth: 3, filters: { base: 32 } } }],
  [
    'overrides',
    net({
      blocks: {
        dec2: { dropout: 0.1 },
        enc10: { filters: 4 },
        bottleneck: { filters: 64, kernel: [3, 3] },
        enc2: { order: ['conv'], bias: false },
        enc1: { dropout: 0.5, dropout_at: 'block' },
      },
    }),
  ],
  [
    'train with nested augment',
    {
      ...base,
      train: {
        loss: 'bce-dice',
        optimizer: 'adam',
        learning_rate: 0.001,
        epochs: 50,
        patch: [256, 256],
        augment: { flip: true, rotate90: false, elastic: { alpha: 34, sigma: 4, grid: 3 }, gamma: 0.2 },
        seed: 0,
      },
    },
  ],
  [
    'explicit graph with nodes',
    {
      name: 'g',
      input: { channels: 3, size: [64, 64] },
      output: { classes: 2, activation: 'softmax', class_names: ['bg', 'fg'], from: 'c2' },
      graph: [
        { name: 'c1', op: 'conv', inputs: ['input'], filters: 8, kernel: [3, 3], padding: 'same' },
        { name: 'r1', op: 'relu' },
        { name: 'p.1', op: 'maxpool', size: 2, stride: 2 },
        { name: 'c2', op: 'concat', inputs: ['r1', 'p.1'] },
        { name: 'u', op: 'upsample', inputs: ['c2'], scale: 2, mode: 'bilinear' },
      ],
    },
  ],
  [
    'names, strings and numbers that need care',
    {
      unetc: 1,
      name: 'model.v2-',
      description: 'quote " backslash \\ newline \n tab \t end',
      input: { channels: 1, size: 'any' },
      output: { classes: 1, activation: 'sigmoid', threshold: 1e-7 },
      network: { depth: 1, filters: [16], bottleneck: 1e21, down: 'conv', up: 'bilinear', skip: 'add' },
      train: { 'odd key': 'true', 'x/y': 'false', list: [-0, 1.5, 'depth', 'a b'] },
    },
  ],
];

describe('printDsl', () => {
  it.each(values)('round trips %s', (_, v) => {
    const text = printDsl(v);
    expect(parseOk(text).value).toEqual(normalizeForDsl(v));
  });

  it.each(values)('is idempotent on %s', (_, v) => {
    const once = printDsl(parseOk(printDsl(v)).value);
    expect(printDsl(parseOk(once).value)).toBe(once);
  });

  it('prints the canonical U-Net canonically', () => {
    expect(printDsl(parseOk(CANONICAL).value)).toBe(`unet unet {
  input channels 1
  output classes 1 sigmoid
  depth 4
  filters 64 128 256 512
  bottleneck 1024
  block 2 x [conv 3x3 same -> relu -> batchnorm -> dropout 0.1]
  down maxpool
  up transpose
  skip concat
}
`);
  });

  it('orders statements and block overrides canonically', () => {
    const text = `unet m {
  train { loss dice }
  node r = relu
  block dec1 { dropout 0.1 }
  block bottleneck { filters 64 }
  block enc2 { filters 4 }
  skip add
  block [conv] -> dropout 0.5
  depth 2
  output classes 2
  input channels 3
  description "d"
  version 1
  filters 8 16
}`;
    expect(printDsl(parseOk(text).value)).toBe(`unet m {
  version 1
  description "d"
  input channels 3
  output classes 2
  depth 2
  filters 8 16
  block [conv] -> dropout 0.5
  skip add
  block enc2 { filters 4 }
  block bottleneck { filters 64 }
  block dec1 { dropout 0.1 }
  node r = relu
  train { loss dice }
}
`);
  });

  it('prints the default order for a template without one', () => {
    expect(printDsl(net({ block: { convs: 2, dropout: 0.1 } }))).toContain(
      '  block 2 x [conv -> relu -> batchnorm -> dropout 0.1]\n',
    );
  });

  it('breaks long or nested properties over lines', () => {
    const text = printDsl({ ...base, train: { loss: 'bce', augment: { flip: true, elastic: { alpha: 1 } } } });
    expect(text).toContain(`  train {
    loss bce
    augment {
      flip true
      elastic { alpha 1 }
    }
  }
`);
  });

  it('quotes names that are keywords where a statement could start', () => {
    const text = printDsl({
      ...base,
      output: { classes: 1, activation: 'names' },
      network: { depth: 1, filters: [1], down: 'depth' },
    });
    expect(text).toContain('output classes 1 "names"');
    expect(text).toContain('down "depth"');
  });
});
