import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { artifactPaths, cstTypes, railroadHtml } from '../../src/compiler/syntax/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const committed = (path: string): string => readFileSync(join(root, path), 'utf8');

// A grammar change must come with regenerated artifacts: run `npm run grammar`.
describe('generated grammar artifacts are up to date', () => {
  it.each<[string, string, () => string]>([
    ['railroad diagram', artifactPaths.railroad, railroadHtml],
    ['CST types', artifactPaths.cstTypes, cstTypes],
  ])('%s (%s)', (_, path, generate) => {
    expect(committed(path)).toBe(generate());
  });

  it('the railroad diagram shows every rule', () => {
    const html = committed(artifactPaths.railroad);
    for (const rule of [
      'spec',
      'statement',
      'blockTemplate',
      'unit',
      'convStep',
      'object',
      'value',
      'unknownStatement',
    ]) {
      expect(html).toContain(`"name": "${rule}"`);
    }
  });
});
