import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { makeSource } from '../../src/compiler/diagnostics/index.js';
import type { JsonValue } from '../../src/compiler/spec/document.js';
import { parseDsl, printDsl } from '../../src/compiler/syntax/index.js';
import { CANONICAL } from './helpers.js';
import { normalizeForDsl } from './normalize.js';

/** Parses and checks the result's invariants: no throw, a value xor errors, spans inside the text. */
function check(text: string): void {
  const r = parseDsl(makeSource('fuzz.unet', text));
  const errors = r.diagnostics.filter((d) => d.severity === 'error');
  expect(r.value === undefined).toBe(errors.length > 0);
  for (const d of r.diagnostics) {
    expect(d.code).toMatch(/^E10[2-5]$/);
    expect(d.message).not.toMatch(/internal error/);
    expect(d.span!.start).toBeGreaterThanOrEqual(0);
    expect(d.span!.end).toBeLessThanOrEqual(text.length);
    expect(d.span!.start).toBeLessThanOrEqual(d.span!.end);
  }
}

/** The canonical text cut into tokens and the white space between them. */
const pieces = CANONICAL.match(/\s+|"[^"]*"|[A-Za-z_][\w-]*|\d+x\d+|-?[\d.]+(?:e-?\d+)?|->|[^\s]/g) ?? [];
const vocabulary = [
  'unet',
  'depth',
  'block',
  '{',
  '}',
  '[',
  ']',
  '(',
  ')',
  '->',
  '=',
  ',',
  'x',
  '3x3',
  '4',
  '-1',
  '"s"',
  '"open',
  'conv',
  'dropout',
  'node',
  '%',
  '#',
  '\n',
  'enc4',
];

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('duplicate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('swap' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), token: fc.constantFrom(...vocabulary) }),
);

interface Mutation {
  readonly kind: 'delete' | 'duplicate' | 'swap' | 'insert';
  readonly at: number;
  readonly token?: string;
}

function mutate(tokens: string[], m: Mutation): string[] {
  const out = [...tokens];
  const at = out.length === 0 ? 0 : m.at % out.length;
  if (m.kind === 'delete') out.splice(at, 1);
  else if (m.kind === 'duplicate') out.splice(at, 0, out[at] ?? '');
  else if (m.kind === 'swap' && at + 1 < out.length) [out[at], out[at + 1]] = [out[at + 1]!, out[at]!];
  else if (m.kind === 'insert') out.splice(at, 0, ` ${m.token ?? ''} `);
  return out;
}

describe('parseDsl never throws', () => {
  it('on random strings', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => check(s)),
      { numRuns: 500 },
    );
  });

  it('on random strings over the DSL alphabet', () => {
    const alphabet = fc.constantFrom(...'unetdpthblock{}[]()->=,x0123456789."\\ \n#/%'.split(''));
    fc.assert(
      fc.property(
        fc.array(alphabet, { maxLength: 120 }).map((a) => a.join('')),
        (s) => check(`unet m {${s}}`),
      ),
      { numRuns: 500 },
    );
  });

  it('on token-level mutations of the canonical U-Net', () => {
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 6 }), (ms) => {
        check(ms.reduce((tokens, m) => mutate(tokens, m), [...pieces]).join(''));
      }),
      { numRuns: 1000 },
    );
  });
});

const ident = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,6}$/);
const nodeName = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_.]{0,6}$/);
const rate = fc.double({ min: 0, max: 0.99, noNaN: true });
const int = (min: number, max: number) => fc.integer({ min, max });
const kernel = fc.oneof(int(1, 15), fc.tuple(int(1, 15), int(1, 15)));
const step = fc.constantFrom('conv', 'relu', 'leaky-relu', 'elu', 'batchnorm', 'dropout');

const template = fc.record(
  {
    convs: int(1, 8),
    kernel,
    padding: fc.constantFrom('same', 'valid'),
    order: fc.array(step, { minLength: 1, maxLength: 4 }),
    dropout: fc.oneof(rate, fc.array(rate, { minLength: 2, maxLength: 5 })),
    dropout_at: fc.constantFrom('conv', 'block'),
    bias: fc.boolean(),
    leaky_alpha: fc.double({ min: 0.001, max: 1, noNaN: true }),
    bn_epsilon: fc.double({ min: 1e-9, max: 0.1, noNaN: true }),
    bn_momentum: rate,
  },
  { requiredKeys: [] },
);

const override = fc.record(
  {
    filters: int(1, 16384),
    convs: int(1, 8),
    kernel,
    padding: fc.constantFrom('same', 'valid'),
    order: fc.array(step, { minLength: 1, maxLength: 4 }),
    dropout: rate,
    bias: fc.boolean(),
  },
  { requiredKeys: ['filters'] },
);

const network = fc.record(
  {
    depth: int(1, 8),
    filters: fc.oneof(
      fc.array(int(1, 16384), { minLength: 1, maxLength: 8 }),
      fc.record({ base: int(1, 512), growth: fc.double({ min: 1, max: 4, noNaN: true }) }, { requiredKeys: ['base'] }),
    ),
    bottleneck: int(1, 16384),
    block: template,
    down: fc.constantFrom('maxpool', 'avgpool', 'conv'),
    up: fc.constantFrom('transpose', 'nearest', 'bilinear'),
    skip: fc.constantFrom('concat', 'add', 'none'),
    blocks: fc.dictionary(fc.constantFrom('enc1', 'enc2', 'enc9', 'bottleneck', 'dec1', 'dec3'), override, {
      maxKeys: 4,
    }),
  },
  { requiredKeys: ['depth', 'filters'] },
);

const node = fc.record(
  {
    name: nodeName,
    op: fc.constantFrom('conv', 'relu', 'maxpool', 'concat', 'conv-transpose', 'leaky-relu'),
    inputs: fc.array(nodeName, { minLength: 1, maxLength: 3 }),
    filters: int(1, 64),
    kernel,
  },
  { requiredKeys: ['name', 'op'] },
);

const train = fc.record(
  {
    loss: fc.constantFrom('bce', 'dice', 'bce-dice'),
    learning_rate: fc.double({ min: 1e-6, max: 10, noNaN: true }),
    epochs: int(1, 1000),
    patch: fc.tuple(int(1, 65536), int(1, 65536)),
    augment: fc.record(
      {
        flip: fc.boolean(),
        elastic: fc.oneof(
          fc.boolean(),
          fc.record({ alpha: fc.double({ min: 0, max: 100, noNaN: true }), grid: int(2, 64) }),
        ),
        noise: fc.double({ min: 0, max: 1, noNaN: true }),
      },
      { requiredKeys: [] },
    ),
  },
  { requiredKeys: [] },
);

const specValue = fc.record(
  {
    unetc: fc.constant(1),
    name: fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_.-]{0,10}$/),
    description: fc.string({ maxLength: 30 }),
    input: fc.record(
      {
        channels: int(1, 1024),
        size: fc.oneof(fc.constant('any'), fc.tuple(int(1, 65536), int(1, 65536))),
        normalize: fc.constantFrom('zscore', 'percentile'),
      },
      { requiredKeys: ['channels'] },
    ),
    output: fc.record(
      {
        classes: int(1, 1024),
        activation: fc.constantFrom('sigmoid', 'softmax', 'none'),
        class_names: fc.array(fc.string({ minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 3 }),
        threshold: fc.double({ min: 0.001, max: 0.999, noNaN: true }),
        from: ident,
      },
      { requiredKeys: ['classes'] },
    ),
    network,
    graph: fc.array(node, { minLength: 1, maxLength: 4 }),
    train,
  },
  { requiredKeys: ['name', 'input', 'output'] },
);

describe('printDsl round trip', () => {
  it('parseDsl(printDsl(v)) equals v up to the documented normalization, and printing is idempotent', () => {
    fc.assert(
      fc.property(specValue, (v) => {
        const value = v as JsonValue;
        const text = printDsl(value);
        const r = parseDsl(makeSource('p.unet', text));
        expect(r.diagnostics).toEqual([]);
        expect(r.value?.value).toEqual(normalizeForDsl(value));
        expect(printDsl(r.value!.value)).toBe(text);
      }),
      { numRuns: 500 },
    );
  });
});
