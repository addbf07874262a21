import { describe, expect, it } from 'vitest';
import { makeSource } from '../../src/compiler/diagnostics/index.js';
import { keySpan, valueSpan, type JsonValue } from '../../src/compiler/spec/document.js';
import { parseDsl } from '../../src/compiler/syntax/index.js';
import { CANONICAL, CANONICAL_VALUE, parseOk } from './helpers.js';

/** Wraps statements in a header. */
const spec = (body: string): string => `unet m {\n${body}\n}\n`;

describe('parseDsl: values', () => {
  it('parses the canonical U-Net of DSL.md to the value the YAML form gives', () => {
    const r = parseDsl(makeSource('unet.unet', CANONICAL));
    expect(r.diagnostics).toEqual([]);
    expect(r.value?.format).toBe('dsl');
    expect(r.value?.value).toEqual(CANONICAL_VALUE);
    expect(r.value?.source.name).toBe('unet.unet');
  });

  it.each<[string, string, JsonValue]>([
    ['description', 'description "Cells, \\"nuclei\\"\\n2nd line"', { description: 'Cells, "nuclei"\n2nd line' }],
    ['version', 'version 1', { unetc: 1 }],
    ['input size', 'input channels 3 size 256x128', { input: { channels: 3, size: [256, 128] } }],
    ['input size any, any order', 'input size any channels 1', { input: { size: 'any', channels: 1 } }],
    [
      'output items in any order',
      'output threshold 0.5 names "bg" "fg" softmax classes 2',
      { output: { classes: 2, activation: 'softmax', class_names: ['bg', 'fg'], threshold: 0.5 } },
    ],
    ['output from', 'output classes 1 sigmoid from c9', { output: { classes: 1, activation: 'sigmoid', from: 'c9' } }],
    ['filters base', 'filters base 32', { network: { filters: { base: 32 } } }],
    ['filters base growth', 'filters base 32 growth 1.5', { network: { filters: { base: 32, growth: 1.5 } } }],
    ['numbers', 'depth -1 bottleneck 1e3', { network: { depth: -1, bottleneck: 1000 } }],
    ['block without count', 'block [conv 3x3 -> relu]', { network: { block: { kernel: 3, order: ['conv', 'relu'] } } }],
    [
      'block conv arguments',
      'block 3 x [conv 3x5 valid nobias -> elu]',
      { network: { block: { convs: 3, kernel: [3, 5], padding: 'valid', bias: false, order: ['conv', 'elu'] } } },
    ],
    ['block conv 3', 'block [conv 3 bias]', { network: { block: { kernel: 3, bias: true, order: ['conv'] } } }],
    [
      'leaky-relu and batchnorm arguments',
      'block [conv -> leaky-relu 0.2 -> batchnorm momentum 0.9 epsilon 1e-5]',
      {
        network: {
          block: { order: ['conv', 'leaky-relu', 'batchnorm'], leaky_alpha: 0.2, bn_epsilon: 1e-5, bn_momentum: 0.9 },
        },
      },
    ],
    [
      'per-level dropout list',
      'block 2 x [conv -> relu -> dropout [0.1 0.1, 0.2 0.2 0.3]]',
      { network: { block: { convs: 2, order: ['conv', 'relu', 'dropout'], dropout: [0.1, 0.1, 0.2, 0.2, 0.3] } } },
    ],
    [
      'block-end dropout',
      'block 2 x [conv 3x3 same -> relu] -> dropout 0.5',
      {
        network: {
          block: { convs: 2, kernel: 3, padding: 'same', order: ['conv', 'relu'], dropout: 0.5, dropout_at: 'block' },
        },
      },
    ],
    [
      'block-end dropout without rate',
      'block [conv] -> dropout',
      { network: { block: { order: ['conv'], dropout_at: 'block' } } },
    ],
    [
      'unknown steps are kept',
      'block [conv -> gelu -> "odd step"]',
      { network: { block: { order: ['conv', 'gelu', 'odd step'] } } },
    ],
    [
      'template extra fields',
      'block [conv -> dropout 0.1] { dropout_at conv leaky_alpha 0.3 }',
      { network: { block: { order: ['conv', 'dropout'], dropout: 0.1, dropout_at: 'conv', leaky_alpha: 0.3 } } },
    ],
    ['template as properties', 'block { convs 2 kernel 3 }', { network: { block: { convs: 2, kernel: 3 } } }],
    ['empty template', 'block {}', { network: { block: {} } }],
    [
      'block overrides',
      'block enc4 { dropout 0.5 dropout_at block }\nblock bottleneck { filters 2048 kernel 3x3 }',
      {
        network: {
          blocks: { enc4: { dropout: 0.5, dropout_at: 'block' }, bottleneck: { filters: 2048, kernel: [3, 3] } },
        },
      },
    ],
    [
      'down up skip',
      'down avgpool up "nearest" skip none',
      { network: { down: 'avgpool', up: 'nearest', skip: 'none' } },
    ],
    [
      'train with nested augment',
      'train { loss bce-dice learning_rate 1e-3 patch 256x256 augment { flip true rotate90 false elastic { alpha 34 } } }',
      {
        train: {
          loss: 'bce-dice',
          learning_rate: 0.001,
          patch: [256, 256],
          augment: { flip: true, rotate90: false, elastic: { alpha: 34 } },
        },
      },
    ],
    [
      'generic values: strings, lists, keywords as names',
      'train { "odd key" "true" list [1, "a" b [2 3] {}] depth block }',
      { train: { 'odd key': 'true', list: [1, 'a', 'b', [2, 3], {}], depth: 'block' } },
    ],
    [
      'explicit graph',
      'node c1 = conv(input) { filters 8 kernel 3 }\nnode r1 = relu\nnode m = concat(r1, c1)\nnode "p.1" = maxpool("m") { size 2 }',
      {
        graph: [
          { name: 'c1', op: 'conv', inputs: ['input'], filters: 8, kernel: 3 },
          { name: 'r1', op: 'relu' },
          { name: 'm', op: 'concat', inputs: ['r1', 'c1'] },
          { name: 'p.1', op: 'maxpool', inputs: ['m'], size: 2 },
        ],
      },
    ],
    ['comments', '# one\ndepth 4 // two\n// three', { network: { depth: 4 } }],
  ])('%s', (_, body, expected) => {
    expect(parseOk(spec(body)).value).toEqual({ name: 'm', ...(expected as object) });
  });

  it('takes the name from a string', () => {
    expect(parseOk('unet "my model" {}').value).toEqual({ name: 'my model' });
  });

  it('keeps __proto__ as an ordinary key', () => {
    const v = parseOk(spec('train { __proto__ 1 }')).value as { train: object };
    expect(Object.keys(v.train)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(v.train)).toBe(Object.prototype);
  });
});

describe('parseDsl: spans', () => {
  const doc = parseOk(CANONICAL);
  const text = (s: { start: number; end: number } | undefined): string | undefined =>
    s && CANONICAL.slice(s.start, s.end);

  it.each<[string, string]>([
    ['', 'unet unet'],
    ['/name', 'unet'],
    ['/input', 'input channels 1'],
    ['/input/channels', '1'],
    ['/output/activation', 'sigmoid'],
    ['/network', 'depth 4'],
    ['/network/depth', '4'],
    ['/network/filters', '64 128 256 512'],
    ['/network/filters/2', '256'],
    ['/network/bottleneck', '1024'],
    ['/network/block', '2 x [conv 3x3 same -> relu -> batchnorm -> dropout 0.1]'],
    ['/network/block/convs', '2'],
    ['/network/block/kernel', '3x3'],
    ['/network/block/padding', 'same'],
    ['/network/block/order', '[conv 3x3 same -> relu -> batchnorm -> dropout 0.1]'],
    ['/network/block/order/2', 'batchnorm'],
    ['/network/block/dropout', '0.1'],
    ['/network/skip', 'concat'],
  ])('value at %j is %j', (path, expected) => {
    expect(text(doc.spans.get(path))).toBe(expected);
  });

  it.each<[string, string]>([
    ['/name', 'unet'],
    ['/input', 'input'],
    ['/input/channels', 'channels'],
    ['/network', 'depth'],
    ['/network/depth', 'depth'],
    ['/network/filters', 'filters'],
    ['/network/block', 'block'],
    ['/network/block/kernel', 'conv'],
    ['/network/block/dropout', 'dropout'],
    ['/network/down', 'down'],
  ])('key of %j is %j', (path, expected) => {
    expect(text(doc.keySpans.get(path))).toBe(expected);
  });

  it('has a span for every value and list item', () => {
    const paths: string[] = [];
    const walk = (v: JsonValue, path: string): void => {
      paths.push(path);
      if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}/${i}`));
      else if (typeof v === 'object' && v !== null) for (const [k, x] of Object.entries(v)) walk(x, `${path}/${k}`);
    };
    const body = `unet m {
  output classes 2 names "a" "b"
  input size 64x64 channels 1
  filters base 8 growth 2
  block [conv 3x5 -> dropout [0.1 0.2]] -> dropout { bias true }
  block dec1 { kernel 1x3 }
  node c = conv(input x) { filters 2 }
  train { augment { elastic { alpha 1 } } patch [8 8] }
}`;
    const d = parseOk(body);
    walk(d.value, '');
    for (const p of paths) expect(d.spans.has(p), p).toBe(true);
  });

  it.each<[string, string, string]>([
    ['/network/blocks/enc4', '{ dropout 0.5 }', 'enc4'],
    ['/network/blocks/enc4/dropout', '0.5', 'dropout'],
    ['/network/blocks', 'block enc4 { dropout 0.5 }', 'block'],
    ['/train', '{ loss bce augment { flip true } }', 'train'],
    ['/train/loss', 'bce', 'loss'],
    ['/train/augment', '{ flip true }', 'augment'],
    ['/train/augment/flip', 'true', 'flip'],
    ['/graph', 'node c1 = conv(input, x)', 'node'],
    ['/graph/0/inputs', '(input, x)', '(input, x)'],
    ['/graph/0/inputs/1', 'x', 'x'],
    ['/graph/1/op', 'relu', 'relu'],
    ['/output/class_names', '"a" "b"', 'names'],
    ['/output/class_names/1', '"b"', '"b"'],
    ['/network/block/dropout_at', 'dropout', 'dropout'],
    ['/network/block/bias', 'true', 'bias'],
    ['/input/size', '32x32', 'size'],
  ])('%j spans %j with key %j', (path, value, key) => {
    const body = `unet m {
  input channels 1 size 32x32
  output classes 2 names "a" "b"
  block [conv] -> dropout 0.2 { bias true }
  block enc4 { dropout 0.5 }
  node c1 = conv(input, x)
  node r1 = relu
  train { loss bce augment { flip true } }
}`;
    const d = parseOk(body);
    const slice = (s: { start: number; end: number } | undefined): string | undefined =>
      s && body.slice(s.start, s.end);
    expect(slice(valueSpan(d, path))).toBe(value);
    expect(slice(keySpan(d, path))).toBe(key);
  });
});
