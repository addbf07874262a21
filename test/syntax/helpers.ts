/** Shared helpers for the DSL front-end tests. */
import { formatOneLine, makeSource, type Diagnostic } from '../../src/compiler/diagnostics/index.js';
import type { JsonValue, SpecDocument } from '../../src/compiler/spec/document.js';
import { parseDsl } from '../../src/compiler/syntax/index.js';

/** The canonical U-Net of grammar/DSL.md. */
export const CANONICAL = `# The canonical U-Net: 4 levels, BatchNorm, dropout, padded convs.
unet unet {
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
`;

/** The value the YAML form of the canonical U-Net gives. */
export const CANONICAL_VALUE: JsonValue = {
  name: 'unet',
  input: { channels: 1 },
  output: { classes: 1, activation: 'sigmoid' },
  network: {
    depth: 4,
    filters: [64, 128, 256, 512],
    bottleneck: 1024,
    block: { convs: 2, kernel: 3, padding: 'same', order: ['conv', 'relu', 'batchnorm', 'dropout'], dropout: 0.1 },
    down: 'maxpool',
    up: 'transpose',
    skip: 'concat',
  },
};

/** Parses text that must parse; fails the test with the diagnostics otherwise. */
export function parseOk(text: string, name = 'spec.unet'): SpecDocument {
  const r = parseDsl(makeSource(name, text));
  if (r.value === undefined)
    throw new Error(`expected a clean parse, got:\n${r.diagnostics.map(formatOneLine).join('\n')}`);
  return r.value;
}

/** The one-line diagnostics of text that must not parse. */
export function parseErrors(text: string, name = 'bad.unet'): { lines: string[]; diagnostics: readonly Diagnostic[] } {
  const r = parseDsl(makeSource(name, text));
  if (r.value !== undefined) throw new Error('expected errors, got a value');
  return { lines: r.diagnostics.map(formatOneLine), diagnostics: r.diagnostics };
}
