import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatFrame, formatOneLine, printGraph } from '../../src/compiler/index.js';
import { compileFile, diagnosticsOf, root, shippedSpecs } from '../helpers.js';
import { compileSpec } from '../../src/compiler/index.js';

const goldenDir = join(root, 'test/golden');

/** Compares with a golden file; UPDATE_GOLDEN=1 rewrites it (review the diff before committing). */
function expectGolden(name: string, actual: string): void {
  const file = join(goldenDir, name);
  if (process.env.UPDATE_GOLDEN || !existsSync(file)) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, actual);
    if (!process.env.UPDATE_GOLDEN)
      throw new Error(`golden file ${name} was missing and has been written; review and commit it`);
  }
  expect(actual).toBe(readFileSync(file, 'utf8'));
}

describe('IR dumps of shipped specs', () => {
  it.each(shippedSpecs())('%s', (file) => {
    const c = compileFile(file);
    expect(c.diagnostics.filter((d) => d.severity === 'error').map(formatOneLine)).toEqual([]);
    expectGolden(`${basename(file)}.ir`, printGraph(c.graph!));
  });
});

describe('code frames', () => {
  const cases: [string, string, string][] = [
    [
      'unknown-key',
      'bad.yaml',
      'name: x\ninput: {channels: 1}\noutput: {classes: 1}\nnetwork:\n  dephth: 4\n  depth: 4\n  filters: [8, 16, 32, 64]\n',
    ],
    [
      'bad-size',
      'bad.yaml',
      'name: x\ninput:\n  channels: 1\n  size: [100, 100]\noutput: {classes: 1}\nnetwork:\n  depth: 4\n  filters: {base: 8}\n',
    ],
    [
      'dsl-unknown-statement',
      'bad.unet',
      'unet x {\n  input channels 1\n  output classes 1\n  dephth 4\n  filters 8 16\n}\n',
    ],
  ];
  it.each(cases)('%s', (name, file, body) => {
    const c = compileSpec({ name: file, body });
    expect(c.diagnostics.length).toBeGreaterThan(0);
    expectGolden(`frames/${name}.txt`, `${c.diagnostics.map((d) => formatFrame(d, { color: false })).join('\n\n')}\n`);
  });

  it('negative control: a correct spec has no frame', () => {
    expect(
      diagnosticsOf(
        'ok.yaml',
        'name: x\ninput: {channels: 1}\noutput: {classes: 1}\nnetwork: {depth: 2, filters: [8, 16]}\n',
      ),
    ).toEqual([]);
  });
});
